// wire: the IPv6 fixed header (RFC 8200 §3) and a walk over its extension headers (§4) — parse; emit the fixed header.
//
// The stack does not speak IPv6 yet: this is for dissecting and steering. Not handled: Jumbograms
// beyond recognising a zero payload length with Hop-by-Hop (RFC 2675), reassembly, and anything
// inside ESP.

import { fail, ok, type Result, type WireError } from './result';
import { IPV6_LEN, readIpv6 } from './address';
import { read16, read32, requireRoom, write16, write32 } from './byteorder';

export const IPV6_HEADER_LEN = 40 as const;

export const IPV6_FIELD = {
  VER_TC_FLOW: 0,
  PAYLOAD_LENGTH: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
  PAYLOAD: 40,
} as const;

/** Next-header values that are extension headers (RFC 8200 §4, RFC 7045 §2 list) or end the chain. */
export const IPV6_NEXT_HEADER = {
  HOP_BY_HOP: 0,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AUTHENTICATION: 51,
  NO_NEXT_HEADER: 59,
  DESTINATION_OPTIONS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

export interface Ipv6Repr {
  /** DSCP (6 bits) and ECN (2 bits), RFC 8200 §7. */
  readonly trafficClass: number;
  /** 20 bits, RFC 6437. */
  readonly flowLabel: number;
  /** Bytes after the fixed header, extension headers included, as the header claims. */
  readonly payloadLength: number;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
}

interface ExtBase {
  /** The next-header value that announced this header. */
  readonly protocol: number;
  /** Offset of the header from the start of the parsed buffer. */
  readonly offset: number;
  /** Its length in bytes. */
  readonly length: number;
  /** The next header field inside it. */
  readonly nextHeader: number;
}

export type Ipv6ExtensionHeader =
  | (ExtBase & { readonly kind: 'hopByHop' | 'destinationOptions' | 'mobility' | 'hip' | 'shim6' })
  | (ExtBase & { readonly kind: 'routing'; readonly routingType: number; readonly segmentsLeft: number })
  | (ExtBase & {
      readonly kind: 'fragment';
      /** In bytes: the wire value times 8. */
      readonly fragmentOffset: number;
      readonly moreFragments: boolean;
      readonly identification: number;
    })
  | (ExtBase & { readonly kind: 'authentication'; readonly spi: number; readonly sequence: number });

export interface Ipv6Packet extends Ipv6Repr {
  readonly version: 6;
  readonly headerLen: typeof IPV6_HEADER_LEN;
  /** Everything after the fixed header up to the payload length, or to the end of a cut-short capture. */
  readonly payload: Uint8Array;
  /** True when the buffer ends before the payload length says. */
  readonly truncated: boolean;
  readonly extensionHeaders: readonly Ipv6ExtensionHeader[];
  /**
   * The protocol after the last extension header walked: TCP, UDP, ICMPv6…, 59 (no next header),
   * 50 (ESP, opaque), or the fragment's next header. When the walk stopped on an error it is the
   * next-header value that could not be walked.
   */
  readonly upperProtocol: number;
  /** Offset of the upper-layer header from the start of the parsed buffer. */
  readonly upperOffset: number;
  /** The upper-layer bytes (no copy). Empty after an error. */
  readonly upperPayload: Uint8Array;
  /**
   * True after a Fragment header with a non-zero offset: what follows is the middle of the
   * fragmented payload, not the upper-layer header (RFC 8200 §4.5).
   */
  readonly laterFragment: boolean;
  /** Why the walk stopped early, with the offset of the header's length field. The fixed header is still good. */
  readonly extensionError: WireError | undefined;
}

const NO_EXT: readonly Ipv6ExtensionHeader[] = Object.freeze([]);

function isWalkable(nh: number): boolean {
  return (
    nh === IPV6_NEXT_HEADER.HOP_BY_HOP ||
    nh === IPV6_NEXT_HEADER.ROUTING ||
    nh === IPV6_NEXT_HEADER.FRAGMENT ||
    nh === IPV6_NEXT_HEADER.AUTHENTICATION ||
    nh === IPV6_NEXT_HEADER.DESTINATION_OPTIONS ||
    nh === IPV6_NEXT_HEADER.MOBILITY ||
    nh === IPV6_NEXT_HEADER.HIP ||
    nh === IPV6_NEXT_HEADER.SHIM6
  );
}

/** Parses the fixed header and walks the extension headers of untrusted bytes. Addresses are copies. */
export function parseIpv6(buf: Uint8Array): Result<Ipv6Packet> {
  if (buf.length < 1) return fail('truncated', 0, 'IPv6 header needs 40 bytes, have 0');
  const version = buf[0] >>> 4;
  if (version !== 6) return fail('bad-version', IPV6_FIELD.VER_TC_FLOW, `IP version ${version}, want 6`);
  if (buf.length < IPV6_HEADER_LEN) {
    return fail('truncated', buf.length, `IPv6 header needs ${IPV6_HEADER_LEN} bytes, have ${buf.length}`);
  }
  const first = read32(buf, IPV6_FIELD.VER_TC_FLOW);
  const payloadLength = read16(buf, IPV6_FIELD.PAYLOAD_LENGTH);
  const nextHeader = buf[IPV6_FIELD.NEXT_HEADER];
  // RFC 2675 §3: a Jumbogram has payload length 0 and a Hop-by-Hop header; its real length is in an
  // option. We take the buffer's end as the payload's end instead of reading the option.
  const jumbo = payloadLength === 0 && nextHeader === IPV6_NEXT_HEADER.HOP_BY_HOP;
  const claimedEnd = jumbo ? buf.length : IPV6_HEADER_LEN + payloadLength;
  const truncated = claimedEnd > buf.length;
  const end = truncated ? buf.length : claimedEnd;

  let ext = NO_EXT;
  let nh = nextHeader;
  let at: number = IPV6_HEADER_LEN;
  let error: WireError | undefined;
  let laterFragment = false;
  while (isWalkable(nh) && !laterFragment) {
    // Every extension header starts with next header and a length byte (RFC 8200 §4; RFC 6564 for the uniform format).
    if (at + 2 > end) {
      error = extError(at, end, claimedEnd, nh, 2);
      break;
    }
    let length: number;
    if (nh === IPV6_NEXT_HEADER.FRAGMENT) length = 8; // §4.5: fixed 8 bytes; the second byte is reserved.
    else if (nh === IPV6_NEXT_HEADER.AUTHENTICATION) length = (buf[at + 1] + 2) * 4; // RFC 4302 §2.2: 4-byte units, minus 2.
    else length = (buf[at + 1] + 1) * 8; // §4.3–4.6: 8-byte units, not counting the first 8.
    if (at + length > end) {
      error = extError(at, end, claimedEnd, nh, length);
      break;
    }
    const base = { protocol: nh, offset: at, length, nextHeader: buf[at] };
    let header: Ipv6ExtensionHeader | undefined;
    switch (nh) {
      case IPV6_NEXT_HEADER.ROUTING:
        header = { ...base, kind: 'routing', routingType: buf[at + 2], segmentsLeft: buf[at + 3] };
        break;
      case IPV6_NEXT_HEADER.FRAGMENT: {
        const offM = read16(buf, at + 2);
        header = {
          ...base,
          kind: 'fragment',
          fragmentOffset: offM & 0xfff8,
          moreFragments: (offM & 1) === 1,
          identification: read32(buf, at + 4),
        };
        laterFragment = (offM & 0xfff8) !== 0;
        break;
      }
      case IPV6_NEXT_HEADER.AUTHENTICATION:
        if (length < 12) {
          // RFC 4302 §2: SPI and sequence number are mandatory, so the header is at least 12 bytes.
          error = { code: 'bad-header-length', offset: at + 1, message: `AH at offset ${at} is ${length} bytes; the minimum is 12` };
          break;
        }
        header = { ...base, kind: 'authentication', spi: read32(buf, at + 4), sequence: read32(buf, at + 8) };
        break;
      case IPV6_NEXT_HEADER.HOP_BY_HOP:
        header = { ...base, kind: 'hopByHop' };
        break;
      case IPV6_NEXT_HEADER.DESTINATION_OPTIONS:
        header = { ...base, kind: 'destinationOptions' };
        break;
      case IPV6_NEXT_HEADER.MOBILITY:
        header = { ...base, kind: 'mobility' };
        break;
      case IPV6_NEXT_HEADER.HIP:
        header = { ...base, kind: 'hip' };
        break;
      default:
        header = { ...base, kind: 'shim6' };
        break;
    }
    if (!header) break;
    if (ext === NO_EXT) ext = [];
    (ext as Ipv6ExtensionHeader[]).push(header);
    nh = buf[at];
    at += length;
  }
  return ok({
    version: 6,
    headerLen: IPV6_HEADER_LEN,
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: buf[IPV6_FIELD.HOP_LIMIT],
    src: readIpv6(buf, IPV6_FIELD.SRC),
    dst: readIpv6(buf, IPV6_FIELD.DST),
    payload: buf.subarray(IPV6_HEADER_LEN, end),
    truncated,
    extensionHeaders: ext,
    upperProtocol: nh,
    upperOffset: at,
    upperPayload: error ? buf.subarray(end, end) : buf.subarray(at, end),
    laterFragment,
    extensionError: error,
  });
}

/** Past the claimed payload length is a malformed header; past only the captured bytes is a cut-short capture. */
function extError(at: number, end: number, claimedEnd: number, nh: number, need: number): WireError {
  const pastClaim = at + need > claimedEnd;
  return {
    code: pastClaim ? 'bad-header-length' : 'truncated',
    offset: need <= 2 ? at : at + 1,
    message: pastClaim
      ? `extension header ${nh} at offset ${at} needs ${need} bytes, past the payload length's end at ${claimedEnd}`
      : `extension header ${nh} at offset ${at} needs ${need} bytes; the capture ends at ${end}`,
  };
}

export function ipv6HeaderLen(_repr?: Ipv6Repr): number {
  return IPV6_HEADER_LEN;
}

/** Writes the 40-byte fixed header at `offset` and returns 40. Extension headers and payload are the caller's. */
export function emitIpv6(repr: Ipv6Repr, buf: Uint8Array, offset = 0): number {
  requireRoom(buf, offset, IPV6_HEADER_LEN, 'emitIpv6');
  if (repr.src.length !== IPV6_LEN || repr.dst.length !== IPV6_LEN) throw new RangeError('emitIpv6: addresses are 16 bytes');
  write32(buf, offset, ((6 << 28) | ((repr.trafficClass & 0xff) << 20) | (repr.flowLabel & 0xfffff)) >>> 0);
  write16(buf, offset + IPV6_FIELD.PAYLOAD_LENGTH, repr.payloadLength);
  buf[offset + IPV6_FIELD.NEXT_HEADER] = repr.nextHeader;
  buf[offset + IPV6_FIELD.HOP_LIMIT] = repr.hopLimit;
  buf.set(repr.src, offset + IPV6_FIELD.SRC);
  buf.set(repr.dst, offset + IPV6_FIELD.DST);
  return IPV6_HEADER_LEN;
}

/** The representation part of a parsed packet. */
export function ipv6ReprOf(p: Ipv6Packet): Ipv6Repr {
  return {
    trafficClass: p.trafficClass,
    flowLabel: p.flowLabel,
    payloadLength: p.payloadLength,
    nextHeader: p.nextHeader,
    hopLimit: p.hopLimit,
    src: p.src,
    dst: p.dst,
  };
}
