// backends: the `tap` device — one TAP device (IFF_TAP | IFF_NO_PI) as a Device: frames the kernel
// side sends are read (non-blocking, up to a batch per wake-up) straight into one engine buffer and
// handed on, valid during the call; frames given to `transmit` are written one per write(), which
// copies them into the kernel. TAP without IFF_VNET_HDR carries complete checksums both ways.
import { interfaceMtu, libc, openTap, TapIo, type TapHandle } from '../../native/index';
import type { Device, FrameHandler } from './device';
import type { FrameSource } from './realtime';

export interface TapDeviceCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames the device refused (queue full, link down): dropped, as a NIC's full ring does. */
  txDropped: number;
}

export class TapDevice implements Device, FrameSource {
  onReceive: FrameHandler | undefined;
  readonly counters: TapDeviceCounters = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0 };
  readonly fd: number;
  private readonly io: TapIo;
  /**
   * Large enough for any frame the kernel side may send (no GSO without a vnet header). A plain
   * Uint8Array, not a Buffer: the wire code copies with `slice`, which on a Buffer makes a view.
   */
  private readonly rxBuf = new Uint8Array(65536 + 18);
  private closed = false;

  constructor(
    private readonly handle: TapHandle,
    readonly mtu: number,
  ) {
    this.fd = handle.fd;
    this.io = new TapIo(handle.fd);
  }

  /** Attaches to an existing TAP device (persistent, owned by this user), or creates one with `create` (needs CAP_NET_ADMIN). */
  static open(name: string, options: { create?: boolean; mtu?: number } = {}): TapDevice {
    const handle = openTap(name, { create: options.create });
    return new TapDevice(handle, options.mtu ?? interfaceMtu(handle.name) ?? 1500);
  }

  get name(): string {
    return this.handle.name;
  }

  transmit(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.io.writeFrame(frame)) {
      this.counters.txFrames++;
      this.counters.txBytes += frame.length;
    } else {
      this.counters.txDropped++;
    }
  }

  drain(now: number, max: number): number {
    let n = 0;
    while (n < max && !this.closed) {
      const len = this.io.readFrame(this.rxBuf);
      if (len === 0) break;
      n++;
      this.counters.rxFrames++;
      this.counters.rxBytes += len;
      this.onReceive?.(this.rxBuf.subarray(0, len), now);
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
