// wire: ICMPv6 (RFC 4443) and the Neighbor Discovery messages (RFC 4861 §4) — parse with checksum check, emit.
//
// Neighbor Discovery is read far enough to show it and to answer neighbour solicitations: the
// target, the link-layer address options, prefix information and MTU. Redirect (137) and the
// other NDP, MLD and RPL messages are kept as `unknown`.

import { fail, ok, type Result, type WireError } from './result';
import { IPV6_LEN, readIpv6 } from './address';
import { internetChecksum, ipv6PseudoSum } from './checksum';
import type { ChecksumContext } from './ip-context';
import { read16, read32, requireRoom, write16, write32 } from './byteorder';
import { parseIpv6, type Ipv6Packet } from './ipv6';

export const ICMPV6_NEXT_HEADER = 58 as const;

export const ICMPV6_TYPE = {
  DESTINATION_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
  REDIRECT: 137,
} as const;

/** NDP option types (RFC 4861 §4.6). */
export const NDP_OPTION = {
  SOURCE_LINK_LAYER_ADDRESS: 1,
  TARGET_LINK_LAYER_ADDRESS: 2,
  PREFIX_INFORMATION: 3,
  REDIRECTED_HEADER: 4,
  MTU: 5,
} as const;

/** Router Advertisement flag bits in byte 5 (RFC 4861 §4.2, RFC 4191 §2.2 preference, RFC 8425). */
export const ICMPV6_RA_FLAG = { MANAGED: 0x80, OTHER: 0x40, HOME_AGENT: 0x20, PREFERENCE_MASK: 0x18, PROXY: 0x04 } as const;

export const ICMPV6_HEADER_LEN = 8 as const;

export const ICMPV6_FIELD = { TYPE: 0, CODE: 1, CHECKSUM: 2, REST: 4, BODY: 8 } as const;

/** The checksum context ICMPv6 needs: the enclosing IPv6 addresses. */
export type Ipv6ChecksumContext = Extract<ChecksumContext, { version: 6 }>;

export type NdpOption =
  /** Link-layer address options (RFC 4861 §4.6.1): 6 bytes on Ethernet (RFC 2464 §6), all the data otherwise. */
  | { readonly kind: 'sourceLinkLayerAddress' | 'targetLinkLayerAddress'; readonly address: Uint8Array }
  | {
      readonly kind: 'prefixInformation';
      readonly prefixLength: number;
      readonly onLink: boolean;
      readonly autonomous: boolean;
      readonly validLifetime: number;
      readonly preferredLifetime: number;
      readonly prefix: Uint8Array;
    }
  | { readonly kind: 'mtu'; readonly mtu: number }
  /** Any other option, and known options whose length does not fit their format; `data` excludes type and length. */
  | { readonly kind: 'unknown'; readonly type: number; readonly data: Uint8Array };

export type Icmpv6Repr =
  | { readonly kind: 'echoRequest' | 'echoReply'; readonly identifier: number; readonly sequence: number; readonly data: Uint8Array }
  | { readonly kind: 'destinationUnreachable' | 'timeExceeded'; readonly code: number; readonly quote: Uint8Array }
  | { readonly kind: 'packetTooBig'; readonly code: number; readonly mtu: number; readonly quote: Uint8Array }
  | { readonly kind: 'parameterProblem'; readonly code: number; readonly pointer: number; readonly quote: Uint8Array }
  | { readonly kind: 'routerSolicitation'; readonly options: readonly NdpOption[] }
  | {
      readonly kind: 'routerAdvertisement';
      /** 0 means unspecified. */
      readonly curHopLimit: number;
      /** The raw flag byte; see ICMPV6_RA_FLAG. */
      readonly flags: number;
      /** Seconds; 0 means "not a default router". */
      readonly routerLifetime: number;
      /** Milliseconds. */
      readonly reachableTime: number;
      /** Milliseconds. */
      readonly retransTimer: number;
      readonly options: readonly NdpOption[];
    }
  | { readonly kind: 'neighborSolicitation'; readonly target: Uint8Array; readonly options: readonly NdpOption[] }
  | {
      readonly kind: 'neighborAdvertisement';
      readonly router: boolean;
      readonly solicited: boolean;
      readonly override: boolean;
      readonly target: Uint8Array;
      readonly options: readonly NdpOption[];
    }
  /** Every other type, with the 4 bytes after the checksum and the body in `rest`. */
  | { readonly kind: 'unknown'; readonly type: number; readonly code: number; readonly rest: Uint8Array };

export type Icmpv6Packet = Icmpv6Repr & {
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  /** RFC 4443 §2.3, over the IPv6 pseudo-header (RFC 8200 §8.1); undefined when no addresses were given. */
  readonly checksumValid: boolean | undefined;
  /** For error messages: the quoted packet's header, when it parses. */
  readonly quoted: Ipv6Packet | undefined;
  /** The first malformed NDP option (length 0 or past the end), which stops the option walk; RFC 4861 §4.6 says to drop such a message. */
  readonly optionsError: WireError | undefined;
};

const NO_NDP_OPTIONS: readonly NdpOption[] = Object.freeze([]);

/** Minimum message lengths: fixed part of each ND message (RFC 4861 §4.1–4.4). */
const ND_FIXED_LEN = { 133: 8, 134: 16, 135: 24, 136: 24 } as const;

function checksumOf(buf: Uint8Array, offset: number, len: number, ctx: Ipv6ChecksumContext): number {
  return internetChecksum(buf, offset, len, ipv6PseudoSum(ctx.src, ctx.dst, ICMPV6_NEXT_HEADER, len));
}

/** Parses an ICMPv6 message from untrusted bytes: `buf` is the upper-layer payload after any extension headers. */
export function parseIcmpv6(buf: Uint8Array, ctx?: Ipv6ChecksumContext): Result<Icmpv6Packet> {
  if (buf.length < ICMPV6_HEADER_LEN) {
    return fail('truncated', buf.length, `ICMPv6 header needs ${ICMPV6_HEADER_LEN} bytes, have ${buf.length}`);
  }
  const type = buf[ICMPV6_FIELD.TYPE];
  const code = buf[ICMPV6_FIELD.CODE];
  const fixed = (ND_FIXED_LEN as Record<number, number>)[type];
  if (fixed !== undefined && buf.length < fixed) {
    return fail('truncated', buf.length, `ICMPv6 type ${type} needs ${fixed} bytes, have ${buf.length}`);
  }
  const wire = {
    type,
    code,
    checksum: read16(buf, ICMPV6_FIELD.CHECKSUM),
    checksumValid: ctx ? checksumOf(buf, 0, buf.length, ctx) === 0 : undefined,
    quoted: undefined as Ipv6Packet | undefined,
    optionsError: undefined as WireError | undefined,
  };
  const body = buf.subarray(ICMPV6_FIELD.BODY);
  switch (type) {
    case ICMPV6_TYPE.ECHO_REQUEST:
    case ICMPV6_TYPE.ECHO_REPLY:
      return ok({
        ...wire,
        kind: type === ICMPV6_TYPE.ECHO_REQUEST ? 'echoRequest' : 'echoReply',
        identifier: read16(buf, 4),
        sequence: read16(buf, 6),
        data: body,
      });
    case ICMPV6_TYPE.DESTINATION_UNREACHABLE:
    case ICMPV6_TYPE.TIME_EXCEEDED:
      return ok({
        ...wire,
        kind: type === ICMPV6_TYPE.DESTINATION_UNREACHABLE ? 'destinationUnreachable' : 'timeExceeded',
        quote: body,
        quoted: quotedHeader(body),
      });
    case ICMPV6_TYPE.PACKET_TOO_BIG:
      return ok({ ...wire, kind: 'packetTooBig', mtu: read32(buf, 4), quote: body, quoted: quotedHeader(body) });
    case ICMPV6_TYPE.PARAMETER_PROBLEM:
      return ok({ ...wire, kind: 'parameterProblem', pointer: read32(buf, 4), quote: body, quoted: quotedHeader(body) });
    case ICMPV6_TYPE.ROUTER_SOLICITATION: {
      const w = walkNdpOptions(buf, 8);
      return ok({ ...wire, kind: 'routerSolicitation', options: w.options, optionsError: w.error });
    }
    case ICMPV6_TYPE.ROUTER_ADVERTISEMENT: {
      const w = walkNdpOptions(buf, 16);
      return ok({
        ...wire,
        kind: 'routerAdvertisement',
        curHopLimit: buf[4],
        flags: buf[5],
        routerLifetime: read16(buf, 6),
        reachableTime: read32(buf, 8),
        retransTimer: read32(buf, 12),
        options: w.options,
        optionsError: w.error,
      });
    }
    case ICMPV6_TYPE.NEIGHBOR_SOLICITATION: {
      const w = walkNdpOptions(buf, 24);
      return ok({ ...wire, kind: 'neighborSolicitation', target: readIpv6(buf, 8), options: w.options, optionsError: w.error });
    }
    case ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT: {
      const w = walkNdpOptions(buf, 24);
      const f = buf[4];
      return ok({
        ...wire,
        kind: 'neighborAdvertisement',
        router: (f & 0x80) !== 0,
        solicited: (f & 0x40) !== 0,
        override: (f & 0x20) !== 0,
        target: readIpv6(buf, 8),
        options: w.options,
        optionsError: w.error,
      });
    }
    default:
      return ok({ ...wire, kind: 'unknown', rest: buf.subarray(ICMPV6_FIELD.REST) });
  }
}

function quotedHeader(quote: Uint8Array): Ipv6Packet | undefined {
  const r = parseIpv6(quote);
  return r.ok ? r.value : undefined;
}

/** RFC 4861 §4.6: type, length in units of 8 bytes (0 is invalid), data. */
function walkNdpOptions(buf: Uint8Array, start: number): { options: readonly NdpOption[]; error: WireError | undefined } {
  if (start >= buf.length) return { options: NO_NDP_OPTIONS, error: undefined };
  const options: NdpOption[] = [];
  let error: WireError | undefined;
  let at = start;
  while (at < buf.length) {
    if (at + 2 > buf.length) {
      error = { code: 'bad-option', offset: at, message: `NDP option at offset ${at} has no length byte` };
      break;
    }
    const type = buf[at];
    const len = buf[at + 1] * 8;
    if (len === 0) {
      error = { code: 'bad-option', offset: at + 1, message: `NDP option ${type} at offset ${at} has length 0` };
      break;
    }
    if (at + len > buf.length) {
      error = { code: 'bad-option', offset: at + 1, message: `NDP option ${type} at offset ${at} has length ${len}, past the end at ${buf.length}` };
      break;
    }
    options.push(decodeNdpOption(buf, at, type, len));
    at += len;
  }
  return { options, error };
}

function decodeNdpOption(buf: Uint8Array, at: number, type: number, len: number): NdpOption {
  switch (type) {
    case NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS:
    case NDP_OPTION.TARGET_LINK_LAYER_ADDRESS: {
      const kind = type === NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS ? 'sourceLinkLayerAddress' : 'targetLinkLayerAddress';
      // An 8-byte option is Ethernet's 6-byte address plus no padding to speak of; copy it so it outlives the buffer.
      return { kind, address: len === 8 ? buf.slice(at + 2, at + 8) : buf.slice(at + 2, at + len) };
    }
    case NDP_OPTION.PREFIX_INFORMATION:
      // RFC 4861 §4.6.2: always 32 bytes.
      if (len !== 32) break;
      return {
        kind: 'prefixInformation',
        prefixLength: buf[at + 2],
        onLink: (buf[at + 3] & 0x80) !== 0,
        autonomous: (buf[at + 3] & 0x40) !== 0,
        validLifetime: read32(buf, at + 4),
        preferredLifetime: read32(buf, at + 8),
        prefix: readIpv6(buf, at + 16),
      };
    case NDP_OPTION.MTU:
      // RFC 4861 §4.6.4: always 8 bytes.
      if (len !== 8) break;
      return { kind: 'mtu', mtu: read32(buf, at + 4) };
  }
  return { kind: 'unknown', type, data: buf.subarray(at + 2, at + len) };
}

function ndpOptionLen(opt: NdpOption): number {
  switch (opt.kind) {
    case 'sourceLinkLayerAddress':
    case 'targetLinkLayerAddress':
    case 'unknown': {
      const raw = 2 + (opt.kind === 'unknown' ? opt.data.length : opt.address.length);
      return (raw + 7) & ~7;
    }
    case 'prefixInformation':
      return 32;
    case 'mtu':
      return 8;
  }
}

function ndpOptionsLen(options: readonly NdpOption[]): number {
  let n = 0;
  for (const o of options) n += ndpOptionLen(o);
  return n;
}

export function icmpv6Len(repr: Icmpv6Repr): number {
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      return ICMPV6_HEADER_LEN + repr.data.length;
    case 'destinationUnreachable':
    case 'timeExceeded':
    case 'packetTooBig':
    case 'parameterProblem':
      return ICMPV6_HEADER_LEN + repr.quote.length;
    case 'routerSolicitation':
      return 8 + ndpOptionsLen(repr.options);
    case 'routerAdvertisement':
      return 16 + ndpOptionsLen(repr.options);
    case 'neighborSolicitation':
    case 'neighborAdvertisement':
      return 24 + ndpOptionsLen(repr.options);
    case 'unknown':
      return ICMPV6_FIELD.REST + repr.rest.length;
  }
}

function emitNdpOptions(options: readonly NdpOption[], buf: Uint8Array, at: number): void {
  for (const o of options) {
    const len = ndpOptionLen(o);
    buf.fill(0, at, at + len);
    buf[at + 1] = len / 8;
    switch (o.kind) {
      case 'sourceLinkLayerAddress':
      case 'targetLinkLayerAddress':
        buf[at] = o.kind === 'sourceLinkLayerAddress' ? NDP_OPTION.SOURCE_LINK_LAYER_ADDRESS : NDP_OPTION.TARGET_LINK_LAYER_ADDRESS;
        buf.set(o.address, at + 2);
        break;
      case 'prefixInformation':
        buf[at] = NDP_OPTION.PREFIX_INFORMATION;
        buf[at + 2] = o.prefixLength;
        buf[at + 3] = (o.onLink ? 0x80 : 0) | (o.autonomous ? 0x40 : 0);
        write32(buf, at + 4, o.validLifetime);
        write32(buf, at + 8, o.preferredLifetime);
        buf.set(o.prefix, at + 16);
        break;
      case 'mtu':
        buf[at] = NDP_OPTION.MTU;
        write32(buf, at + 4, o.mtu);
        break;
      case 'unknown':
        buf[at] = o.type;
        buf.set(o.data, at + 2);
        break;
    }
    at += len;
  }
}

/**
 * Writes the whole message at `offset`, its checksum computed over the pseudo-header of `ctx`, and
 * returns its length. NDP options are padded with zeros to multiples of 8 bytes.
 */
export function emitIcmpv6(repr: Icmpv6Repr, buf: Uint8Array, offset: number, ctx: Ipv6ChecksumContext): number {
  const len = icmpv6Len(repr);
  requireRoom(buf, offset, len, 'emitIcmpv6');
  if (repr.kind === 'unknown' && repr.rest.length < 4) throw new RangeError('emitIcmpv6: an unknown message needs at least 4 bytes of rest');
  buf.fill(0, offset, offset + ICMPV6_HEADER_LEN);
  const b = offset + ICMPV6_FIELD.BODY;
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      buf[offset] = repr.kind === 'echoRequest' ? ICMPV6_TYPE.ECHO_REQUEST : ICMPV6_TYPE.ECHO_REPLY;
      write16(buf, offset + 4, repr.identifier);
      write16(buf, offset + 6, repr.sequence);
      buf.set(repr.data, b);
      break;
    case 'destinationUnreachable':
    case 'timeExceeded':
      buf[offset] = repr.kind === 'destinationUnreachable' ? ICMPV6_TYPE.DESTINATION_UNREACHABLE : ICMPV6_TYPE.TIME_EXCEEDED;
      buf[offset + 1] = repr.code;
      buf.set(repr.quote, b);
      break;
    case 'packetTooBig':
      buf[offset] = ICMPV6_TYPE.PACKET_TOO_BIG;
      buf[offset + 1] = repr.code;
      write32(buf, offset + 4, repr.mtu);
      buf.set(repr.quote, b);
      break;
    case 'parameterProblem':
      buf[offset] = ICMPV6_TYPE.PARAMETER_PROBLEM;
      buf[offset + 1] = repr.code;
      write32(buf, offset + 4, repr.pointer);
      buf.set(repr.quote, b);
      break;
    case 'routerSolicitation':
      buf[offset] = ICMPV6_TYPE.ROUTER_SOLICITATION;
      emitNdpOptions(repr.options, buf, b);
      break;
    case 'routerAdvertisement':
      buf[offset] = ICMPV6_TYPE.ROUTER_ADVERTISEMENT;
      buf[offset + 4] = repr.curHopLimit;
      buf[offset + 5] = repr.flags;
      write16(buf, offset + 6, repr.routerLifetime);
      write32(buf, offset + 8, repr.reachableTime);
      write32(buf, offset + 12, repr.retransTimer);
      emitNdpOptions(repr.options, buf, offset + 16);
      break;
    case 'neighborSolicitation':
    case 'neighborAdvertisement':
      if (repr.target.length !== IPV6_LEN) throw new RangeError('emitIcmpv6: the target address is 16 bytes');
      if (repr.kind === 'neighborSolicitation') {
        buf[offset] = ICMPV6_TYPE.NEIGHBOR_SOLICITATION;
      } else {
        buf[offset] = ICMPV6_TYPE.NEIGHBOR_ADVERTISEMENT;
        buf[offset + 4] = (repr.router ? 0x80 : 0) | (repr.solicited ? 0x40 : 0) | (repr.override ? 0x20 : 0);
      }
      buf.set(repr.target, b);
      emitNdpOptions(repr.options, buf, offset + 24);
      break;
    case 'unknown':
      buf[offset] = repr.type;
      buf[offset + 1] = repr.code;
      buf.set(repr.rest, offset + ICMPV6_FIELD.REST);
      break;
  }
  write16(buf, offset + ICMPV6_FIELD.CHECKSUM, checksumOf(buf, offset, len, ctx));
  return len;
}
