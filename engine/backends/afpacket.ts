// backends: the `afpacket` device — an AF_PACKET socket on an existing interface as a Device: frames
// arrive through recvmmsg in batches and leave through sendmmsg, with the rules' classic BPF run in
// the kernel (SO_ATTACH_FILTER) so that only the frames the engine wants cross into it.
//
// AF_PACKET sees a copy of each frame; it does not take frames from the kernel, which still handles
// everything itself. So the bypass stack needs an address of its own on the segment (the kernel
// ignores packets for an address it does not have and never answers ARP for it), and the kernel path
// is the kernel as it is. Frames the kernel sent with CHECKSUM_PARTIAL (veth, offloading NICs) carry
// an unfinished TCP/UDP checksum, flagged by PACKET_AUXDATA: it is completed here, as the NIC would,
// before any stack sees the frame. A VLAN tag the device stripped is put back. A packet the kernel
// coalesced or has not yet segmented (GRO/GSO, up to 64 KiB) arrives whole, as one larger frame.
import { interfaceMtu, PacketSocket, RxFlag, type SockFilterInsn } from '../../native/index';
import { internetChecksum, ipv4PseudoSum } from '../wire/checksum';
import type { Device, FrameHandler } from './device';
import type { FrameSource } from './realtime';

export interface AfPacketOptions {
  /** A cBPF program (accept: non-zero) run by the kernel on every frame before it reaches the engine. */
  readonly filter?: readonly SockFilterInsn[];
  /** Receive frames for other MACs too (the bypass stack's own MAC on a real NIC). */
  readonly promiscuous?: boolean;
  readonly batch?: number;
}

export class AfPacketDevice implements Device, FrameSource {
  onReceive: FrameHandler | undefined;
  readonly name: string;
  readonly mtu: number;
  readonly counters = { rxFrames: 0, rxBytes: 0, checksumsCompleted: 0, vlanRestored: 0, truncated: 0, txFrames: 0 };
  private readonly socket: PacketSocket;
  private readonly vlanBuf = new Uint8Array(65536 + 64 + 4);

  constructor(ifname: string, options: AfPacketOptions = {}) {
    this.name = ifname;
    this.mtu = interfaceMtu(ifname) ?? 1500;
    // Receive buffers hold a whole GSO/GRO packet (up to 64 KiB on veth and offloading NICs): the
    // kernel hands AF_PACKET such a packet as one frame, and the stack takes it as one segment.
    this.socket = new PacketSocket({ ifname, filter: options.filter, promiscuous: options.promiscuous, batch: options.batch, frameSize: 65536 + 64 });
  }

  get fd(): number {
    return this.socket.fd;
  }

  /** Frames the kernel refused to send (queue full, link down). */
  get txDropped(): number {
    return this.socket.txDropped;
  }

  /** Replaces the kernel filter (after a rules reload). */
  setFilter(program: readonly SockFilterInsn[]): void {
    this.socket.attachFilter(program);
  }

  drain(now: number, max: number): number {
    const s = this.socket;
    const n = s.receive(max);
    for (let i = 0; i < n; i++) {
      let frame = s.rxBuffers[i].subarray(0, s.rxLengths[i]);
      const flags = s.rxFlags[i];
      if (flags & RxFlag.TRUNCATED) this.counters.truncated++;
      if (flags & RxFlag.VLAN && frame.length >= 14 && frame.length + 4 <= this.vlanBuf.length) {
        // 802.1Q: the tag goes back between the source MAC and the EtherType.
        const b = this.vlanBuf;
        b.set(frame.subarray(0, 12), 0);
        b[12] = s.rxVlanTpid[i] >> 8;
        b[13] = s.rxVlanTpid[i] & 0xff;
        b[14] = s.rxVlanTci[i] >> 8;
        b[15] = s.rxVlanTci[i] & 0xff;
        b.set(frame.subarray(12), 16);
        frame = b.subarray(0, frame.length + 4);
        this.counters.vlanRestored++;
      }
      if (flags & RxFlag.CSUM_NOT_READY && completeChecksum(frame)) this.counters.checksumsCompleted++;
      this.counters.rxFrames++;
      this.counters.rxBytes += frame.length;
      this.onReceive?.(frame, now);
    }
    return n;
  }

  transmit(frame: Uint8Array): void {
    this.counters.txFrames++;
    this.socket.queue(frame);
  }

  flush(): void {
    if (this.socket.queued > 0) this.socket.flush();
  }

  poll(): void {}

  pollAt(): number | undefined {
    return undefined;
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Writes the full TCP or UDP checksum of an untagged IPv4 frame whose checksum was left partial
 * (RFC 793 §3.1 / RFC 768: over the pseudo-header and the whole segment). False when it is neither.
 */
export function completeChecksum(f: Uint8Array): boolean {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00 || f[14] >> 4 !== 4) return false;
  const ihl = (f[14] & 0x0f) * 4;
  const total = (f[16] << 8) | f[17];
  if (((f[20] & 0x3f) | f[21]) !== 0) return false; // a fragment: no whole segment here
  const proto = f[23];
  const l4 = 14 + ihl;
  const len = Math.min(total, f.length - 14) - ihl;
  const at = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : -1;
  if (at < 0 || len < (proto === 6 ? 20 : 8)) return false;
  const src = ((f[26] << 24) | (f[27] << 16) | (f[28] << 8) | f[29]) >>> 0;
  const dst = ((f[30] << 24) | (f[31] << 16) | (f[32] << 8) | f[33]) >>> 0;
  f[at] = 0;
  f[at + 1] = 0;
  let c = internetChecksum(f, l4, len, ipv4PseudoSum(src, dst, proto, len));
  if (proto === 17 && c === 0) c = 0xffff; // RFC 768: a computed zero is sent as all ones
  f[at] = c >> 8;
  f[at + 1] = c & 0xff;
  return true;
}
