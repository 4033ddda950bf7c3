// wire: TCP header and options — a view over bytes and a plain representation (RFC 9293 §3.1).
// CONTRACT (fixed; the TCP stack is written against it). The implementation below the types is filled in.

import type { Result } from './result';
import type { ChecksumContext } from './ip-context';
import { copyBytes, SubarrayCache } from './views';
import { fail, ok, type WireError } from './result';
import { internetChecksum, ipv4PseudoSum, ipv6PseudoSum, isPartialChecksum, onesSum, foldSum } from './checksum';

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
  /**
   * The checksum does not verify, but the field holds exactly the pseudo-header sum: left for a
   * device to complete (checksum offload, isPartialChecksum), not damage. False when it verifies or
   * was not checked.
   */
  readonly checksumPartial: boolean;
  /** Reserved bits (the 3 bits above AE), kept so nothing is lost. */
  readonly reserved: number;
}

// ---------------------------------------------------------------------------------------------
// Implementation. Everything below reads untrusted bytes only after checking their length, and
// allocates on parse only the representation, its option list and zero-copy subarrays (and
// TcpPacketBuffer, for a receive path, not even those for the common segment).
//
// Round trips: parse keeps an EOL it meets (tcpdump prints it too) and nothing after it, and emit
// pads with zero bytes, which read back as an EOL. So `parseTcp(emitTcp(x))` gives back `x` exactly
// when EOL appears only last and the options either fill a multiple of 4 bytes or end with EOL.

/** The fixed part of the header (RFC 9293 §3.1). */
export const TCP_HEADER_LEN = 20;
/** Data offset is 4 bits of 32-bit words: at most 60 bytes of header, so at most 40 of options. */
export const TCP_MAX_HEADER_LEN = 60;
export const TCP_MAX_OPTIONS_LEN = TCP_MAX_HEADER_LEN - TCP_HEADER_LEN;
/** IP protocol number, for the pseudo-header. */
export const IPPROTO_TCP = 6;

/** Byte offsets of the header fields (RFC 9293 §3.1, figure 1). */
export const TCP_FIELD = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  /** Data offset (high 4 bits), reserved (3 bits), AE (low bit). */
  DATA_OFF: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
} as const;

/** Option kinds this parser understands (IANA "TCP Option Kind Numbers"). */
export const TCP_OPTION_KIND = {
  EOL: 0, // RFC 9293 §3.2
  NOP: 1, // RFC 9293 §3.2
  MSS: 2, // RFC 9293 §3.2, §3.7.1
  WSCALE: 3, // RFC 7323 §2
  SACK_PERMITTED: 4, // RFC 2018 §2
  SACK: 5, // RFC 2018 §3
  TIMESTAMPS: 8, // RFC 7323 §3
} as const;

// Options without data: one frozen object each serves every parse.
const OPT_EOL: TcpOption = Object.freeze({ kind: 'eol' });
const OPT_NOP: TcpOption = Object.freeze({ kind: 'nop' });
const OPT_SACK_PERMITTED: TcpOption = Object.freeze({ kind: 'sackPermitted' });
const NO_OPTIONS: readonly TcpOption[] = Object.freeze([]);

function be16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function be32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

/** The one's-complement sum of the pseudo-header for a TCP segment of `length` bytes. */
function pseudoSum(ctx: ChecksumContext, length: number): number {
  return ctx.version === 4
    ? ipv4PseudoSum(ctx.src, ctx.dst, IPPROTO_TCP, length)
    : ipv6PseudoSum(ctx.src, ctx.dst, IPPROTO_TCP, length);
}

/** Wire length of one option, kind and length bytes included, before padding. */
export function tcpOptionLen(option: TcpOption): number {
  switch (option.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackPermitted':
      return 2;
    case 'sack':
      return 2 + 8 * option.blocks.length;
    case 'timestamps':
      return 10;
    case 'unknown':
      return 2 + option.data.length;
    default:
      return unreachable(option);
  }
}

/** Wire length of an option list, before padding to a multiple of 4. */
export function tcpOptionsLen(options: readonly TcpOption[]): number {
  let n = 0;
  for (let i = 0; i < options.length; i++) n += tcpOptionLen(options[i]);
  return n;
}

/**
 * Header length for `repr`: 20 bytes plus its options padded to a multiple of 4. Never fails for
 * options that fit the 40 bytes the data offset can describe; more is a programmer error.
 */
export function tcpHeaderLen(repr: TcpRepr): number {
  const n = tcpOptionsLen(repr.options);
  if (n > TCP_MAX_OPTIONS_LEN) {
    throw new RangeError(`TCP options need ${n} bytes, at most ${TCP_MAX_OPTIONS_LEN} fit in the header`);
  }
  return TCP_HEADER_LEN + ((n + 3) & ~3);
}

/** Bytes `emitTcp` writes for `repr`: header, options, padding and payload. */
export function tcpBufferLen(repr: TcpRepr): number {
  return tcpHeaderLen(repr) + repr.payload.length;
}

/**
 * The options in `buf[start, end)` (RFC 9293 §3.2; RFC 7323; RFC 2018). An EOL is kept and ends the
 * list: what follows it is padding. Error offsets are indices into `buf`.
 */
function readOptions(buf: Uint8Array, start: number, end: number): readonly TcpOption[] | WireError {
  if (start >= end) return NO_OPTIONS;
  // What nearly every segment of a connection with timestamps carries (RFC 7323 Appendix A): NOP,
  // NOP, TSopt. Read at once, into an array literal allocated at its size.
  if (
    end - start === 12 &&
    buf[start] === TCP_OPTION_KIND.NOP &&
    buf[start + 1] === TCP_OPTION_KIND.NOP &&
    buf[start + 2] === TCP_OPTION_KIND.TIMESTAMPS &&
    buf[start + 3] === 10
  ) {
    return [OPT_NOP, OPT_NOP, { kind: 'timestamps', tsVal: be32(buf, start + 4), tsEcr: be32(buf, start + 8) }];
  }
  const list: TcpOption[] = [];
  let p = start;
  while (p < end) {
    const kind = buf[p];
    if (kind === TCP_OPTION_KIND.EOL) {
      list.push(OPT_EOL);
      break;
    }
    if (kind === TCP_OPTION_KIND.NOP) {
      list.push(OPT_NOP);
      p += 1;
      continue;
    }
    // Every other kind has a length octet counting kind and length (RFC 9293 §3.1 "Options").
    if (p + 1 >= end) return optionError(p, `option kind ${kind} has no room for its length byte`);
    const len = buf[p + 1];
    if (len < 2) return optionError(p, `option kind ${kind} has length ${len}, less than 2`);
    if (p + len > end) return optionError(p, `option kind ${kind} of length ${len} runs past the end of the options`);
    switch (kind) {
      case TCP_OPTION_KIND.MSS:
        if (len !== 4) return wrongLength(p, 'MSS', len, '4');
        list.push({ kind: 'mss', value: be16(buf, p + 2) });
        break;
      case TCP_OPTION_KIND.WSCALE:
        // The raw shift is kept; RFC 7323 §2.3 clamping to 14 is the receiver's business, not the wire's.
        if (len !== 3) return wrongLength(p, 'window scale', len, '3');
        list.push({ kind: 'wscale', shift: buf[p + 2] });
        break;
      case TCP_OPTION_KIND.SACK_PERMITTED:
        if (len !== 2) return wrongLength(p, 'SACK-permitted', len, '2');
        list.push(OPT_SACK_PERMITTED);
        break;
      case TCP_OPTION_KIND.SACK: {
        // RFC 2018 §3: 8 bytes per block; 4 blocks is all that 40 bytes of options can hold.
        const n = (len - 2) >>> 3;
        if ((len - 2) % 8 !== 0 || n < 1 || n > 4) return wrongLength(p, 'SACK', len, '10, 18, 26 or 34');
        const blocks: SackBlock[] = [];
        for (let i = 0, q = p + 2; i < n; i++, q += 8) blocks.push({ left: be32(buf, q), right: be32(buf, q + 4) });
        list.push({ kind: 'sack', blocks });
        break;
      }
      case TCP_OPTION_KIND.TIMESTAMPS:
        if (len !== 10) return wrongLength(p, 'timestamps', len, '10');
        list.push({ kind: 'timestamps', tsVal: be32(buf, p + 2), tsEcr: be32(buf, p + 6) });
        break;
      default:
        // Unknown kinds are kept, not dropped (RFC 9293 §3.1: "a TCP implementation MUST ignore
        // without error any option it does not implement", MUST-6) — the trace still shows them.
        list.push({ kind: 'unknown', type: kind, data: buf.subarray(p + 2, p + len) });
    }
    p += len;
  }
  return list;
}

function optionError(offset: number, message: string): WireError {
  return { code: 'bad-option', offset, message };
}

function wrongLength(offset: number, name: string, len: number, want: string): WireError {
  return optionError(offset, `${name} option has length ${len}, want ${want}`);
}

/**
 * Parse the options in `buf[start, end)` on their own (for callers that hold a `TcpHeaderView`).
 * Error offsets are indices into `buf`.
 */
export function parseTcpOptions(buf: Uint8Array, start: number, end: number): Result<readonly TcpOption[]> {
  if (start < 0 || end > buf.length || start > end) {
    const at = Math.min(Math.max(start, 0), buf.length);
    return fail('truncated', at, `options range [${start}, ${end}) is outside the ${buf.length}-byte buffer`);
  }
  const r = readOptions(buf, start, end);
  return Array.isArray(r) ? ok(r as readonly TcpOption[]) : { ok: false, error: r as WireError };
}

/** The header length of the segment in `buf[start, end)`, or why it cannot be parsed (offsets relative to `start`). */
function checkHeader(buf: Uint8Array, start: number, end: number): number | WireError {
  const len = end - start;
  if (len < TCP_HEADER_LEN) return { code: 'truncated', offset: len, message: `TCP header needs ${TCP_HEADER_LEN} bytes, got ${len}` };
  const headerLen = (buf[start + TCP_FIELD.DATA_OFF] >>> 4) * 4;
  if (headerLen < TCP_HEADER_LEN) {
    return { code: 'bad-header-length', offset: TCP_FIELD.DATA_OFF, message: `TCP data offset ${headerLen / 4} is less than 5` };
  }
  if (headerLen > len) {
    return { code: 'bad-header-length', offset: TCP_FIELD.DATA_OFF, message: `TCP header length ${headerLen} is past the end of the ${len}-byte segment` };
  }
  return headerLen;
}

/**
 * Parse a TCP segment: `buf` holds exactly the segment (the IP payload). With `ctx`, the checksum
 * is verified over the whole buffer with a pseudo-header length of `buf.length` (RFC 9293 §3.1);
 * without, `checksumValid` is undefined. Error offsets are relative to the start of the header.
 */
export function parseTcp(buf: Uint8Array, ctx?: ChecksumContext): Result<TcpPacket> {
  const headerLen = checkHeader(buf, 0, buf.length);
  if (typeof headerLen !== 'number') return { ok: false, error: headerLen };
  const offByte = buf[TCP_FIELD.DATA_OFF];
  const options = readOptions(buf, TCP_HEADER_LEN, headerLen);
  if (!Array.isArray(options)) return { ok: false, error: options as WireError };

  let checksumValid: boolean | undefined;
  let checksumPartial = false;
  if (ctx !== undefined) {
    // A correct segment sums, checksum included, to all ones (RFC 1071 §1 step 3).
    const pseudo = pseudoSum(ctx, buf.length);
    checksumValid = foldSum(onesSum(buf, 0, buf.length, pseudo)) === 0xffff;
    checksumPartial = !checksumValid && isPartialChecksum(be16(buf, TCP_FIELD.CHECKSUM), pseudo);
  }
  const packet: TcpPacket = {
    srcPort: be16(buf, TCP_FIELD.SRC_PORT),
    dstPort: be16(buf, TCP_FIELD.DST_PORT),
    seq: be32(buf, TCP_FIELD.SEQ),
    ack: be32(buf, TCP_FIELD.ACK),
    flags: ((offByte & 0x01) << 8) | buf[TCP_FIELD.FLAGS],
    window: be16(buf, TCP_FIELD.WINDOW),
    urgent: be16(buf, TCP_FIELD.URGENT),
    options: options as readonly TcpOption[],
    payload: buf.subarray(headerLen),
    headerLen,
    checksum: be16(buf, TCP_FIELD.CHECKSUM),
    checksumValid,
    checksumPartial,
    reserved: (offByte >>> 1) & 0x07,
  };
  return ok(packet);
}

const EMPTY_PAYLOAD = new Uint8Array(0);

/**
 * A parsed segment that a receive path fills again for every segment (`parse`), so that the common
 * segment costs no allocation. Its fields, its option list, the options in it and its payload view
 * are valid until the next `parse`: whoever keeps any of them past that copies them. The layout
 * nearly every segment of a timestamped connection carries (NOP, NOP, TSopt: RFC 7323 Appendix A)
 * and no options at all are read into objects kept here; any other layout gets a fresh list. The
 * payload is a view into the parsed buffer, made once for a buffer that comes back with the same
 * layout (a device's receive buffer, a pooled frame).
 */
export class TcpPacketBuffer implements TcpPacket {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  urgent = 0;
  options: readonly TcpOption[] = NO_OPTIONS;
  payload: Uint8Array = EMPTY_PAYLOAD;
  headerLen = 0;
  checksum = 0;
  checksumValid: boolean | undefined = undefined;
  checksumPartial = false;
  reserved = 0;
  private readonly ts = { kind: 'timestamps' as const, tsVal: 0, tsEcr: 0 };
  private readonly tsLayout: readonly TcpOption[] = [OPT_NOP, OPT_NOP, this.ts];
  private readonly payloadViews = new SubarrayCache();

  /**
   * Parses the segment in `buf[start, end)` as `parseTcp` parses a buffer holding just it (same
   * checks, same values; error offsets relative to `start`). On an error nothing is changed.
   */
  parse(buf: Uint8Array, start: number, end: number, ctx?: ChecksumContext): WireError | undefined {
    const headerLen = checkHeader(buf, start, end);
    if (typeof headerLen !== 'number') return headerLen;
    const optEnd = start + headerLen;
    const o = start + TCP_HEADER_LEN;
    if (
      headerLen === TCP_HEADER_LEN + 12 &&
      buf[o] === TCP_OPTION_KIND.NOP &&
      buf[o + 1] === TCP_OPTION_KIND.NOP &&
      buf[o + 2] === TCP_OPTION_KIND.TIMESTAMPS &&
      buf[o + 3] === 10
    ) {
      this.ts.tsVal = be32(buf, o + 4);
      this.ts.tsEcr = be32(buf, o + 8);
      this.options = this.tsLayout;
    } else {
      const options = readOptions(buf, o, optEnd);
      if (!Array.isArray(options)) {
        const e = options as WireError;
        return { code: e.code, offset: e.offset - start, message: e.message };
      }
      this.options = options as readonly TcpOption[];
    }
    const offByte = buf[start + TCP_FIELD.DATA_OFF];
    this.srcPort = be16(buf, start + TCP_FIELD.SRC_PORT);
    this.dstPort = be16(buf, start + TCP_FIELD.DST_PORT);
    this.seq = be32(buf, start + TCP_FIELD.SEQ);
    this.ack = be32(buf, start + TCP_FIELD.ACK);
    this.flags = ((offByte & 0x01) << 8) | buf[start + TCP_FIELD.FLAGS];
    this.window = be16(buf, start + TCP_FIELD.WINDOW);
    this.urgent = be16(buf, start + TCP_FIELD.URGENT);
    this.payload = optEnd === end ? EMPTY_PAYLOAD : this.payloadViews.subarray(buf, optEnd, end);
    this.headerLen = headerLen;
    this.checksum = be16(buf, start + TCP_FIELD.CHECKSUM);
    // As parseTcp: a correct segment sums, checksum included, to all ones (RFC 1071 §1 step 3).
    if (ctx === undefined) {
      this.checksumValid = undefined;
      this.checksumPartial = false;
    } else {
      const pseudo = pseudoSum(ctx, end - start);
      this.checksumValid = foldSum(onesSum(buf, start, end - start, pseudo)) === 0xffff;
      this.checksumPartial = !this.checksumValid && isPartialChecksum(this.checksum, pseudo);
    }
    this.reserved = (offByte >>> 1) & 0x07;
    return undefined;
  }
}

function writeOption(o: TcpOption, b: Uint8Array, p: number): number {
  switch (o.kind) {
    case 'eol':
      b[p] = TCP_OPTION_KIND.EOL;
      return p + 1;
    case 'nop':
      b[p] = TCP_OPTION_KIND.NOP;
      return p + 1;
    case 'mss':
      b[p] = TCP_OPTION_KIND.MSS;
      b[p + 1] = 4;
      put16(b, p + 2, o.value);
      return p + 4;
    case 'wscale':
      b[p] = TCP_OPTION_KIND.WSCALE;
      b[p + 1] = 3;
      b[p + 2] = o.shift;
      return p + 3;
    case 'sackPermitted':
      b[p] = TCP_OPTION_KIND.SACK_PERMITTED;
      b[p + 1] = 2;
      return p + 2;
    case 'sack': {
      const blocks = o.blocks;
      b[p] = TCP_OPTION_KIND.SACK;
      b[p + 1] = 2 + 8 * blocks.length;
      let q = p + 2;
      for (let i = 0; i < blocks.length; i++, q += 8) {
        put32(b, q, blocks[i].left);
        put32(b, q + 4, blocks[i].right);
      }
      return q;
    }
    case 'timestamps':
      b[p] = TCP_OPTION_KIND.TIMESTAMPS;
      b[p + 1] = 10;
      put32(b, p + 2, o.tsVal);
      put32(b, p + 6, o.tsEcr);
      return p + 10;
    case 'unknown':
      b[p] = o.type;
      b[p + 1] = 2 + o.data.length;
      b.set(o.data, p + 2);
      return p + 2 + o.data.length;
    default:
      return unreachable(o);
  }
}

/**
 * Write `repr` at `buf[offset]`: header, options in the given order, padding (EOL then zeros,
 * RFC 9293 §3.1 "Options") and payload. With `ctx` the checksum is computed over the pseudo-header
 * and the whole segment; without it the field is left 0 (for checksum offload or a later
 * `TcpHeaderView.fillChecksum`). Returns the bytes written. A payload already in place (a subarray
 * of `buf` at exactly the payload position) may be given: it stays as it is. Too small a buffer is a
 * programmer error.
 * Values are written as given, masked to their field widths, without validation: an `unknown`
 * option with a kind this module knows (0–5, 8) or a SACK with no blocks makes bytes that do not
 * parse back to the same repr.
 */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, offset: number, ctx?: ChecksumContext): number {
  const headerLen = tcpHeaderLen(repr);
  const payload = repr.payload;
  const total = headerLen + payload.length;
  if (offset < 0 || offset + total > buf.length) {
    throw new RangeError(`TCP segment of ${total} bytes does not fit at offset ${offset} of a ${buf.length}-byte buffer`);
  }
  const b = buf;
  const o = offset;
  put16(b, o + TCP_FIELD.SRC_PORT, repr.srcPort);
  put16(b, o + TCP_FIELD.DST_PORT, repr.dstPort);
  put32(b, o + TCP_FIELD.SEQ, repr.seq);
  put32(b, o + TCP_FIELD.ACK, repr.ack);
  // Reserved bits are sent as zero (RFC 9293 §3.1); AE is the low bit of this byte (RFC 9768).
  b[o + TCP_FIELD.DATA_OFF] = ((headerLen >>> 2) << 4) | ((repr.flags >>> 8) & 0x01);
  b[o + TCP_FIELD.FLAGS] = repr.flags;
  put16(b, o + TCP_FIELD.WINDOW, repr.window);
  b[o + TCP_FIELD.CHECKSUM] = 0;
  b[o + TCP_FIELD.CHECKSUM + 1] = 0;
  put16(b, o + TCP_FIELD.URGENT, repr.urgent);

  const options = repr.options;
  let p = o + TCP_HEADER_LEN;
  for (let i = 0; i < options.length; i++) p = writeOption(options[i], b, p);
  // EOL is kind 0, so "EOL then zeros" is all zero bytes.
  const headerEnd = o + headerLen;
  while (p < headerEnd) b[p++] = 0;

  // The header is a multiple of 4 bytes, so the payload's words line up with the segment's and its
  // sum can be taken on its own (RFC 1071 §2(A)) — from the source, before the copy: reading back
  // memory a copy has only just written measured about twice as slow as reading the source.
  const payloadSum = ctx !== undefined ? onesSum(payload, 0, payload.length) : 0;
  // A payload already in place is copied onto itself, which leaves it as it is: asking whether it
  // is (its `buffer` and `byteOffset`, getters V8 does not inline) costs more than the copy.
  if (payload.length > 0) copyBytes(b, payload, headerEnd);
  if (ctx !== undefined) put16(b, o + TCP_FIELD.CHECKSUM, ~foldSum(onesSum(b, o, headerLen, pseudoSum(ctx, total) + payloadSum)) & 0xffff);
  return total;
}

// tcpdump's one-character flag names, in the order it prints them (print-tcp.c, tcp_flag_values).
const FLAG_CHARS: readonly (readonly [number, string])[] = [
  [TCP_FIN, 'F'],
  [TCP_SYN, 'S'],
  [TCP_RST, 'R'],
  [TCP_PSH, 'P'],
  [TCP_ACK, '.'],
  [TCP_URG, 'U'],
  [TCP_ECE, 'E'],
  [TCP_CWR, 'W'],
  [TCP_AE, 'e'], // printed by tcpdump 4.99.5 and later
];

/**
 * Flags as tcpdump's `Flags [..]` spells them: `S`, `S.`, `P.`, `F.`, `R.`, `.`, … and `none` when no
 * flag is set. Reserved bits are not shown, as in tcpdump.
 */
export function tcpFlagsToString(flags: number): string {
  let s = '';
  for (let i = 0; i < FLAG_CHARS.length; i++) if (flags & FLAG_CHARS[i][0]) s += FLAG_CHARS[i][1];
  return s === '' ? 'none' : s;
}

/**
 * A TCP header in place: big-endian getters and setters over `buf` at `offset`, no copying. For
 * hot paths that read or patch a few fields (ports for steering, seq/ack/window on a template
 * segment). `TcpHeaderView.check` is the constructor for untrusted bytes; `new` trusts its caller.
 */
export class TcpHeaderView {
  constructor(
    readonly buf: Uint8Array,
    readonly offset = 0,
  ) {}

  /**
   * A view over untrusted bytes: at least 20 bytes, a data offset of 5 or more and a header that
   * fits. Error offsets are relative to the start of the header.
   */
  static check(buf: Uint8Array, offset = 0): Result<TcpHeaderView> {
    const avail = buf.length - offset;
    if (offset < 0 || avail < TCP_HEADER_LEN) {
      return fail('truncated', Math.max(avail, 0), `TCP header needs ${TCP_HEADER_LEN} bytes, got ${Math.max(avail, 0)}`);
    }
    const headerLen = (buf[offset + TCP_FIELD.DATA_OFF] >>> 4) * 4;
    if (headerLen < TCP_HEADER_LEN || headerLen > avail) {
      return fail('bad-header-length', TCP_FIELD.DATA_OFF, `TCP header length ${headerLen} is not within [20, ${avail}]`);
    }
    return ok(new TcpHeaderView(buf, offset));
  }

  get srcPort(): number {
    return be16(this.buf, this.offset + TCP_FIELD.SRC_PORT);
  }
  set srcPort(v: number) {
    put16(this.buf, this.offset + TCP_FIELD.SRC_PORT, v);
  }
  get dstPort(): number {
    return be16(this.buf, this.offset + TCP_FIELD.DST_PORT);
  }
  set dstPort(v: number) {
    put16(this.buf, this.offset + TCP_FIELD.DST_PORT, v);
  }
  get seq(): number {
    return be32(this.buf, this.offset + TCP_FIELD.SEQ);
  }
  set seq(v: number) {
    put32(this.buf, this.offset + TCP_FIELD.SEQ, v);
  }
  get ack(): number {
    return be32(this.buf, this.offset + TCP_FIELD.ACK);
  }
  set ack(v: number) {
    put32(this.buf, this.offset + TCP_FIELD.ACK, v);
  }
  /** Header length in bytes (data offset × 4). */
  get headerLen(): number {
    return (this.buf[this.offset + TCP_FIELD.DATA_OFF] >>> 4) * 4;
  }
  /** Sets the data offset to `v / 4`, keeping the reserved and AE bits. */
  set headerLen(v: number) {
    const i = this.offset + TCP_FIELD.DATA_OFF;
    this.buf[i] = (((v >>> 2) & 0x0f) << 4) | (this.buf[i] & 0x0f);
  }
  /** TCP_FIN … TCP_AE. */
  get flags(): number {
    return ((this.buf[this.offset + TCP_FIELD.DATA_OFF] & 0x01) << 8) | this.buf[this.offset + TCP_FIELD.FLAGS];
  }
  set flags(v: number) {
    const i = this.offset + TCP_FIELD.DATA_OFF;
    this.buf[i] = (this.buf[i] & 0xfe) | ((v >>> 8) & 0x01);
    this.buf[i + 1] = v;
  }
  /** The three reserved bits between the data offset and AE. */
  get reserved(): number {
    return (this.buf[this.offset + TCP_FIELD.DATA_OFF] >>> 1) & 0x07;
  }
  get window(): number {
    return be16(this.buf, this.offset + TCP_FIELD.WINDOW);
  }
  set window(v: number) {
    put16(this.buf, this.offset + TCP_FIELD.WINDOW, v);
  }
  get checksum(): number {
    return be16(this.buf, this.offset + TCP_FIELD.CHECKSUM);
  }
  /** Patch the checksum, e.g. with `updateChecksum16/32` after changing a field (RFC 1624). */
  set checksum(v: number) {
    put16(this.buf, this.offset + TCP_FIELD.CHECKSUM, v);
  }
  get urgent(): number {
    return be16(this.buf, this.offset + TCP_FIELD.URGENT);
  }
  set urgent(v: number) {
    put16(this.buf, this.offset + TCP_FIELD.URGENT, v);
  }

  /**
   * Compute and store the checksum over `segmentLen` bytes (header and payload) from the view's
   * offset. Asking for more bytes than the buffer holds is a programmer error.
   */
  fillChecksum(ctx: ChecksumContext, segmentLen: number): void {
    if (segmentLen < TCP_HEADER_LEN || this.offset + segmentLen > this.buf.length) {
      throw new RangeError(`TCP segment length ${segmentLen} does not fit the buffer`);
    }
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.offset, segmentLen, pseudoSum(ctx, segmentLen));
  }

  /** Whether the `segmentLen` bytes from the view's offset carry a correct checksum; false if they are not all there. */
  verifyChecksum(ctx: ChecksumContext, segmentLen: number): boolean {
    if (segmentLen < TCP_HEADER_LEN || this.offset + segmentLen > this.buf.length) return false;
    return foldSum(onesSum(this.buf, this.offset, segmentLen, pseudoSum(ctx, segmentLen))) === 0xffff;
  }
}
