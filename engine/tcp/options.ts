// tcp: reading and writing the options TCP negotiates — MSS (RFC 9293 §3.7.1), window scale and
// timestamps (RFC 7323), SACK (RFC 2018). Unknown options are ignored; MD5 (RFC 2385) and TCP-AO
// (RFC 5925) are not supported.

import type { SackBlock, TcpOption } from '../wire/tcp';

export interface SynOptions {
  mss: number | undefined;
  wscale: number | undefined;
  sackPermitted: boolean;
  tsVal: number | undefined;
}

export function readSynOptions(options: readonly TcpOption[]): SynOptions {
  const out: SynOptions = { mss: undefined, wscale: undefined, sackPermitted: false, tsVal: undefined };
  for (const o of options) {
    switch (o.kind) {
      case 'mss':
        out.mss = o.value;
        break;
      case 'wscale':
        // RFC 7323 §2.3: a shift above 14 is treated as 14.
        out.wscale = Math.min(o.shift, 14);
        break;
      case 'sackPermitted':
        out.sackPermitted = true;
        break;
      case 'timestamps':
        out.tsVal = o.tsVal;
        break;
      default:
        break;
    }
  }
  return out;
}

/** The timestamps option of a segment, if any. */
export function findTimestamps(options: readonly TcpOption[]): { tsVal: number; tsEcr: number } | undefined {
  for (let i = 0; i < options.length; i++) {
    const o = options[i];
    if (o.kind === 'timestamps') return o;
  }
  return undefined;
}

export function findSackBlocks(options: readonly TcpOption[]): readonly SackBlock[] | undefined {
  for (let i = 0; i < options.length; i++) {
    const o = options[i];
    if (o.kind === 'sack') return o.blocks;
  }
  return undefined;
}

/**
 * Options without data, one frozen object each: the same shape as the wire's own, so that the
 * option writers see as few object shapes as possible (five or more make V8's lookup of `kind`
 * there megamorphic, the slow generic kind, for every segment sent).
 */
export const NOP: TcpOption = Object.freeze({ kind: 'nop' });
export const SACK_PERMITTED: TcpOption = Object.freeze({ kind: 'sackPermitted' });

/** RFC 7323 §2.2: the shift that lets a buffer of `size` bytes be advertised (at most 14). */
export function windowShiftFor(size: number): number {
  let s = 0;
  while (s < 14 && size >> s > 0xffff) s++;
  return s;
}
