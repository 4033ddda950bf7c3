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
//
// A packet our own writers flagged OFFLOAD (trace/packet-comment.ts: the comment's csum=partial, or
// epb_flags bit 9 from any writer) is handed on as a device with offloads would hand it: with an
// RxOffload saying its checksum is partial, so its record is flagged OFFLOAD again, as it was live.
import { openCaptureFile, type CaptureFileReader } from '../trace/capture-file';
import { CaptureFormatError, LinkType, type CapturedPacket } from '../trace/capture-format';
import { offloadedInFile } from '../trace/packet-comment';
import { rxOffload, type RxOffload } from '../stack/offload';
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
  private readonly rx = rxOffload();

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
      if (offloadedInFile(pkt)) this.onReceive?.(pkt.data, now, pkt.origLen, partialAt(pkt.data, this.rx));
      else if (pkt.data.length < pkt.origLen) this.onReceive?.(pkt.data, now, pkt.origLen);
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

/**
 * `rx` for a frame whose TCP/UDP checksum a device was to complete: where the checksummed range
 * starts and where the field is (IPv4, or IPv6 without extension headers); 0 and 0 when the frame has
 * no such transport header, so that nothing is completed (impairments complete the rest, impair.ts).
 */
function partialAt(f: Uint8Array, rx: RxOffload): RxOffload {
  rx.checksum = 'partial';
  rx.gsoSize = 0;
  rx.hdrLen = 0;
  rx.csumStart = 0;
  rx.csumOffset = 0;
  if (f.length < 14) return rx;
  const type = (f[12] << 8) | f[13];
  let l4 = -1;
  let proto = -1;
  if (type === 0x0800 && f.length >= 34) {
    l4 = 14 + (f[14] & 0x0f) * 4;
    proto = f[23];
  } else if (type === 0x86dd && f.length >= 54) {
    l4 = 54;
    proto = f[20];
  }
  const at = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  if (l4 > 0 && at > 0 && l4 + at + 2 <= f.length) {
    rx.csumStart = l4;
    rx.csumOffset = at;
  }
  return rx;
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
