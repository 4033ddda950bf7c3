// backends: the `pcap` backend — replays a pcap or pcapng file through the NIC at the file's own
// times: packet k arrives at virtual time (its timestamp − the first packet's), so a replay paced
// against wall time (`speed` 1) plays the capture as it happened and an unpaced one runs as fast as
// it can. Virtual time never goes back: a packet stamped before the one ahead of it in the file
// (pcapng interfaces interleaved out of order) arrives when its turn comes.
//
// The backend is passive (backend.ts): the frames were sent between other hosts, so the session
// runs the layers' checks and a passive TCP observer instead of the stacks, and nothing is sent —
// a frame given to `transmit` is counted in `refused` and goes nowhere. The file is read in bounded
// memory, one packet ahead. A damaged or cut file ends the replay at the damage: every packet before
// it has been replayed, and `problems()` names the file and the byte offset. Only Ethernet frames
// can be replayed (the NIC steers Ethernet); a packet of another link type ends the replay the same way.
import { openCaptureFile, type CaptureFileReader } from '../trace/capture-file';
import { CaptureFormatError, LinkType, type CapturedPacket } from '../trace/capture-format';
import type { BackendFactory, CaptureBackend } from './backend';
import type { Device, FrameHandler } from './device';
import { SimClock } from './sim';

/** Reads ahead and hands out the packets of a capture file when their time comes. */
class ReplayDevice implements Device {
  readonly name: string;
  readonly mtu = 65535;
  onReceive: FrameHandler | undefined;
  /** Frames something tried to send onto the replay (none should). */
  refused = 0;
  /** Packets replayed so far. */
  replayed = 0;
  readonly problems: string[] = [];
  /** The first packet's timestamp (seconds and nanoseconds since the Unix epoch: as one number it would lose nanoseconds). */
  readonly origin: { readonly sec: number; readonly nsec: number } | undefined;
  private readonly packets: Iterator<CapturedPacket>;
  private next: CapturedPacket | undefined;
  private nextAt = 0;
  private lastAt = 0;

  constructor(
    private readonly reader: CaptureFileReader,
    private readonly file: string,
  ) {
    this.name = `replay of ${file}`;
    this.packets = reader[Symbol.iterator]();
    this.pull();
    this.origin = this.next === undefined ? undefined : { sec: this.next.tsSec, nsec: this.next.tsNsec };
  }

  transmit(): void {
    this.refused++;
  }

  poll(now: number): void {
    while (this.next !== undefined && this.nextAt <= now) {
      const pkt = this.next;
      this.replayed++;
      // pkt.data is the reader's buffer: valid until the next pull, which comes after the NIC is done with it.
      if (pkt.data.length < pkt.origLen) this.onReceive?.(pkt.data, now, pkt.origLen);
      else this.onReceive?.(pkt.data, now);
      this.pull();
    }
  }

  pollAt(): number | undefined {
    return this.next === undefined ? undefined : this.nextAt;
  }

  close(): void {
    this.next = undefined;
    this.reader.close();
  }

  private pull(): void {
    let r: IteratorResult<CapturedPacket>;
    try {
      r = this.packets.next();
    } catch (err) {
      this.next = undefined;
      this.reader.close();
      if (!(err instanceof CaptureFormatError)) throw err;
      this.problems.push(`${this.file}: ${err.message} (byte ${err.offset}); the ${this.replayed} packet${this.replayed === 1 ? '' : 's'} before it were replayed`);
      return;
    }
    if (r.done === true) {
      this.next = undefined;
      this.reader.close();
      return;
    }
    const pkt = r.value;
    const link = this.reader.interfaces[pkt.interfaceId]?.linkType;
    if (link !== LinkType.ETHERNET) {
      this.next = undefined;
      this.reader.close();
      this.problems.push(`${this.file}: packet ${this.replayed + 1} has link type ${link ?? '?'}; replay reads Ethernet captures only (the ${this.replayed} packets before it were replayed)`);
      return;
    }
    this.next = pkt;
    if (this.origin !== undefined) {
      const at = (pkt.tsSec - this.origin.sec) * 1e3 + (pkt.tsNsec - this.origin.nsec) / 1e6;
      this.nextAt = Math.max(this.lastAt, at);
      this.lastAt = this.nextAt;
    }
  }
}

export interface PcapBackendOptions {
  /** The capture file to replay. */
  readonly file: string;
}

/**
 * The replay backend. Opening the file happens when the session makes the backend: a file that is
 * missing, unreadable or not a capture throws there (ENOENT, EACCES…, or CaptureFormatError).
 */
export function pcapBackend(options: PcapBackendOptions): BackendFactory {
  return (): CaptureBackend => {
    const reader = openCaptureFile(options.file);
    const device = new ReplayDevice(reader, options.file);
    const clock = new SimClock();
    return {
      name: 'pcap',
      device,
      driver: clock,
      interfaceName: 'replay0',
      interfaceDescription: `replay of ${options.file}`,
      passive: true,
      timeOrigin: device.origin,
      problems: () => device.problems,
      close: () => device.close(),
    };
  };
}
