// wire: ICMP for IPv4 (RFC 792) — echo, destination unreachable, time exceeded, redirect; parse and emit.
//
// Error messages quote the offending datagram's IP header and at least its first 8 bytes (RFC 792,
// RFC 1812 §4.3.2.3 allows more). The quote is kept as bytes and, when it parses, as a header plus
// the quoted transport ports, which is what ties an error back to a flow.

import { fail, ok, type Result } from './result';
import { readIpv4, writeIpv4 } from './address';
import { internetChecksum } from './checksum';
import { read16, requireRoom, write16 } from './byteorder';
import { IP_PROTOCOL, parseIpv4, type Ipv4Packet } from './ipv4';

export const ICMPV4_TYPE = {
  ECHO_REPLY: 0,
  DESTINATION_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
} as const;

/** Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const ICMPV4_UNREACHABLE = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  /** "Fragmentation needed and DF set"; bytes 6–7 carry the next-hop MTU (RFC 1191 §4). */
  FRAGMENTATION_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  ADMIN_PROHIBITED: 13,
} as const;

export const ICMPV4_TIME_EXCEEDED = { TTL: 0, REASSEMBLY: 1 } as const;

export const ICMPV4_HEADER_LEN = 8 as const;

export const ICMPV4_FIELD = { TYPE: 0, CODE: 1, CHECKSUM: 2, REST: 4, IDENTIFIER: 4, SEQUENCE: 6, NEXT_HOP_MTU: 6, GATEWAY: 4, DATA: 8 } as const;

/** What an ICMP message means; the input to emitIcmpv4. Byte fields are views when parsed. */
export type Icmpv4Repr =
  | {
      readonly kind: 'echoRequest' | 'echoReply';
      readonly identifier: number;
      readonly sequence: number;
      readonly data: Uint8Array;
    }
  | {
      readonly kind: 'destinationUnreachable';
      readonly code: number;
      /** Bytes 6–7: the next-hop MTU, meaningful for code 4 (RFC 1191 §4) and zero otherwise. */
      readonly nextHopMtu: number;
      /** The quoted IP header and the first bytes of its payload. */
      readonly quote: Uint8Array;
    }
  | { readonly kind: 'timeExceeded'; readonly code: number; readonly quote: Uint8Array }
  | { readonly kind: 'redirect'; readonly code: number; readonly gateway: number; readonly quote: Uint8Array }
  /** Every other type, with the 4 bytes after the checksum and the body in `rest`. */
  | { readonly kind: 'unknown'; readonly type: number; readonly code: number; readonly rest: Uint8Array };

/** The parse of an error message's quote, when it is an IPv4 header. */
export interface QuotedIpv4 {
  readonly header: Ipv4Packet;
  /** The transport ports from the first 4 quoted payload bytes (TCP, UDP, SCTP, DCCP), when present. */
  readonly srcPort: number | undefined;
  readonly dstPort: number | undefined;
}

export type Icmpv4Packet = Icmpv4Repr & {
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  /** RFC 792: the checksum covers the whole ICMP message. False also when the message was cut short. */
  readonly checksumValid: boolean;
  /** For error messages whose quote parses as IPv4; undefined otherwise. */
  readonly quoted: QuotedIpv4 | undefined;
};

/** Protocols whose first 4 bytes are a source and destination port. */
function hasPorts(protocol: number): boolean {
  return protocol === IP_PROTOCOL.TCP || protocol === IP_PROTOCOL.UDP || protocol === IP_PROTOCOL.SCTP || protocol === IP_PROTOCOL.DCCP;
}

/** Parses a quoted datagram; the quote is usually cut short, so a truncated header is expected. */
export function parseQuotedIpv4(quote: Uint8Array): QuotedIpv4 | undefined {
  const r = parseIpv4(quote);
  if (!r.ok) return undefined;
  const header = r.value;
  const ports = hasPorts(header.protocol) && header.fragmentOffset === 0 && header.payload.length >= 4;
  return {
    header,
    srcPort: ports ? read16(header.payload, 0) : undefined,
    dstPort: ports ? read16(header.payload, 2) : undefined,
  };
}

/** Parses an ICMP message from untrusted bytes: `buf` is the IPv4 payload. */
export function parseIcmpv4(buf: Uint8Array): Result<Icmpv4Packet> {
  if (buf.length < ICMPV4_HEADER_LEN) {
    return fail('truncated', buf.length, `ICMP header needs ${ICMPV4_HEADER_LEN} bytes, have ${buf.length}`);
  }
  const type = buf[ICMPV4_FIELD.TYPE];
  const code = buf[ICMPV4_FIELD.CODE];
  const wire = {
    type,
    code,
    checksum: read16(buf, ICMPV4_FIELD.CHECKSUM),
    checksumValid: internetChecksum(buf, 0, buf.length) === 0,
  };
  const body = buf.subarray(ICMPV4_FIELD.DATA);
  switch (type) {
    case ICMPV4_TYPE.ECHO_REQUEST:
    case ICMPV4_TYPE.ECHO_REPLY:
      return ok({
        ...wire,
        kind: type === ICMPV4_TYPE.ECHO_REQUEST ? 'echoRequest' : 'echoReply',
        identifier: read16(buf, ICMPV4_FIELD.IDENTIFIER),
        sequence: read16(buf, ICMPV4_FIELD.SEQUENCE),
        data: body,
        quoted: undefined,
      });
    case ICMPV4_TYPE.DESTINATION_UNREACHABLE:
      return ok({
        ...wire,
        kind: 'destinationUnreachable',
        nextHopMtu: read16(buf, ICMPV4_FIELD.NEXT_HOP_MTU),
        quote: body,
        quoted: parseQuotedIpv4(body),
      });
    case ICMPV4_TYPE.TIME_EXCEEDED:
      return ok({ ...wire, kind: 'timeExceeded', quote: body, quoted: parseQuotedIpv4(body) });
    case ICMPV4_TYPE.REDIRECT:
      return ok({
        ...wire,
        kind: 'redirect',
        gateway: readIpv4(buf, ICMPV4_FIELD.GATEWAY),
        quote: body,
        quoted: parseQuotedIpv4(body),
      });
    default:
      return ok({ ...wire, kind: 'unknown', rest: buf.subarray(ICMPV4_FIELD.REST), quoted: undefined });
  }
}

export function icmpv4Len(repr: Icmpv4Repr): number {
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      return ICMPV4_HEADER_LEN + repr.data.length;
    case 'destinationUnreachable':
    case 'timeExceeded':
    case 'redirect':
      return ICMPV4_HEADER_LEN + repr.quote.length;
    case 'unknown':
      return ICMPV4_FIELD.REST + repr.rest.length;
  }
}

/** Writes the whole message at `offset`, checksum included, and returns its length. */
export function emitIcmpv4(repr: Icmpv4Repr, buf: Uint8Array, offset = 0): number {
  const len = icmpv4Len(repr);
  requireRoom(buf, offset, len, 'emitIcmpv4');
  if (repr.kind === 'unknown' && repr.rest.length < 4) throw new RangeError('emitIcmpv4: an unknown message needs at least 4 bytes of rest');
  buf.fill(0, offset, offset + ICMPV4_HEADER_LEN);
  switch (repr.kind) {
    case 'echoRequest':
    case 'echoReply':
      buf[offset] = repr.kind === 'echoRequest' ? ICMPV4_TYPE.ECHO_REQUEST : ICMPV4_TYPE.ECHO_REPLY;
      write16(buf, offset + ICMPV4_FIELD.IDENTIFIER, repr.identifier);
      write16(buf, offset + ICMPV4_FIELD.SEQUENCE, repr.sequence);
      buf.set(repr.data, offset + ICMPV4_FIELD.DATA);
      break;
    case 'destinationUnreachable':
      buf[offset] = ICMPV4_TYPE.DESTINATION_UNREACHABLE;
      buf[offset + 1] = repr.code;
      write16(buf, offset + ICMPV4_FIELD.NEXT_HOP_MTU, repr.nextHopMtu);
      buf.set(repr.quote, offset + ICMPV4_FIELD.DATA);
      break;
    case 'timeExceeded':
      buf[offset] = ICMPV4_TYPE.TIME_EXCEEDED;
      buf[offset + 1] = repr.code;
      buf.set(repr.quote, offset + ICMPV4_FIELD.DATA);
      break;
    case 'redirect':
      buf[offset] = ICMPV4_TYPE.REDIRECT;
      buf[offset + 1] = repr.code;
      writeIpv4(buf, offset + ICMPV4_FIELD.GATEWAY, repr.gateway);
      buf.set(repr.quote, offset + ICMPV4_FIELD.DATA);
      break;
    case 'unknown':
      buf[offset] = repr.type;
      buf[offset + 1] = repr.code;
      buf.set(repr.rest, offset + ICMPV4_FIELD.REST);
      break;
  }
  write16(buf, offset + ICMPV4_FIELD.CHECKSUM, internetChecksum(buf, offset, len));
  return len;
}
