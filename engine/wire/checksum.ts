// wire: the internet checksum (RFC 1071) with pseudo-headers and incremental update (RFC 1624).

/**
 * One's-complement sum of `len` bytes of `buf` from `offset`, added to `initial`, not folded and
 * not inverted. An odd trailing byte is padded with a zero byte (RFC 1071 §4.1).
 */
export function onesSum(buf: Uint8Array, offset: number, len: number, initial = 0): number {
  let sum = initial;
  const end = offset + len;
  let i = offset;
  // 32-bit accumulator: adding up to 32768 16-bit words cannot overflow 2^31, so fold every 16K words.
  while (i + 1 < end) {
    const stop = Math.min(end - 1, i + 32768);
    for (; i < stop; i += 2) sum += (buf[i] << 8) | buf[i + 1];
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** Fold a 32-bit one's-complement sum into 16 bits. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The internet checksum of a range: the inverted, folded one's-complement sum. */
export function internetChecksum(buf: Uint8Array, offset: number, len: number, initial = 0): number {
  return ~foldSum(onesSum(buf, offset, len, initial)) & 0xffff;
}

/** Sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768) for a transport checksum. Addresses are uint32. */
export function ipv4PseudoSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Sum of the IPv6 pseudo-header (RFC 8200 §8.1). Addresses are 16-byte arrays. */
export function ipv6PseudoSum(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  return onesSum(src, 0, 16, onesSum(dst, 0, 16)) + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit field changes from `oldWord` to `newWord`,
 * HC' = ~(~HC + ~m + m').
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/** RFC 1624 for a 32-bit field (an address or a sequence number): two 16-bit updates. */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  const c = updateChecksum16(checksum, oldValue >>> 16, newValue >>> 16);
  return updateChecksum16(c, oldValue & 0xffff, newValue & 0xffff);
}
