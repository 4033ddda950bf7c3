// backends: the `tap` device — one TAP device (IFF_TAP | IFF_NO_PI) as a Device: frames the kernel
// side sends are read (non-blocking, up to a batch per wake-up) straight into one engine buffer and
// handed on, valid during the call; frames given to `transmit` are written one per write(), which
// copies them into the kernel. TAP without IFF_VNET_HDR carries complete checksums both ways.
//
// With `offloads` (native/tap.ts) every frame has a virtio_net_hdr in front: the device reads GSO
// super-frames of up to 64 KiB and says so, and whether their checksum is partial or was checked,
// in an RxOffload; it writes what the stack's TxOffload asks (a checksum to complete, TSO with a
// piece size) into the header of the frame it sends. The stack builds each frame in a buffer the
// device lends (`frameBuffer`), right behind the header's room, so a frame is written with its
// header in one write() and never copied in JavaScript.
import {
  emptyVnetHeader,
  interfaceMtu,
  libc,
  openTap,
  readVnetHeader,
  TapIo,
  VNET_HDR_LEN,
  VnetFlag,
  VnetGso,
  writeVnetHeader,
  type TapHandle,
} from '../../native/index';
import { rxOffload, type LinkOffloads, type TxOffload } from '../stack/offload';
import { SubarrayCache } from '../wire/views';
import type { Device, FrameHandler } from './device';
import type { FrameSource } from './realtime';

export interface TapDeviceCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames the device refused (queue full, link down): dropped, as a NIC's full ring does. */
  txDropped: number;
  /** Offloads: GSO super-frames read, and TSO frames written. */
  rxGso: number;
  txTso: number;
  /** Offloads: frames read with a partial checksum (NEEDS_CSUM) or one the kernel checked (DATA_VALID). */
  rxChecksumPartial: number;
  rxChecksumValid: number;
}

export interface TapDeviceOptions {
  /** Create the device if it does not exist (needs CAP_NET_ADMIN). */
  readonly create?: boolean;
  readonly mtu?: number;
  /** The virtio-net header with checksum offload and TSO/GSO both ways. */
  readonly offloads?: boolean;
}

/** Largest IPv4 packet one TSO frame may carry (the IP total length field's limit). */
const TSO_MAX_BYTES = 65535;
/** Ethernet header, a VLAN tag's room, and the largest IPv4 packet. */
const MAX_FRAME = 14 + 4 + 65535;

export class TapDevice implements Device, FrameSource {
  onReceive: FrameHandler | undefined;
  readonly counters: TapDeviceCounters = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0, rxGso: 0, txTso: 0, rxChecksumPartial: 0, rxChecksumValid: 0 };
  readonly fd: number;
  readonly offloads: LinkOffloads | undefined;
  private readonly io: TapIo;
  /** Bytes before the frame in every read and write: the virtio_net_hdr, or none. */
  private readonly head: number;
  /**
   * Large enough for any frame the kernel side may send (a GSO frame with offloads). A plain
   * Uint8Array, not a Buffer: the wire code copies with `slice`, which on a Buffer makes a view.
   */
  private readonly rxBuf: Uint8Array;
  /** The header (with offloads) and frame of the next write; frames are built in it at `head` (frameBuffer). */
  private readonly txBuf: Uint8Array;
  private lent: Uint8Array | undefined = undefined;
  /** Offloads: where a frame is written from while `lent` is out (made on first need). */
  private scratchBuf: Uint8Array | undefined = undefined;
  /** The views of rxBuf frames are handed in, and of txBuf frames are built in: a frame as long as the last is the same view. */
  private readonly rxViews = new SubarrayCache();
  private readonly txViews = new SubarrayCache();
  private readonly rxHdr = emptyVnetHeader();
  private readonly txHdr = emptyVnetHeader();
  private readonly rx = rxOffload();
  private closed = false;

  constructor(
    private readonly handle: TapHandle,
    readonly mtu: number,
  ) {
    this.fd = handle.fd;
    this.io = new TapIo(handle.fd);
    this.head = handle.vnetHeader ? VNET_HDR_LEN : 0;
    this.rxBuf = new Uint8Array(this.head + MAX_FRAME);
    this.txBuf = new Uint8Array(this.head + MAX_FRAME);
    this.offloads = handle.vnetHeader ? { txChecksum: true, tsoMaxBytes: TSO_MAX_BYTES } : undefined;
  }

  /** Attaches to an existing TAP device (persistent, owned by this user), or creates one with `create` (needs CAP_NET_ADMIN). */
  static open(name: string, options: TapDeviceOptions = {}): TapDevice {
    const handle = openTap(name, { create: options.create, offloads: options.offloads });
    return new TapDevice(handle, options.mtu ?? interfaceMtu(handle.name) ?? 1500);
  }

  get name(): string {
    return this.handle.name;
  }

  /** Room for the next frame (with offloads, right behind its header's), so that `transmit` writes it without a copy. */
  frameBuffer(len: number): Uint8Array {
    if (len > MAX_FRAME) return new Uint8Array(len);
    this.lent = this.txViews.subarray(this.txBuf, this.head, this.head + len);
    return this.lent;
  }

  transmit(frame: Uint8Array, _now?: number, offload?: TxOffload): void {
    if (this.closed) return;
    let ok: boolean;
    if (this.head === 0) {
      ok = this.io.writeFrame(frame);
      if (frame === this.lent) this.lent = undefined;
    } else {
      const lent = frame === this.lent;
      if (!lent && frame.length > MAX_FRAME) {
        this.counters.txDropped++;
        return;
      }
      // A frame sent while another is being built in the lent buffer (an ARP probe its own
      // transmission set off) goes through a buffer of its own, so the one being built is kept.
      const out = lent || this.lent === undefined ? this.txBuf : this.scratch();
      if (!lent) out.set(frame, this.head);
      else this.lent = undefined;
      const h = this.txHdr;
      if (offload === undefined) {
        h.flags = 0;
        h.gsoType = VnetGso.NONE;
        h.hdrLen = 0;
        h.gsoSize = 0;
        h.csumStart = 0;
        h.csumOffset = 0;
      } else {
        // A GSO frame forwarded as it came may carry a checksum already complete (csumStart 0).
        h.flags = offload.csumStart > 0 ? VnetFlag.NEEDS_CSUM : 0;
        h.csumStart = offload.csumStart;
        h.csumOffset = offload.csumOffset;
        h.hdrLen = offload.hdrLen;
        h.gsoType = offload.gsoSize > 0 ? VnetGso.TCPV4 : VnetGso.NONE;
        h.gsoSize = offload.gsoSize;
        if (offload.gsoSize > 0) this.counters.txTso++;
      }
      writeVnetHeader(out, 0, h);
      ok = this.io.writeFrame(out, this.head + frame.length);
    }
    if (ok) {
      this.counters.txFrames++;
      this.counters.txBytes += frame.length;
    } else {
      this.counters.txDropped++;
    }
  }

  private scratch(): Uint8Array {
    this.scratchBuf ??= new Uint8Array(this.head + MAX_FRAME);
    return this.scratchBuf;
  }

  drain(now: number, max: number): number {
    let n = 0;
    const head = this.head;
    while (n < max && !this.closed) {
      const len = this.io.readFrame(this.rxBuf);
      if (len === 0) break;
      n++;
      if (len <= head) continue;
      this.counters.rxFrames++;
      this.counters.rxBytes += len - head;
      if (head === 0) {
        this.onReceive?.(this.rxViews.subarray(this.rxBuf, 0, len), now);
        continue;
      }
      const h = this.rxHdr;
      readVnetHeader(this.rxBuf, 0, h);
      const rx = this.rx;
      if (h.flags & VnetFlag.NEEDS_CSUM) {
        rx.checksum = 'partial';
        this.counters.rxChecksumPartial++;
      } else if (h.flags & VnetFlag.DATA_VALID) {
        rx.checksum = 'valid';
        this.counters.rxChecksumValid++;
      } else {
        rx.checksum = 'none';
      }
      rx.gsoSize = h.gsoType !== VnetGso.NONE ? h.gsoSize : 0;
      rx.csumStart = h.csumStart;
      rx.csumOffset = h.csumOffset;
      rx.hdrLen = h.hdrLen;
      if (rx.gsoSize > 0) this.counters.rxGso++;
      this.onReceive?.(this.rxViews.subarray(this.rxBuf, head, len), now, undefined, rx);
    }
    return n;
  }

  poll(): void {}

  pollAt(): number | undefined {
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.close();
  }
}

/** Whether koffi and libc load here: the native backends (tap, afpacket, lab) need them, nothing else does. */
export function nativeLoads(): boolean {
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}
