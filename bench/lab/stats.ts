// bench/lab/stats: how repeated measurements are summed up — median with min and max — and the
// ratios between stacks: of their medians, and paired (the median of each repetition's own ratio,
// whose stacks ran back to back, so a slow phase of a shared machine that hits one repetition hits
// both sides of its ratio). Measurement arrays are indexed by repetition and may have holes.

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
  const s = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return { median: round(medianOf(s)), min: round(s[0]), max: round(s[s.length - 1]), n: s.length };
}

function medianOf(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median over repetitions of a[rep] / b[rep], where both were measured; undefined when none were. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number | undefined {
  const r: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] !== 0) r.push(a[i] / b[i]);
  }
  if (r.length === 0) return undefined;
  return Number(medianOf(r.sort((x, y) => x - y)).toFixed(3));
}

/** a / b of two medians, or undefined when either is missing. */
export function ratio(a: Summary | undefined, b: Summary | undefined): number | undefined {
  if (!a || !b || b.median === 0) return undefined;
  return Number((a.median / b.median).toFixed(3));
}
