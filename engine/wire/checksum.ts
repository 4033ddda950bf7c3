// wire: the internet checksum (RFC 1071) with pseudo-headers and incremental update (RFC 1624).

/** Platform byte order: the word-at-a-time sum reads host-order words (RFC 1071 §2(B)). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Below this many bytes the 16-bit loop wins: the 32-bit path pays for a Uint32Array view first
 * (some 100 ns, and 100 bytes of garbage). Headers and short segments (a request/response's) take
 * the short loop, full-sized segments the long one.
 */
const WORDWISE_MIN = 256;

/** 32-bit words summed between folds: 2^20 words of at most 2^32 - 1 stay below 2^53, exact in a double. */
const WORD_STRIDE = 1 << 20;

/**
 * One's-complement sum of `len` bytes of `buf` from `offset`, added to `initial`, not folded to 16
 * bits and not inverted (below 2^32 while `initial` is small). An odd trailing byte is padded with
 * a zero byte (RFC 1071 §4.1).
 *
 * Long ranges are summed 32 bits at a time in host byte order, which RFC 1071 §2 allows: the sum is
 * independent of byte order up to one final swap (§2(B)), and of the word size used to add up
 * (§2(C), "parallel summation": the carries of the wider sum are folded back in at the end).
 */
export function onesSum(buf: Uint8Array, offset: number, len: number, initial = 0): number {
  if (len < WORDWISE_MIN) return onesSum16(buf, offset, len, initial);
  const at = buf.byteOffset + offset;
  if ((at & 1) !== 0) {
    // The segment's words straddle the host's even addresses: the first byte is the high half of
    // word 0, and the rest, summed on its own alignment, comes out byte-swapped (§2(B)).
    const rest = foldSum(onesSum(buf, offset + 1, len - 1));
    return initial + (buf[offset] << 8) + (((rest & 0xff) << 8) | (rest >>> 8));
  }
  let i = offset;
  const end = offset + len;
  let sum = initial;
  if ((at & 2) !== 0) {
    sum += (buf[i] << 8) | buf[i + 1];
    i += 2;
  }
  const words = (end - i) >>> 2;
  const w = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
  let host = 0;
  for (let k = 0; k < words; ) {
    const stop = Math.min(words, k + WORD_STRIDE);
    // Two accumulators and four words a step: fewer dependent adds for the CPU to wait on.
    let a = 0;
    let b = 0;
    for (const stop4 = k + ((stop - k) & ~3); k < stop4; k += 4) {
      a += w[k] + w[k + 1];
      b += w[k + 2] + w[k + 3];
    }
    for (; k < stop; k++) a += w[k];
    host += fold53(a + b);
  }
  host = foldSum(host);
  sum += LITTLE_ENDIAN ? ((host & 0xff) << 8) | (host >>> 8) : host;
  i += words * 4;
  if (i + 1 < end) {
    sum += (buf[i] << 8) | buf[i + 1];
    i += 2;
  }
  if (i < end) sum += buf[i] << 8;
  return sum;
}

/** A sum of 32-bit words below 2^53, folded to at most 18 bits: carries above bit 31 go back in at the bottom. */
function fold53(x: number): number {
  const lo = x % 0x1_0000_0000;
  const hi = (x - lo) / 0x1_0000_0000;
  return (lo >>> 16) + (lo & 0xffff) + hi;
}

/**
 * The 16-bit loop, for short ranges. The high and the low bytes of the words are summed apart and
 * put together once at the end (the same integer as summing the words): a word's shift and OR per
 * two bytes was most of the work.
 */
function onesSum16(buf: Uint8Array, offset: number, len: number, initial: number): number {
  let hi = 0;
  let lo = 0;
  const end = offset + len;
  let i = offset;
  for (const end8 = end - 7; i < end8; i += 8) {
    hi += buf[i] + buf[i + 2] + buf[i + 4] + buf[i + 6];
    lo += buf[i + 1] + buf[i + 3] + buf[i + 5] + buf[i + 7];
  }
  for (; i + 1 < end; i += 2) {
    hi += buf[i];
    lo += buf[i + 1];
  }
  if (i < end) hi += buf[i];
  return initial + hi * 256 + lo;
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

/** How a checksum left partial is reported (decode, the dissector's notes, replay's hops, the inspector). */
export const PARTIAL_CHECKSUM_TEXT = 'partial: left to the device (checksum offload)';

/**
 * Whether a TCP or UDP checksum field that does not verify holds the pseudo-header sum alone
 * (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1), folded to 16 bits and not inverted: what a sender
 * leaves for a device that completes checksums (Linux's CHECKSUM_PARTIAL, `~tcp_v4_check(len,
 * saddr, daddr, 0)`), and what tcpdump captures of a host with offloads show on its outgoing
 * packets. `pseudo` is ipv4PseudoSum/ipv6PseudoSum with the length the IP header gives. Only this
 * exact form counts: any other mismatch is a bad checksum.
 */
export function isPartialChecksum(field: number, pseudo: number): boolean {
  return field === foldSum(pseudo);
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
