// trace: reading and writing pcap/pcapng files on disk (Node), in bounded memory.
//
//   const r = openCaptureFile('x.pcapng');        // { chunkSize = 1 MiB }; reads the file header now
//   r.format; r.interfaces; r.nameRecords; r.sections; r.bytesRead
//   try { for (const pkt of r) use(pkt); } finally { r.close(); }
// - Iteration yields every good packet, then throws CaptureFormatError (with the damaged record's
//   byte offset) if the file is damaged or cut short. `pkt.data` is valid until the next packet.
// - `interfaces` and `nameRecords` grow as pcapng blocks are read; those that come before the
//   first packet are known right after opening.
// - Opening throws CaptureFormatError when the file is not a capture (or its header is damaged)
//   and the usual Node error (ENOENT, EACCES…) when it cannot be opened.
//
//   const w = createCaptureWriter('out.pcapng', 'pcapng', { userAppl: 'bypass-scope' });
//   const id = w.addInterface({ linkType: LinkType.ETHERNET, name: 'tap0', tsResolution: 1e9 });
//   w.writePacket({ interfaceId: id, tsSec, tsNsec, data, comment, direction: 'outbound' });
//   w.close();
// `createCaptureWriter(path, 'pcap', { nanosecond, linkType, snapLen })` gives a PcapWriter with close().
// Writes go through one reusable buffer (chunkSize, default 1 MiB) and fs.writeSync.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import {
  ByteBuffer,
  CaptureFormatError,
  CaptureParser,
  PcapWriter,
  PcapngWriter,
  type CaptureFormat,
  type CaptureInterface,
  type CaptureSection,
  type CapturedPacket,
  type NameRecord,
  type PcapWriterOptions,
  type PcapngWriterOptions,
} from './capture-format';

export interface OpenCaptureOptions {
  /** Bytes per read (default 1 MiB); memory use is about this plus the largest record. */
  chunkSize?: number;
}

export interface CaptureFileReader extends Iterable<CapturedPacket> {
  readonly path: string;
  readonly format: CaptureFormat;
  readonly interfaces: readonly CaptureInterface[];
  readonly nameRecords: readonly NameRecord[];
  readonly sections: readonly CaptureSection[];
  /** Bytes read from the file so far. */
  readonly bytesRead: number;
  /** Closes the file; iteration then stops. Safe to call more than once. */
  close(): void;
}

class FileReader implements CaptureFileReader {
  readonly format: CaptureFormat;
  bytesRead = 0;
  private fd: number | undefined;
  private readonly buf: Uint8Array;
  private readonly parser = new CaptureParser();
  private eof = false;
  /** A packet read ahead while opening, or an error found then, handed out by the first iteration. */
  private pending: CapturedPacket | undefined;
  private pendingError: CaptureFormatError | undefined;

  constructor(
    readonly path: string,
    chunkSize: number,
  ) {
    this.buf = new Uint8Array(chunkSize);
    this.fd = openSync(path, 'r');
    try {
      try {
        this.pending = this.pull();
      } catch (e) {
        // Damage in the file header (or no capture at all) fails the open; later damage waits for iteration.
        if (!(e instanceof CaptureFormatError) || this.parser.format === undefined || this.parser.sections.length === 0) throw e;
        this.pendingError = e;
      }
      if (this.parser.format === undefined) throw new CaptureFormatError(0, 'not a pcap or pcapng file');
      this.format = this.parser.format;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  get interfaces(): readonly CaptureInterface[] {
    return this.parser.interfaces;
  }

  get nameRecords(): readonly NameRecord[] {
    return this.parser.nameRecords;
  }

  get sections(): readonly CaptureSection[] {
    return this.parser.sections;
  }

  /** The next packet, reading more of the file as needed; undefined at a clean end. */
  private pull(): CapturedPacket | undefined {
    for (;;) {
      if (this.fd === undefined && !this.eof) return undefined;
      const pkt = this.parser.next();
      if (pkt) return pkt;
      if (this.eof || this.fd === undefined) return undefined;
      const n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      if (n === 0) {
        this.eof = true;
        this.parser.end();
        return undefined;
      }
      this.bytesRead += n;
      this.parser.push(n === this.buf.length ? this.buf : this.buf.subarray(0, n));
    }
  }

  *[Symbol.iterator](): Iterator<CapturedPacket> {
    if (this.pending) {
      const first = this.pending;
      this.pending = undefined;
      yield first;
    }
    if (this.pendingError) throw this.pendingError;
    for (;;) {
      const pkt = this.pull();
      if (!pkt) return;
      yield pkt;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}

/** Opens a pcap or pcapng file for reading with one reused buffer. */
export function openCaptureFile(path: string, options: OpenCaptureOptions = {}): CaptureFileReader {
  const chunkSize = options.chunkSize ?? 1 << 20;
  if (!(Number.isInteger(chunkSize) && chunkSize >= 1)) throw new RangeError(`chunkSize ${chunkSize}: want a whole number >= 1`);
  return new FileReader(path, chunkSize);
}

export interface CaptureWriterOptions {
  /** Bytes per fs.writeSync (default 1 MiB). */
  chunkSize?: number;
}

export interface CaptureFileWriter {
  readonly path: string;
  /** Bytes written to the file so far (not counting what is still buffered). */
  readonly bytesWritten: number;
  /** Writes out what is buffered. */
  flush(): void;
  /** Flushes and closes the file. Safe to call more than once. */
  close(): void;
}

export type PcapFileWriter = PcapWriter & CaptureFileWriter;
export type PcapngFileWriter = PcapngWriter & CaptureFileWriter;

/** Creates (or truncates) a capture file and returns its writer; the file or section header is written at once. */
export function createCaptureWriter(path: string, format: 'pcap', options?: PcapWriterOptions & CaptureWriterOptions): PcapFileWriter;
export function createCaptureWriter(path: string, format: 'pcapng', options?: PcapngWriterOptions & CaptureWriterOptions): PcapngFileWriter;
export function createCaptureWriter(
  path: string,
  format: CaptureFormat,
  options: (PcapWriterOptions | PcapngWriterOptions) & CaptureWriterOptions = {},
): PcapFileWriter | PcapngFileWriter {
  const fd = openSync(path, 'w');
  let open = true;
  let bytesWritten = 0;
  const out = new ByteBuffer({
    capacity: options.chunkSize ?? 1 << 20,
    sink: (chunk) => {
      if (!open) throw new Error(`capture writer for ${path} is closed`);
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
      bytesWritten += chunk.length;
    },
  });
  try {
    const writer: PcapWriter | PcapngWriter =
      format === 'pcap' ? new PcapWriter(out, options as PcapWriterOptions) : new PcapngWriter(out, options as PcapngWriterOptions);
    const file: CaptureFileWriter = {
      path,
      get bytesWritten() {
        return bytesWritten;
      },
      flush() {
        if (!open) throw new Error(`capture writer for ${path} is closed`);
        out.flush();
      },
      close() {
        if (!open) return;
        try {
          out.flush();
        } finally {
          open = false;
          closeSync(fd);
        }
      },
    };
    Object.defineProperties(writer, Object.getOwnPropertyDescriptors(file));
    return writer as PcapFileWriter | PcapngFileWriter;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
