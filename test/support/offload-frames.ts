// test support: frames whose TCP/UDP checksum is left partial for a device with checksum offload
// (the field holds the pseudo-header sum only, folded and not inverted) — made from any correct
// frame by our own code, and two copied byte for byte from a lab capture with offloads on
// (`bypass-scope capture --backend lab --out`, Linux 6.18 in the peer namespace sending into tap-wire).
import { foldSum, ipv4PseudoSum, ipv6PseudoSum } from '../../engine/wire/checksum';

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

/** Linux's SYN 198.18.0.1:37206 > 198.18.0.2:8080 as the lab's TAP carried it: TCP checksum 0x8c56, partial. */
export const LAB_LINUX_SYN = hex(
  '02425300000202425300000108004500003cafba40004006fed9c6120001c612000291561f90dbf042de00000000a002faf08c560000020405b40402080adcb99afb000000000103030a',
);

/** Linux's udp-feed datagram 198.18.0.1:53855 > 198.18.0.2:20001 (64 bytes of data): UDP checksum 0x8c81, partial. */
export const LAB_LINUX_UDP = hex(
  '02425300000202425300000108004500005c8c05400040112264c6120001c6120002d25f4e2100488c8100000000969fb01d69378e9ad771d906f85af859099b6b366804d3aa12aa3f51dd046f3c8cfed091e731ef8dd2294eada121367473e9aa84dfac073708ca8a4b',
);

/** Where the TCP/UDP checksum field of an Ethernet frame (IPv4, or IPv6 without extension headers) is, and the pseudo-header sum it is over. */
export function checksumField(f: Uint8Array): { at: number; pseudo: number } {
  const v6 = f[12] === 0x86 && f[13] === 0xdd;
  const l4 = v6 ? 54 : 14 + (f[14] & 0x0f) * 4;
  const proto = v6 ? f[20] : f[23];
  const len = v6 ? (f[18] << 8) | f[19] : ((f[16] << 8) | f[17]) - (l4 - 14);
  if (proto !== 6 && proto !== 17) throw new Error(`not TCP or UDP: protocol ${proto}`);
  const pseudo = v6 ? ipv6PseudoSum(f.subarray(22, 38), f.subarray(38, 54), proto, len) : ipv4PseudoSum(read32(f, 26), read32(f, 30), proto, len);
  return { at: l4 + (proto === 6 ? 16 : 6), pseudo };
}

/** A copy of a correct frame with its TCP/UDP checksum left partial, as a stack hands it to a device with checksum offload. */
export function withPartialChecksum(frame: Uint8Array): Uint8Array {
  const f = frame.slice();
  const { at, pseudo } = checksumField(f);
  const s = foldSum(pseudo);
  f[at] = s >>> 8;
  f[at + 1] = s & 0xff;
  return f;
}

/** A copy with one bit of the TCP/UDP checksum field flipped (bit 0 is the field's lowest). */
export function flipChecksumBit(frame: Uint8Array, bit: number): Uint8Array {
  const f = frame.slice();
  const { at } = checksumField(f);
  if (bit < 8) f[at + 1] ^= 1 << bit;
  else f[at] ^= 1 << (bit - 8);
  return f;
}

function read32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}
