// kernel: the real kernel path — the Linux kernel of the engine's namespace behind tap-host (the lab),
// as the NIC's kernel path. A frame steered to the kernel is written into tap-host; what the kernel
// sends comes back out of it and leaves through the NIC. The kernel's insides cannot be observed, so a
// packet's trace is what can be measured on the shared monotonic clock (performance.now()):
//
//   receive   nic.rx → steer → kernel.driver (the write into tap-host, measured)
//             → kernel.stack (one span: IP, TCP, the socket queue, the syscall)
//             → kernel.socket + app (measured: the kernel-side workload's read that returned the bytes)
//   transmit  app (the workload's write of the segment's first byte, measured) → kernel.stack (span)
//             → kernel.driver (the engine's read from tap-host, measured) → nic.tx
//
// A received TCP segment with data is matched to the read that returned its last byte by sequence
// number (the peer's ISN is seen in its SYN), a UDP datagram to the next read of its size; such a
// record stays open until then (at most HOLD_MS, then it closes at kernel.driver). Frames no workload
// socket reports on (ARP, ICMP, bare ACKs, other programs' sockets) end at kernel.driver.
import { performance } from 'node:perf_hooks'; // not the global: a lazy getter, a call per clock read
import type { Device } from '../backends/device';
import type { FrameSource } from '../backends/realtime';
import type { Scheduler, WorkloadHost } from '../workloads/api';
import { LinuxHost, type SocketObserver, type TcpEnds } from './real-host';
import type { KernelPath, KernelPathContext, KernelPathFactory } from './path';
import { ipv4ToString } from '../wire/address';
import { forwardOffload, txOffload, type RxOffload } from '../stack/offload';
import { release } from 'node:os';

/** How long a received packet's record waits for its socket read before it closes at kernel.driver. */
const HOLD_MS = 2000;
/** Records held at most per connection (a peer that floods a socket nobody reads). */
const MAX_HELD = 4096;

interface Held {
  readonly end: number;
  readonly id: number;
  readonly at: number;
}

/** What the path knows of one TCP connection of the kernel (local = the host). */
interface KernelFlow {
  /** The peer's and our initial sequence numbers, once their SYNs were seen. */
  irs: number | undefined;
  iss: number | undefined;
  /** Bytes the socket has returned to the application, and handed to it. */
  read: number;
  held: Held[];
  /** (stream offset just past the bytes of a write, when it was made), oldest first. */
  writes: { end: number; at: number }[];
  acked: number;
}

interface HeldDatagram {
  readonly key: string;
  readonly id: number;
  readonly at: number;
}

export interface RealKernelOptions {
  /** The engine's side of tap-host. */
  readonly device: Device & FrameSource;
  /** Where the device's fd is watched: the lab backend's driver. */
  readonly addSource: (source: FrameSource) => void;
}

export class RealKernelPath implements KernelPath, SocketObserver {
  readonly name: string;
  readonly hopKind = 'measured' as const;
  private readonly flows = new Map<string, KernelFlow>();
  private readonly udpHeld: HeldDatagram[] = [];
  private readonly udpWrites: { key: string; at: number }[] = [];
  private hostOf: LinuxHost | undefined;
  private nextExpiry: number | undefined;
  readonly counters = { written: 0, read: 0, heldMatched: 0, heldExpired: 0 };
  private readonly txOff = txOffload();

  constructor(
    private readonly ctx: KernelPathContext,
    private readonly device: Device & FrameSource,
  ) {
    this.name = `Linux ${release()} behind ${device.name}`;
    device.onReceive = (frame, now, _wireLen, rx) => this.fromKernel(frame, now, rx);
  }

  get callbackRounds(): number {
    return this.hostOf?.callbackRounds ?? 0;
  }

  host(timers: Scheduler): WorkloadHost {
    this.hostOf ??= new LinuxHost({ name: 'kernel', address: ipv4ToString(this.ctx.address), timers, observer: this });
    return this.hostOf;
  }

  /** The kernel-side host, once made. */
  get linuxHost(): LinuxHost | undefined {
    return this.hostOf;
  }

  // ───────────────────────── to the kernel ─────────────────────────

  receive(frame: Uint8Array, now: number, _wireLen?: number, rx?: RxOffload): void {
    const id = this.ctx.packetIds.next();
    // With offloads the frame goes into tap-host as it came out of tap-wire: a GSO frame whole, a partial checksum left so.
    const off = forwardOffload(rx, this.txOff);
    if (off === undefined) this.device.transmit(frame, now);
    else this.device.transmit(frame, now, off);
    const at = performance.now();
    this.counters.written++;
    const tr = this.ctx.trace;
    const held = this.holdFor(frame, id, at);
    tr.hop(id, 'rx', 'kernel.driver', 'measured', held ? 'pass' : 'deliver', undefined, at);
    if (held) {
      tr.hold(id);
      this.nextExpiry ??= now + HOLD_MS;
    }
  }

  /** Notes a frame whose delivery a workload socket will report; true when its record stays open. */
  private holdFor(f: Uint8Array, id: number, at: number): boolean {
    const ip = ipv4(f);
    if (ip < 0) return false;
    const proto = f[ip + 9];
    const l4 = ip + (f[ip] & 0x0f) * 4;
    const total = (f[ip + 2] << 8) | f[ip + 3];
    if (proto === 6 && f.length >= l4 + 20) {
      const src = u32(f, ip + 12);
      const sport = (f[l4] << 8) | f[l4 + 1];
      const dport = (f[l4 + 2] << 8) | f[l4 + 3];
      const seq = u32(f, l4 + 4);
      const ack = u32(f, l4 + 8);
      const flags = f[l4 + 13];
      const key = flowKey(dport, src, sport);
      let flow = this.flows.get(key);
      if (flags & 0x02) {
        // SYN: the peer's ISN; a new connection on these ends replaces an old one.
        if (!(flags & 0x10) || flow === undefined) {
          flow = { irs: undefined, iss: undefined, read: 0, held: [], writes: [], acked: 0 };
          this.flows.set(key, flow);
        }
        flow.irs = seq;
        return false;
      }
      if (flow === undefined || flow.irs === undefined) return false;
      if (flags & 0x10 && flow.iss !== undefined) flow.acked = Math.max(flow.acked, unwrap(ack - flow.iss - 1, flow.acked));
      this.pruneWrites(flow);
      const len = Math.min(total, f.length - ip) - (l4 - ip) - (f[l4 + 12] >> 4) * 4;
      if (len <= 0 || this.hostOf === undefined) return false;
      const end = unwrap(seq - flow.irs - 1 + len, flow.read);
      if (end <= flow.read || flow.held.length >= MAX_HELD) return false;
      // Kept in order of `end` (a segment filling a hole arrives after those past it).
      let i = flow.held.length;
      while (i > 0 && flow.held[i - 1].end > end) i--;
      flow.held.splice(i, 0, { end, id, at });
      return true;
    }
    if (proto === 17 && f.length >= l4 + 8 && this.hostOf !== undefined && ((f[ip + 6] & 0x3f) | f[ip + 7]) === 0) {
      const len = ((f[l4 + 4] << 8) | f[l4 + 5]) - 8;
      const key = `${(f[l4 + 2] << 8) | f[l4 + 3]}:${u32(f, ip + 12)}:${(f[l4] << 8) | f[l4 + 1]}:${len}`;
      if (this.udpHeld.length >= MAX_HELD) return false;
      this.udpHeld.push({ key, id, at });
      return true;
    }
    return false;
  }

  // ───────────────────────── what the kernel-side sockets report ─────────────────────────

  tcpRead(ends: TcpEnds, total: number, atMs: number): void {
    const flow = this.flows.get(flowKey(ends.localPort, ends.remoteAddress, ends.remotePort));
    if (flow === undefined) return;
    flow.read = total;
    let n = 0;
    while (n < flow.held.length && flow.held[n].end <= total) this.delivered(flow.held[n++].id, atMs);
    if (n > 0) flow.held.splice(0, n);
  }

  tcpWrite(ends: TcpEnds, total: number, atMs: number): void {
    let flow = this.flows.get(flowKey(ends.localPort, ends.remoteAddress, ends.remotePort));
    if (flow === undefined) {
      // A connection the kernel opened: its SYN (our ISN) is seen on the way out.
      flow = { irs: undefined, iss: undefined, read: 0, held: [], writes: [], acked: 0 };
      this.flows.set(flowKey(ends.localPort, ends.remoteAddress, ends.remotePort), flow);
    }
    flow.writes.push({ end: total, at: atMs });
  }

  tcpClosed(ends: TcpEnds): void {
    const key = flowKey(ends.localPort, ends.remoteAddress, ends.remotePort);
    const flow = this.flows.get(key);
    if (flow === undefined) return;
    for (const h of flow.held) this.ctx.trace.finish(h.id);
    this.flows.delete(key);
  }

  udpRead(localPort: number, remoteAddress: number, remotePort: number, length: number, atMs: number): void {
    const key = `${localPort}:${remoteAddress}:${remotePort}:${length}`;
    const i = this.udpHeld.findIndex((h) => h.key === key);
    if (i < 0) return;
    const [h] = this.udpHeld.splice(i, 1);
    this.delivered(h.id, atMs);
  }

  udpWrite(localPort: number, remoteAddress: number, remotePort: number, length: number, atMs: number): void {
    if (this.udpWrites.length >= MAX_HELD) this.udpWrites.shift();
    this.udpWrites.push({ key: `${localPort}:${remoteAddress}:${remotePort}:${length}`, at: atMs });
  }

  private delivered(id: number, atMs: number): void {
    const tr = this.ctx.trace;
    tr.hop(id, 'rx', 'kernel.stack', 'span', 'pass', undefined, atMs);
    tr.hop(id, 'rx', 'kernel.socket', 'measured', 'pass', undefined, atMs);
    tr.hop(id, 'rx', 'app', 'measured', 'deliver', undefined, atMs);
    tr.finish(id);
    this.counters.heldMatched++;
  }

  // ───────────────────────── from the kernel ─────────────────────────

  private fromKernel(frame: Uint8Array, now: number, rx: RxOffload | undefined): void {
    const at = performance.now();
    this.counters.read++;
    const id = this.ctx.packetIds.next();
    const tr = this.ctx.trace;
    const wrote = this.writeTimeOf(frame);
    if (wrote !== undefined) {
      tr.hop(id, 'tx', 'app', 'measured', 'pass', undefined, Math.min(wrote, at));
      tr.hop(id, 'tx', 'kernel.stack', 'span', 'pass', undefined, at);
    }
    tr.hop(id, 'tx', 'kernel.driver', 'measured', 'pass', undefined, at);
    const off = forwardOffload(rx, this.txOff);
    if (off === undefined) this.ctx.port.transmit(frame, now);
    else this.ctx.port.transmit(frame, now, off);
  }

  /** When the application wrote the first byte of a TCP segment (or the UDP datagram) the kernel sends, if known. */
  private writeTimeOf(f: Uint8Array): number | undefined {
    const ip = ipv4(f);
    if (ip < 0) return undefined;
    const proto = f[ip + 9];
    const l4 = ip + (f[ip] & 0x0f) * 4;
    if (proto === 6 && f.length >= l4 + 20) {
      const sport = (f[l4] << 8) | f[l4 + 1];
      const dst = u32(f, ip + 16);
      const dport = (f[l4 + 2] << 8) | f[l4 + 3];
      const seq = u32(f, l4 + 4);
      const flags = f[l4 + 13];
      const key = flowKey(sport, dst, dport);
      let flow = this.flows.get(key);
      if (flags & 0x02) {
        if (flow === undefined) {
          flow = { irs: undefined, iss: undefined, read: 0, held: [], writes: [], acked: 0 };
          this.flows.set(key, flow);
        }
        flow.iss = seq;
        return undefined;
      }
      if (flow === undefined || flow.iss === undefined || flow.writes.length === 0) return undefined;
      const total = (f[ip + 2] << 8) | f[ip + 3];
      const len = Math.min(total, f.length - ip) - (l4 - ip) - (f[l4 + 12] >> 4) * 4;
      if (len <= 0) return undefined;
      const start = unwrap(seq - flow.iss - 1, flow.acked);
      // The first write whose bytes reach past `start`.
      const w = flow.writes;
      let lo = 0;
      let hi = w.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (w[mid].end <= start) lo = mid + 1;
        else hi = mid;
      }
      return lo < w.length ? w[lo].at : undefined;
    }
    if (proto === 17 && f.length >= l4 + 8) {
      const key = `${(f[l4] << 8) | f[l4 + 1]}:${u32(f, ip + 16)}:${(f[l4 + 2] << 8) | f[l4 + 3]}:${((f[l4 + 4] << 8) | f[l4 + 5]) - 8}`;
      const i = this.udpWrites.findIndex((w) => w.key === key);
      if (i < 0) return undefined;
      return this.udpWrites.splice(i, 1)[0].at;
    }
    return undefined;
  }

  private pruneWrites(flow: KernelFlow): void {
    let n = 0;
    while (n < flow.writes.length - 1 && flow.writes[n].end <= flow.acked) n++;
    if (n > 64) flow.writes.splice(0, n);
  }

  // ───────────────────────── driving ─────────────────────────

  /** Records whose socket never reported within HOLD_MS close at kernel.driver. */
  poll(now: number): void {
    if (this.nextExpiry === undefined || now < this.nextExpiry) return;
    const limit = performance.now() - HOLD_MS;
    let oldest = Infinity;
    for (const flow of this.flows.values()) {
      // Held in stream order, not age order: expire by age wherever they are.
      if (flow.held.some((h) => h.at <= limit)) {
        const keep: Held[] = [];
        for (const h of flow.held) {
          if (h.at <= limit) this.expire(h.id);
          else keep.push(h);
        }
        flow.held = keep;
      }
      for (const h of flow.held) oldest = Math.min(oldest, h.at);
    }
    for (let i = this.udpHeld.length - 1; i >= 0; i--) {
      const h = this.udpHeld[i];
      if (h.at <= limit) {
        this.expire(h.id);
        this.udpHeld.splice(i, 1);
      } else oldest = Math.min(oldest, h.at);
    }
    this.nextExpiry = oldest === Infinity ? undefined : now + (oldest + HOLD_MS - performance.now());
  }

  private expire(id: number): void {
    this.counters.heldExpired++;
    this.ctx.trace.finish(id);
  }

  pollAt(): number | undefined {
    return this.nextExpiry;
  }

  /** Closes the kernel-side host's sockets; the lab closes the device. */
  close(): void {
    this.hostOf?.close();
    for (const flow of this.flows.values()) for (const h of flow.held) this.ctx.trace.finish(h.id);
    this.flows.clear();
  }
}

/** The kernel path for the lab (and a tap backend with a host device): the kernel behind `device`. */
export function realKernel(options: RealKernelOptions): KernelPathFactory {
  return (ctx) => {
    const path = new RealKernelPath(ctx, options.device);
    options.addSource(options.device);
    return path;
  };
}

function flowKey(localPort: number, remoteAddress: number, remotePort: number): string {
  return `${localPort}:${remoteAddress}:${remotePort}`;
}

/** Offset of the IPv4 header of an Ethernet frame (untagged), or -1. */
function ipv4(f: Uint8Array): number {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00 || f[14] >> 4 !== 4) return -1;
  return 14;
}

function u32(f: Uint8Array, o: number): number {
  return ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;
}

/** A 32-bit stream offset as the 64-bit one nearest to `near`. */
function unwrap(rel32: number, near: number): number {
  const r = rel32 >>> 0;
  const base = near - (near % 2 ** 32);
  let v = base + r;
  if (v - near > 2 ** 31) v -= 2 ** 32;
  else if (near - v > 2 ** 31) v += 2 ** 32;
  return Math.max(0, v);
}
