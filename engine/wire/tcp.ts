// wire: TCP header and options — a view over bytes and a plain representation (RFC 9293 §3.1).
// CONTRACT (fixed; the TCP stack is written against it). The implementation below the types is filled in.

import type { Result } from './result';
import type { ChecksumContext } from './ip-context';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
/** RFC 3540 NS / RFC 9768 AE: the bit just below the flags byte. */
export const TCP_AE = 0x100;

/** A SACK block (RFC 2018 §3): left edge and right edge, each a uint32 sequence number. */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}

export type TcpOption =
  | { readonly kind: 'eol' }
  | { readonly kind: 'nop' }
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'wscale'; readonly shift: number }
  | { readonly kind: 'sackPermitted' }
  | { readonly kind: 'sack'; readonly blocks: readonly SackBlock[] }
  | { readonly kind: 'timestamps'; readonly tsVal: number; readonly tsEcr: number }
  | { readonly kind: 'unknown'; readonly type: number; readonly data: Uint8Array };

/** What a TCP segment means. Numbers are unsigned 32-bit for seq/ack, raw 16-bit for the window. */
export interface TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** Bitmask of TCP_FIN … TCP_AE. */
  readonly flags: number;
  /** The window field as on the wire (not scaled). */
  readonly window: number;
  readonly urgent: number;
  /** In wire order; emit writes them in this order and pads with EOL/zero to a multiple of 4. */
  readonly options: readonly TcpOption[];
  readonly payload: Uint8Array;
}

/** A parsed segment: the representation plus what only the wire knows. */
export interface TcpPacket extends TcpRepr {
  readonly headerLen: number;
  readonly checksum: number;
  /** true/false when a ChecksumContext was given, undefined when the checksum was not checked. */
  readonly checksumValid: boolean | undefined;
  /** Reserved bits (the 3 bits above AE), kept so nothing is lost. */
  readonly reserved: number;
}
