// extension/views: numbers as the views and the status bar print them.
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 0…1 as a whole percentage; an em dash when unknown. */
export function percent(share: number | undefined): string {
  return share === undefined ? '—' : `${Math.round(share * 100)}%`;
}

/** Packets per second, short: 950, 12.3k, 1.2M. */
export function rate(n: number): string {
  if (n < 1000) return `${Math.round(n)}`;
  if (n < 1e6) return `${(n / 1000).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

/** A connection's TCP state after `step` of its transitions (0: the state it started in). */
export function stateAtStep(transitions: readonly { readonly from: string; readonly to: string }[], step: number): string | undefined {
  if (transitions.length === 0) return undefined;
  return step === 0 ? transitions[0].from : transitions[Math.min(step, transitions.length) - 1].to;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
