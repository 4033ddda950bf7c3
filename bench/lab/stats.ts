// bench/lab/stats: how repeated measurements are summed up — median with min and max — and the
// ratios between stacks.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

function round(x: number): number {
  const digits = Math.abs(x) >= 100 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  return Number(x.toFixed(digits));
}

export function summarize(values: number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median: round(median), min: round(s[0]), max: round(s[s.length - 1]), n: s.length };
}

/** a / b of two medians, or undefined when either is missing. */
export function ratio(a: Summary | undefined, b: Summary | undefined): number | undefined {
  if (!a || !b || b.median === 0) return undefined;
  return Number((a.median / b.median).toFixed(3));
}
