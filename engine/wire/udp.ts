// wire: UDP header — a view over bytes and a plain representation (RFC 768; IPv6 rules from RFC 8200 §8.1).

import { read16, write16 } from './byteorder';
import { fail, ok, type Result } from './result';
import type { ChecksumContext } from './ip-context';
import { copyBytes } from './views';
import { foldSum, internetChecksum, ipv4PseudoSum, ipv6PseudoSum, isPartialChecksum, onesSum } from './checksum';

export const UDP_HEADER_LEN = 8;
/** IP protocol number, for the pseudo-header. */
export const IPPROTO_UDP = 17;

/** Byte offsets of the header fields (RFC 768, "Format"). */
export const UDP_FIELD = {
  SRC_PORT: 0,
  DST_PORT: 2,
  LENGTH: 4,
  CHECKSUM: 6,
} as const;

/** What a UDP datagram means. */
export interface UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** A parsed datagram: the representation plus what only the wire knows. */
export interface UdpPacket extends UdpRepr {
  /** The length field as on the wire: header plus payload. */
  readonly length: number;
  readonly checksum: number;
  /**
   * true/false when a ChecksumContext was given and the datagram is complete; undefined when no
   * context was given, when an IPv4 sender sent no checksum (field 0, RFC 768), or when the
   * datagram is truncated (the bytes the checksum covers are not all here).
   */
  readonly checksumValid: boolean | undefined;
  /**
   * The checksum does not verify, but the field holds exactly the pseudo-header sum: left for a
   * device to complete (checksum offload, isPartialChecksum), not damage. False otherwise.
   */
  readonly checksumPartial: boolean;
  /** The length field says more than the buffer holds: a capture cut short. `payload` is what is here. */
  readonly truncated: boolean;
}

function pseudoSum(ctx: ChecksumContext, length: number): number {
  return ctx.version === 4
    ? ipv4PseudoSum(ctx.src, ctx.dst, IPPROTO_UDP, length)
    : ipv6PseudoSum(ctx.src, ctx.dst, IPPROTO_UDP, length);
}

/** The UDP header is always 8 bytes; the argument is there to match the other `*HeaderLen` helpers. */
export function udpHeaderLen(_repr?: UdpRepr): number {
  return UDP_HEADER_LEN;
}

/** Bytes `emitUdp` writes for `repr`. */
export function udpBufferLen(repr: UdpRepr): number {
  return UDP_HEADER_LEN + repr.payload.length;
}

/**
 * Parse a UDP datagram; `buf` is the IP payload. The length field decides where the payload ends:
 * bytes after it (link-layer padding) are ignored, and a length field larger than the buffer marks
 * the packet `truncated` instead of failing, so a cut-short capture still decodes. The pseudo-header
 * length is the UDP length field (RFC 768). Error offsets are relative to the start of the header.
 */
export function parseUdp(buf: Uint8Array, ctx?: ChecksumContext): Result<UdpPacket> {
  if (buf.length < UDP_HEADER_LEN) {
    return fail('truncated', buf.length, `UDP header needs ${UDP_HEADER_LEN} bytes, got ${buf.length}`);
  }
  const length = read16(buf, UDP_FIELD.LENGTH);
  if (length < UDP_HEADER_LEN) {
    // Includes 0, which only an IPv6 jumbogram may carry (RFC 2675) — not supported here.
    return fail('bad-length', UDP_FIELD.LENGTH, `UDP length ${length} is less than the ${UDP_HEADER_LEN}-byte header`);
  }
  const checksum = read16(buf, UDP_FIELD.CHECKSUM);
  const truncated = length > buf.length;
  const end = truncated ? buf.length : length;

  let checksumValid: boolean | undefined;
  let checksumPartial = false;
  if (ctx !== undefined && !truncated) {
    if (checksum === 0) {
      // IPv4: zero means the sender computed none (RFC 768). IPv6: the checksum is mandatory and a
      // zero one is an error (RFC 8200 §8.1; the RFC 6935 tunnel exception is not supported).
      checksumValid = ctx.version === 4 ? undefined : false;
    } else {
      const pseudo = pseudoSum(ctx, length);
      checksumValid = foldSum(onesSum(buf, 0, length, pseudo)) === 0xffff;
      checksumPartial = !checksumValid && isPartialChecksum(checksum, pseudo);
    }
  }
  const packet: UdpPacket = {
    srcPort: read16(buf, UDP_FIELD.SRC_PORT),
    dstPort: read16(buf, UDP_FIELD.DST_PORT),
    payload: buf.subarray(UDP_HEADER_LEN, end),
    length,
    checksum,
    checksumValid,
    checksumPartial,
    truncated,
  };
  return ok(packet);
}

/**
 * Write `repr` at `buf[offset]` and return the bytes written. With `ctx` the checksum is computed,
 * and a computed 0 is sent as 0xffff (RFC 768; RFC 8200 §8.1), since 0 means "none" on IPv4.
 * Without `ctx` the field is 0: no checksum on IPv4, or one to be filled in later (offload).
 * A payload already in place may be given: it stays as it is. A datagram over 65535 bytes or a
 * buffer too small is a programmer error.
 */
export function emitUdp(repr: UdpRepr, buf: Uint8Array, offset: number, ctx?: ChecksumContext): number {
  const payload = repr.payload;
  const total = UDP_HEADER_LEN + payload.length;
  if (total > 0xffff) throw new RangeError(`UDP datagram of ${total} bytes exceeds the 16-bit length field`);
  if (offset < 0 || offset + total > buf.length) {
    throw new RangeError(`UDP datagram of ${total} bytes does not fit at offset ${offset} of a ${buf.length}-byte buffer`);
  }
  const b = buf;
  const o = offset;
  write16(b, o + UDP_FIELD.SRC_PORT, repr.srcPort);
  write16(b, o + UDP_FIELD.DST_PORT, repr.dstPort);
  write16(b, o + UDP_FIELD.LENGTH, total);
  b[o + UDP_FIELD.CHECKSUM] = 0;
  b[o + UDP_FIELD.CHECKSUM + 1] = 0;
  const start = o + UDP_HEADER_LEN;
  // A payload already in place is copied onto itself (see emitTcp).
  if (payload.length > 0) copyBytes(b, payload, start);
  if (ctx !== undefined) {
    const sum = internetChecksum(b, o, total, pseudoSum(ctx, total));
    write16(b, o + UDP_FIELD.CHECKSUM, sum === 0 ? 0xffff : sum);
  }
  return total;
}

/**
 * A UDP header in place: big-endian getters and setters over `buf` at `offset`, no copying.
 * `UdpHeaderView.check` is the constructor for untrusted bytes; `new` trusts its caller.
 */
export class UdpHeaderView {
  constructor(
    readonly buf: Uint8Array,
    readonly offset = 0,
  ) {}

  /** A view over untrusted bytes: 8 bytes present and a length field of at least 8. */
  static check(buf: Uint8Array, offset = 0): Result<UdpHeaderView> {
    const avail = buf.length - offset;
    if (offset < 0 || avail < UDP_HEADER_LEN) {
      return fail('truncated', Math.max(avail, 0), `UDP header needs ${UDP_HEADER_LEN} bytes, got ${Math.max(avail, 0)}`);
    }
    const length = read16(buf, offset + UDP_FIELD.LENGTH);
    if (length < UDP_HEADER_LEN) return fail('bad-length', UDP_FIELD.LENGTH, `UDP length ${length} is less than 8`);
    return ok(new UdpHeaderView(buf, offset));
  }

  get srcPort(): number {
    return read16(this.buf, this.offset + UDP_FIELD.SRC_PORT);
  }
  set srcPort(v: number) {
    write16(this.buf, this.offset + UDP_FIELD.SRC_PORT, v);
  }
  get dstPort(): number {
    return read16(this.buf, this.offset + UDP_FIELD.DST_PORT);
  }
  set dstPort(v: number) {
    write16(this.buf, this.offset + UDP_FIELD.DST_PORT, v);
  }
  get length(): number {
    return read16(this.buf, this.offset + UDP_FIELD.LENGTH);
  }
  set length(v: number) {
    write16(this.buf, this.offset + UDP_FIELD.LENGTH, v);
  }
  get checksum(): number {
    return read16(this.buf, this.offset + UDP_FIELD.CHECKSUM);
  }
  /** Patch the checksum, e.g. with `updateChecksum16/32` after changing a field (RFC 1624). */
  set checksum(v: number) {
    write16(this.buf, this.offset + UDP_FIELD.CHECKSUM, v);
  }

  /** Compute and store the checksum over the `length` field's bytes; a computed 0 is sent as 0xffff (RFC 768). */
  fillChecksum(ctx: ChecksumContext): void {
    const len = this.length;
    if (len < UDP_HEADER_LEN || this.offset + len > this.buf.length) {
      throw new RangeError(`UDP length ${len} does not fit the buffer`);
    }
    this.checksum = 0;
    const sum = internetChecksum(this.buf, this.offset, len, pseudoSum(ctx, len));
    this.checksum = sum === 0 ? 0xffff : sum;
  }
}
