// wire: the IPv4 header (RFC 791 §3.1) and its options — parse with checksum check, emit with checksum.
//
// Not handled here (it is the stack's job or outside scope): reassembly, the TSO convention of a
// zero total length in locally captured segments (reported as bad-total-length), and source routing.

import { fail, ok, type Result, type WireError } from './result';
import { readIpv4, writeIpv4 } from './address';
import { internetChecksum } from './checksum';
import { read16, requireRoom, write16 } from './byteorder';

export const IPV4_MIN_HEADER_LEN = 20 as const;
export const IPV4_MAX_HEADER_LEN = 60 as const;
export const IPV4_MAX_TOTAL_LEN = 0xffff as const;

/** Byte offsets of the fixed header. */
export const IPV4_FIELD = {
  VER_IHL: 0,
  DSCP_ECN: 1,
  TOTAL_LENGTH: 2,
  IDENTIFICATION: 4,
  FLAGS_FRAG: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;

/** IANA protocol numbers, shared by IPv4's protocol field and IPv6's next header. */
export const IP_PROTOCOL = {
  HOPOPT: 0,
  ICMP: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
  DCCP: 33,
  IPV6: 41,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
  SCTP: 132,
} as const;

/** Option types (RFC 791 §3.1; the copied flag and class are part of the number). */
export const IPV4_OPTION = {
  EOL: 0,
  NOP: 1,
  RECORD_ROUTE: 7,
  TIMESTAMP: 68,
  LOOSE_SOURCE_ROUTE: 131,
  STRICT_SOURCE_ROUTE: 137,
  /** RFC 2113. */
  ROUTER_ALERT: 148,
} as const;

const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;

/** What an IPv4 header means; the input to emitIpv4. */
export interface Ipv4Repr {
  readonly src: number;
  readonly dst: number;
  readonly protocol: number;
  readonly ttl: number;
  /** Differentiated services code point, the upper 6 bits of the old TOS byte (RFC 2474). */
  readonly dscp: number;
  /** ECN field, the lower 2 bits (RFC 3168 §5). */
  readonly ecn: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** In bytes: the wire value times 8. */
  readonly fragmentOffset: number;
  /** Raw option bytes. Emit pads them with zeros (EOL) to a multiple of 4; parse gives the whole option area as a view into the buffer. */
  readonly options: Uint8Array;
  /** Bytes after the header, as the total length field claims. */
  readonly payloadLength: number;
}

interface OptionBase {
  /** Offset of the option's type byte, from the start of the parsed buffer. */
  readonly offset: number;
}

/** One option, as read by walking the option area. Route and timestamp bodies are decoded; bytes are views. */
export type Ipv4Option =
  | (OptionBase & { readonly kind: 'eol' })
  | (OptionBase & { readonly kind: 'nop' })
  | (OptionBase & {
      readonly kind: 'recordRoute' | 'looseSourceRoute' | 'strictSourceRoute';
      /** RFC 791: the octet offset (from the option start, minimum 4) of the next slot. */
      readonly pointer: number;
      readonly addresses: readonly number[];
    })
  | (OptionBase & {
      readonly kind: 'timestamp';
      readonly pointer: number;
      /** Hosts that could not record a timestamp for lack of space (4 bits). */
      readonly overflow: number;
      /** 0: timestamps only; 1: address + timestamp; 3: prespecified addresses. Other flags keep entries empty. */
      readonly flag: number;
      readonly entries: readonly { readonly address: number | undefined; readonly timestamp: number }[];
    })
  | (OptionBase & { readonly kind: 'routerAlert'; readonly value: number })
  /** Options this parser does not decode, and known options whose length does not fit their format. */
  | (OptionBase & { readonly kind: 'unknown'; readonly type: number; readonly data: Uint8Array });

/** A parsed header: the representation plus what only the wire knows. */
export interface Ipv4Packet extends Ipv4Repr {
  readonly version: 4;
  readonly headerLen: number;
  readonly totalLength: number;
  readonly checksum: number;
  readonly checksumValid: boolean;
  /** The reserved ("evil", RFC 3514) flag bit, kept so nothing is lost. */
  readonly reservedFlag: boolean;
  readonly parsedOptions: readonly Ipv4Option[];
  /**
   * The first problem met while walking the options (code `bad-option`, offset of the length byte):
   * a length of 0 or 1 or past the end stops the walk; a length that does not fit a known option's
   * format keeps the option as `unknown` and the walk goes on. The packet is still usable.
   */
  readonly optionsError: WireError | undefined;
  /** The payload up to the total length (Ethernet padding cut off), or to the end of a cut-short capture. */
  readonly payload: Uint8Array;
  /** True when the buffer ends before the total length: the capture was cut short. */
  readonly truncated: boolean;
}

const NO_OPTIONS: readonly Ipv4Option[] = Object.freeze([]);

/** Parses an IPv4 header from untrusted bytes. The options and payload are views into `buf`. */
export function parseIpv4(buf: Uint8Array): Result<Ipv4Packet> {
  if (buf.length < 1) return fail('truncated', 0, 'IPv4 header needs 20 bytes, have 0');
  const version = buf[0] >>> 4;
  if (version !== 4) return fail('bad-version', IPV4_FIELD.VER_IHL, `IP version ${version}, want 4`);
  const headerLen = (buf[0] & 0x0f) * 4;
  if (headerLen < IPV4_MIN_HEADER_LEN) {
    return fail('bad-header-length', IPV4_FIELD.VER_IHL, `IHL ${headerLen / 4} is below the minimum of 5`);
  }
  if (buf.length < IPV4_MIN_HEADER_LEN) {
    return fail('truncated', buf.length, `IPv4 header needs ${IPV4_MIN_HEADER_LEN} bytes, have ${buf.length}`);
  }
  if (headerLen > buf.length) {
    return fail('bad-header-length', IPV4_FIELD.VER_IHL, `header length ${headerLen} runs past the end of the ${buf.length}-byte buffer`);
  }
  const totalLength = read16(buf, IPV4_FIELD.TOTAL_LENGTH);
  if (totalLength < headerLen) {
    return fail('bad-total-length', IPV4_FIELD.TOTAL_LENGTH, `total length ${totalLength} is less than the header length ${headerLen}`);
  }
  const truncated = totalLength > buf.length;
  const flagsFrag = read16(buf, IPV4_FIELD.FLAGS_FRAG);
  const tos = buf[IPV4_FIELD.DSCP_ECN];
  const checksum = read16(buf, IPV4_FIELD.CHECKSUM);
  let parsedOptions = NO_OPTIONS;
  let optionsError: WireError | undefined;
  if (headerLen > IPV4_MIN_HEADER_LEN) {
    const walked = walkOptions(buf, IPV4_MIN_HEADER_LEN, headerLen);
    parsedOptions = walked.options;
    optionsError = walked.error;
  }
  return ok({
    version: 4,
    headerLen,
    totalLength,
    // RFC 791 §3.1 / RFC 1071: the one's-complement sum over a correct header, checksum included, is all ones.
    checksum,
    checksumValid: internetChecksum(buf, 0, headerLen) === 0,
    reservedFlag: (flagsFrag & FLAG_RESERVED) !== 0,
    src: readIpv4(buf, IPV4_FIELD.SRC),
    dst: readIpv4(buf, IPV4_FIELD.DST),
    protocol: buf[IPV4_FIELD.PROTOCOL],
    ttl: buf[IPV4_FIELD.TTL],
    dscp: tos >>> 2,
    ecn: tos & 3,
    identification: read16(buf, IPV4_FIELD.IDENTIFICATION),
    dontFragment: (flagsFrag & FLAG_DF) !== 0,
    moreFragments: (flagsFrag & FLAG_MF) !== 0,
    fragmentOffset: (flagsFrag & 0x1fff) * 8,
    options: buf.subarray(IPV4_MIN_HEADER_LEN, headerLen),
    payloadLength: totalLength - headerLen,
    parsedOptions,
    optionsError,
    payload: buf.subarray(headerLen, truncated ? buf.length : totalLength),
    truncated,
  });
}

function optionError(offset: number, message: string): WireError {
  return { code: 'bad-option', offset, message };
}

/** RFC 791 §3.1 option walk over buf[start, end). Only called when there are options, so allocation is rare. */
function walkOptions(buf: Uint8Array, start: number, end: number): { options: Ipv4Option[]; error: WireError | undefined } {
  const options: Ipv4Option[] = [];
  let error: WireError | undefined;
  let at = start;
  while (at < end) {
    const type = buf[at];
    if (type === IPV4_OPTION.EOL) {
      // "used at the end of all options": what follows is padding.
      options.push({ kind: 'eol', offset: at });
      break;
    }
    if (type === IPV4_OPTION.NOP) {
      options.push({ kind: 'nop', offset: at });
      at += 1;
      continue;
    }
    if (at + 1 >= end) {
      error = optionError(at, `option ${type} at offset ${at} has no length byte`);
      break;
    }
    const len = buf[at + 1];
    if (len < 2) {
      error = optionError(at + 1, `option ${type} at offset ${at} has length ${len}; the minimum is 2`);
      break;
    }
    if (at + len > end) {
      error = optionError(at + 1, `option ${type} at offset ${at} has length ${len}, past the end of the header at ${end}`);
      break;
    }
    const opt = decodeOption(buf, at, type, len);
    if (opt) {
      options.push(opt);
    } else {
      error ??= optionError(at + 1, `option ${type} at offset ${at} has length ${len}, which does not fit its format`);
      options.push({ kind: 'unknown', offset: at, type, data: buf.subarray(at + 2, at + len) });
    }
    at += len;
  }
  return { options, error };
}

/** Decodes a known option whose length is in bounds; undefined when the length does not fit its format. */
function decodeOption(buf: Uint8Array, at: number, type: number, len: number): Ipv4Option | undefined {
  switch (type) {
    case IPV4_OPTION.RECORD_ROUTE:
    case IPV4_OPTION.LOOSE_SOURCE_ROUTE:
    case IPV4_OPTION.STRICT_SOURCE_ROUTE: {
      // RFC 791: type, length, pointer, then route data of 4-byte addresses.
      if (len < 3 || (len - 3) % 4 !== 0) return undefined;
      const addresses: number[] = [];
      for (let i = at + 3; i < at + len; i += 4) addresses.push(readIpv4(buf, i));
      const kind = type === IPV4_OPTION.RECORD_ROUTE ? 'recordRoute' : type === IPV4_OPTION.LOOSE_SOURCE_ROUTE ? 'looseSourceRoute' : 'strictSourceRoute';
      return { kind, offset: at, pointer: buf[at + 2], addresses };
    }
    case IPV4_OPTION.TIMESTAMP: {
      // RFC 791 "Internet Timestamp": type, length, pointer, overflow|flag, then 4- or 8-byte entries.
      if (len < 4) return undefined;
      const flag = buf[at + 3] & 0x0f;
      const entries: { address: number | undefined; timestamp: number }[] = [];
      if (flag === 0) {
        if ((len - 4) % 4 !== 0) return undefined;
        for (let i = at + 4; i < at + len; i += 4) entries.push({ address: undefined, timestamp: readIpv4(buf, i) });
      } else if (flag === 1 || flag === 3) {
        if ((len - 4) % 8 !== 0) return undefined;
        for (let i = at + 4; i < at + len; i += 8) entries.push({ address: readIpv4(buf, i), timestamp: readIpv4(buf, i + 4) });
      }
      return { kind: 'timestamp', offset: at, pointer: buf[at + 2], overflow: buf[at + 3] >>> 4, flag, entries };
    }
    case IPV4_OPTION.ROUTER_ALERT:
      // RFC 2113 §2.1: always 4 bytes, a 16-bit value (0 = "router shall examine packet").
      if (len !== 4) return undefined;
      return { kind: 'routerAlert', offset: at, value: read16(buf, at + 2) };
    default:
      return { kind: 'unknown', offset: at, type, data: buf.subarray(at + 2, at + len) };
  }
}

export function ipv4HeaderLen(repr: Pick<Ipv4Repr, 'options'>): number {
  return IPV4_MIN_HEADER_LEN + ((repr.options.length + 3) & ~3);
}

/**
 * Writes the header at `offset`, checksum included, and returns its length. The payload is the
 * caller's to write after it. Throws RangeError (a programmer error) when the options exceed 40
 * bytes, the total length exceeds 65535, or the buffer is too small.
 */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array, offset = 0): number {
  const headerLen = ipv4HeaderLen(repr);
  if (headerLen > IPV4_MAX_HEADER_LEN) throw new RangeError(`emitIpv4: ${repr.options.length} option bytes exceed 40`);
  const totalLength = headerLen + repr.payloadLength;
  if (totalLength > IPV4_MAX_TOTAL_LEN) throw new RangeError(`emitIpv4: total length ${totalLength} exceeds 65535`);
  requireRoom(buf, offset, headerLen, 'emitIpv4');
  buf[offset + IPV4_FIELD.VER_IHL] = 0x40 | (headerLen >>> 2);
  buf[offset + IPV4_FIELD.DSCP_ECN] = ((repr.dscp & 0x3f) << 2) | (repr.ecn & 3);
  write16(buf, offset + IPV4_FIELD.TOTAL_LENGTH, totalLength);
  write16(buf, offset + IPV4_FIELD.IDENTIFICATION, repr.identification);
  write16(
    buf,
    offset + IPV4_FIELD.FLAGS_FRAG,
    (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) | ((repr.fragmentOffset >>> 3) & 0x1fff),
  );
  buf[offset + IPV4_FIELD.TTL] = repr.ttl;
  buf[offset + IPV4_FIELD.PROTOCOL] = repr.protocol;
  write16(buf, offset + IPV4_FIELD.CHECKSUM, 0);
  writeIpv4(buf, offset + IPV4_FIELD.SRC, repr.src);
  writeIpv4(buf, offset + IPV4_FIELD.DST, repr.dst);
  // Nearly every header has no options: spare the two builtin calls then.
  if (headerLen > IPV4_MIN_HEADER_LEN) {
    buf.set(repr.options, offset + IPV4_FIELD.OPTIONS);
    buf.fill(0, offset + IPV4_FIELD.OPTIONS + repr.options.length, offset + headerLen);
  }
  write16(buf, offset + IPV4_FIELD.CHECKSUM, internetChecksum(buf, offset, headerLen));
  return headerLen;
}

/** The representation part of a parsed packet, without the wire-only fields. */
export function ipv4ReprOf(p: Ipv4Packet): Ipv4Repr {
  return {
    src: p.src,
    dst: p.dst,
    protocol: p.protocol,
    ttl: p.ttl,
    dscp: p.dscp,
    ecn: p.ecn,
    identification: p.identification,
    dontFragment: p.dontFragment,
    moreFragments: p.moreFragments,
    fragmentOffset: p.fragmentOffset,
    options: p.options,
    payloadLength: p.payloadLength,
  };
}
