// trace: pcap and pcapng capture formats — an incremental parser and fast encoders (no Node APIs).
//
// Reading:
//   const p = new CaptureParser();
//   p.push(chunk);                        // chunk must stay unchanged until next() returns undefined
//   for (let pkt; (pkt = p.next()); ) …   // undefined: feed more input (or done, after end())
//   p.end();                              // at end of input: throws if a record is cut short
//   p.format, p.interfaces, p.nameRecords, p.sections, p.position
// A packet's `data` is a view that is valid until the next call to next() or push().
// The parser throws nothing but CaptureFormatError, whose `offset` is the absolute byte offset of
// the damaged record; after an error it keeps throwing the same error.
//
// Writing: encoders append records to a ByteBuffer, which hands full chunks to a sink (or grows
// and keeps everything when there is no sink):
//   const out = new ByteBuffer({ sink: (chunk) => …write chunk now, it is reused… });
//   const w = new PcapngWriter(out, { userAppl: 'bypass-scope' });
//   const id = w.addInterface({ linkType: 1, snapLen: 0, name: 'tap0', tsResolution: 1e9 });
//   w.writePacket({ interfaceId: id, tsSec, tsNsec, data, comment: 'hi', direction: 'inbound' });
//   out.flush();
// `PcapWriter` writes classic pcap (nanosecond magic by default). Both write little-endian.
//
// Formats: pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html) and pcapng
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html).
// Read: SHB (both byte orders, several sections), IDB (if_name, if_description, if_tsresol in both
// the base-10 and base-2 forms, if_tsoffset), EPB (opt_comment, epb_flags), SPB, the obsolete
// Packet Block, NRB (IPv4 and IPv6 records). ISB, custom blocks and unknown block types are skipped.
// Not supported: the modified ("Kuznetsov") pcap magic 0xa1b2cd34, pcap FCS bits (the link type is
// the low 16 bits), if_fcslen, and pcapng versions other than 1.x. There is no "if_snaplen" option
// in pcapng: an interface's snap length is the IDB's SnapLen field.

/** Link-layer header types (https://www.tcpdump.org/linktypes.html) used in this project. */
export const LinkType = { NULL: 0, ETHERNET: 1, RAW: 101, LINUX_SLL: 113, IPV4: 228, IPV6: 229 } as const;

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureInterface {
  readonly linkType: number;
  /** Largest captured length; 0 means no limit (pcapng). */
  readonly snapLen: number;
  readonly name?: string;
  readonly description?: string;
  /** Timestamp units per second: 1e6 for microseconds, 1e9 for nanoseconds, 2**k for base-2 if_tsresol. */
  readonly tsResolution: number;
  /** Index of the pcapng section (SHB) that defined this interface; 0 for pcap. */
  readonly section: number;
}

export interface CaptureSection {
  readonly littleEndian: boolean;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly hardware?: string;
  readonly os?: string;
  readonly userAppl?: string;
  readonly comment?: string;
}

export interface NameRecord {
  /** Dotted IPv4 or RFC 5952 IPv6 text. */
  readonly address: string;
  readonly names: readonly string[];
}

export type Direction = 'inbound' | 'outbound';

export interface CapturedPacket {
  /** Index into the parser's `interfaces`, counted across all sections. */
  readonly interfaceId: number;
  /** Unix time: whole seconds and nanoseconds (0..999999999). Finer resolutions are truncated. 0/0 for SPB. */
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly capLen: number;
  readonly origLen: number;
  /** A view into a reused buffer: valid until the next call to next() or push(). Copy to keep. */
  readonly data: Uint8Array;
  /** All opt_comment options, joined with '\n'. */
  readonly comment?: string;
  /** From the two low bits of epb_flags (1 inbound, 2 outbound). */
  readonly direction?: Direction;
  /** The whole epb_flags word, when present. */
  readonly flags?: number;
  /** Absolute byte offset of the record in the input. */
  readonly offset: number;
}

export class CaptureFormatError extends Error {
  /** Absolute byte offset of the damaged record. */
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(message);
    this.name = 'CaptureFormatError';
    this.offset = offset;
  }
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BT_IDB = 1;
const BT_PB = 2; // obsolete Packet Block
const BT_SPB = 3;
const BT_NRB = 4;
const BT_EPB = 6;
const PCAP_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;
/** Largest record accepted; larger lengths are treated as damage, which bounds memory. */
export const MAX_RECORD_LEN = 64 * 1024 * 1024;
/** Captured lengths up to this are accepted in pcap even when the header's snaplen is smaller (as libpcap does). */
const PCAP_MIN_CAPLEN_LIMIT = 262144;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const EPB_FLAGS = 2;
/**
 * epb_flags bit 9 (pcapng, "Enhanced Packet Block Flags Word"): "checksum not ready, as a
 * consequence of checksum offloading" — the host's stack left the checksum for the adapter.
 */
export const EPB_FLAG_CHECKSUM_NOT_READY = 1 << 9;

const EMPTY = new Uint8Array(0);
const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

interface IfaceState extends CaptureInterface {
  /** How to turn timestamp units into seconds and nanoseconds. */
  readonly conv: TsConv;
  readonly tsOffset: number;
}

/** Timestamp conversion for one resolution: exact float arithmetic where it fits, bigint otherwise. */
interface TsConv {
  readonly res: number;
  readonly big: bigint;
  /** Long division in floats is exact (res <= 2^37). */
  readonly fast: boolean;
  /** nsec = rem * mul when res divides 1e9; nsec = floor(rem / div) for decimal resolutions finer than 1 ns. */
  readonly mul: number;
  readonly div: number;
  /** nsec = floor(rem * 1e9 / res) is exact in floats (res * 1e9 <= 2^53). */
  readonly scaled: boolean;
}

function makeConv(tsresol: number): TsConv {
  const base2 = (tsresol & 0x80) !== 0;
  const exp = tsresol & 0x7f;
  const big = base2 ? 1n << BigInt(exp) : 10n ** BigInt(exp);
  const res = Number(big);
  const fast = res <= 2 ** 37;
  const mul = !base2 && exp <= 9 ? 10 ** (9 - exp) : 0;
  const div = !base2 && exp > 9 && exp <= 15 ? 10 ** (exp - 9) : 0;
  return { res, big, fast, mul, div, scaled: res * 1e9 <= 2 ** 53 };
}

function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

type State = 'magic' | 'pcap-header' | 'pcap' | 'pcapng' | 'failed';

export class CaptureParser {
  format: CaptureFormat | undefined;
  readonly interfaces: CaptureInterface[] = [];
  readonly nameRecords: NameRecord[] = [];
  readonly sections: CaptureSection[] = [];

  private state: State = 'magic';
  private error: CaptureFormatError | undefined;
  private ended = false;
  // Input: the current chunk, and a carry buffer holding a record that spans chunks.
  private chunk: Uint8Array = EMPTY;
  private chunkView: DataView = new DataView(EMPTY.buffer);
  private pos = 0;
  private carry = new Uint8Array(4096);
  private carryView: DataView = new DataView(this.carry.buffer);
  private carryLen = 0;
  /** Bytes the record at `offset` needs (known so far), for the truncation message. */
  private needed = 0;
  // The record being read: bytes rb[rbase..] through the view rv.
  private rb: Uint8Array = EMPTY;
  private rv: DataView = this.chunkView;
  private rbase = 0;
  private offset = 0;
  private le = true;
  // pcap
  private pcapNano = false;
  private pcapCapLimit = 0;
  // pcapng: interfaces of the current section.
  private ifaces: IfaceState[] = [];
  private sectionBase = 0;
  // The last converted timestamp.
  private tsS = 0;
  private tsN = 0;

  /** Absolute offset of the next byte not yet consumed: the start of the next record. */
  get position(): number {
    return this.offset;
  }

  /** Hands the parser more input. The chunk must not change until next() returns undefined. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('CaptureParser.push after end()');
    if (this.pos < this.chunk.length) throw new Error('CaptureParser.push before next() returned undefined');
    this.chunk = chunk;
    this.chunkView = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pos = 0;
  }

  /** The next packet, or undefined when more input is needed (or, after end(), when the input is done). */
  next(): CapturedPacket | undefined {
    if (this.error) throw this.error;
    try {
      for (;;) {
        switch (this.state) {
          case 'magic':
            if (!this.readMagic()) return undefined;
            break;
          case 'pcap-header':
            if (!this.readPcapHeader()) return undefined;
            break;
          case 'pcap':
            return this.readPcapRecord();
          case 'pcapng': {
            const r = this.readBlock();
            if (r !== null) return r;
            break;
          }
          case 'failed':
            throw this.error;
        }
      }
    } catch (e) {
      throw this.fail(e);
    }
  }

  /** Declares the end of input. Throws CaptureFormatError when the input stops inside a record. */
  end(): void {
    if (this.error) throw this.error;
    this.ended = true;
    const left = this.carryLen + (this.chunk.length - this.pos);
    if (left === 0 && this.state !== 'magic' && this.state !== 'pcap-header') return;
    const endAt = this.offset + left;
    if (this.state === 'magic') {
      throw this.fail(
        new CaptureFormatError(0, left === 0 ? 'not a pcap or pcapng file (it is empty)' : `not a pcap or pcapng file (only ${left} bytes)`),
      );
    }
    const needs = Math.max(this.needed, left + 1);
    throw this.fail(new CaptureFormatError(this.offset, `truncated record at byte ${this.offset}: needs ${needs} bytes, file ends at ${endAt}`));
  }

  private fail(e: unknown): CaptureFormatError {
    const err =
      e instanceof CaptureFormatError
        ? e
        : new CaptureFormatError(this.offset, `record at byte ${this.offset}: ${e instanceof Error ? e.message : String(e)}`);
    this.error = err;
    this.state = 'failed';
    return err;
  }

  private damage(what: string, message: string): CaptureFormatError {
    return new CaptureFormatError(this.offset, `${what} at byte ${this.offset}: ${message}`);
  }

  // ---- input handling ------------------------------------------------------------------------

  /** Makes n contiguous bytes of the current record available in rb/rv at rbase, or returns false. */
  private need(n: number): boolean {
    const avail = this.chunk.length - this.pos;
    if (this.carryLen === 0 && avail >= n) {
      this.rb = this.chunk;
      this.rv = this.chunkView;
      this.rbase = this.pos;
      return true;
    }
    if (this.carryLen < n) {
      const take = Math.min(n - this.carryLen, avail);
      if (this.carryLen + take > this.carry.length) {
        let size = this.carry.length * 2;
        while (size < n) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(this.carry.subarray(0, this.carryLen));
        this.carry = grown;
        this.carryView = new DataView(grown.buffer);
      }
      this.carry.set(this.chunk.subarray(this.pos, this.pos + take), this.carryLen);
      this.carryLen += take;
      this.pos += take;
      if (this.carryLen < n) {
        this.needed = n;
        return false;
      }
    }
    this.rb = this.carry;
    this.rv = this.carryView;
    this.rbase = 0;
    return true;
  }

  private consume(n: number): void {
    this.offset += n;
    this.needed = 0;
    if (this.rb === this.carry) this.carryLen = 0;
    else this.pos += n;
  }

  private u32(at: number): number {
    return this.rv.getUint32(this.rbase + at, this.le);
  }

  private u16(at: number): number {
    return this.rv.getUint16(this.rbase + at, this.le);
  }

  // ---- pcap ------------------------------------------------------------------------------------

  private readMagic(): boolean {
    if (!this.need(4)) return false;
    const be = this.rv.getUint32(this.rbase, false);
    const le = this.rv.getUint32(this.rbase, true);
    if (be === PCAPNG_SHB) {
      this.format = 'pcapng';
      this.state = 'pcapng';
    } else if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS || le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) {
      this.format = 'pcap';
      this.state = 'pcap-header';
      this.le = le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS;
      this.pcapNano = (this.le ? le : be) === PCAP_MAGIC_NS;
    } else {
      throw new CaptureFormatError(0, `not a pcap or pcapng file (magic ${hex32(be)})`);
    }
    this.needed = this.state === 'pcapng' ? 12 : PCAP_HEADER_LEN;
    return true;
  }

  private readPcapHeader(): boolean {
    if (!this.need(PCAP_HEADER_LEN)) return false;
    const major = this.u16(4);
    const minor = this.u16(6);
    if (major !== 2) throw this.damage('pcap file header', `unsupported version ${major}.${minor}`);
    const snapLen = this.u32(16);
    const linkType = this.u32(20) & 0xffff;
    const tsresol = this.pcapNano ? 9 : 6;
    const iface: IfaceState = {
      linkType,
      snapLen,
      tsResolution: this.pcapNano ? 1e9 : 1e6,
      section: 0,
      conv: makeConv(tsresol),
      tsOffset: 0,
    };
    this.interfaces.push(publicIface(iface));
    this.ifaces = [iface];
    this.sections.push({ littleEndian: this.le, majorVersion: major, minorVersion: minor });
    this.pcapCapLimit = Math.min(Math.max(snapLen, PCAP_MIN_CAPLEN_LIMIT), MAX_RECORD_LEN);
    this.consume(PCAP_HEADER_LEN);
    this.state = 'pcap';
    return true;
  }

  private readPcapRecord(): CapturedPacket | undefined {
    if (!this.need(PCAP_RECORD_HEADER_LEN)) return undefined;
    const capLen = this.u32(8);
    if (capLen > this.pcapCapLimit) {
      throw this.damage('pcap record', `captured length ${capLen} is larger than the limit ${this.pcapCapLimit} (snaplen ${this.ifaces[0].snapLen})`);
    }
    const total = PCAP_RECORD_HEADER_LEN + capLen;
    if (!this.need(total)) return undefined;
    const tsSec = this.u32(0);
    const frac = this.u32(4);
    if (frac >= (this.pcapNano ? 1e9 : 1e6)) {
      throw this.damage('pcap record', `${this.pcapNano ? 'nanoseconds' : 'microseconds'} field ${frac} is out of range`);
    }
    const origLen = this.u32(12);
    const start = this.rbase + PCAP_RECORD_HEADER_LEN;
    const pkt: CapturedPacket = {
      interfaceId: 0,
      tsSec,
      tsNsec: this.pcapNano ? frac : frac * 1000,
      capLen,
      origLen,
      data: this.rb.subarray(start, start + capLen),
      offset: this.offset,
    };
    this.consume(total);
    return pkt;
  }

  // ---- pcapng ----------------------------------------------------------------------------------

  /** Reads one block: a packet, null for a block that is not a packet, undefined when input is short. */
  private readBlock(): CapturedPacket | null | undefined {
    if (!this.need(8)) return undefined;
    let type = this.u32(0);
    if (type === PCAPNG_SHB) {
      if (!this.need(12)) return undefined;
      const bom = this.rv.getUint32(this.rbase + 8, false);
      if (bom === PCAPNG_BOM) this.le = false;
      else if (bom === 0x4d3c2b1a) this.le = true;
      else throw this.damage('pcapng section header', `byte-order magic ${hex32(bom)} is neither 0x1a2b3c4d nor 0x4d3c2b1a`);
    } else if (this.sections.length === 0) {
      throw this.damage('pcapng block', 'the file does not start with a section header block');
    }
    type = this.u32(0);
    const len = this.u32(4);
    if (len % 4 !== 0) throw this.damage('pcapng block', `block total length ${len} is not a multiple of 4`);
    if (len < 12) throw this.damage('pcapng block', `block total length ${len} is less than 12`);
    if (len > MAX_RECORD_LEN) throw this.damage('pcapng block', `block total length ${len} is larger than the limit ${MAX_RECORD_LEN}`);
    if (!this.need(len)) return undefined;
    const trailer = this.u32(len - 4);
    if (trailer !== len) {
      throw this.damage('pcapng block', `block total length ${len} at the start and ${trailer} at the end disagree`);
    }
    let pkt: CapturedPacket | null = null;
    switch (type) {
      case PCAPNG_SHB:
        this.readSectionHeader(len);
        break;
      case BT_IDB:
        this.readInterface(len);
        break;
      case BT_EPB:
        pkt = this.readEnhancedPacket(len);
        break;
      case BT_SPB:
        pkt = this.readSimplePacket(len);
        break;
      case BT_PB:
        pkt = this.readObsoletePacket(len);
        break;
      case BT_NRB:
        this.readNameResolution(len);
        break;
      default:
        // ISB (5), custom blocks (0x00000BAD, 0x40000BAD), DSB and anything unknown: skipped.
        break;
    }
    this.consume(len);
    return pkt;
  }

  /**
   * Walks the options in [from, len - 4) of the current block, calling fn(code, valueStart, valueLen)
   * with offsets relative to the block. Options must fit in the block.
   */
  private options(what: string, from: number, len: number, fn: (code: number, at: number, n: number) => void): void {
    const end = len - 4;
    let at = from;
    while (at + 4 <= end) {
      const code = this.u16(at);
      const n = this.u16(at + 2);
      if (code === OPT_ENDOFOPT) return;
      const padded = (n + 3) & ~3;
      if (at + 4 + padded > end) {
        throw this.damage(what, `option ${code} with length ${n} runs past the end of the block`);
      }
      fn(code, at + 4, n);
      at += 4 + padded;
    }
    if (at !== end) throw this.damage(what, `${end - at} bytes of options are too short for an option header`);
  }

  private text(at: number, n: number): string {
    const start = this.rbase + at;
    let end = start + n;
    // Some writers include a terminating NUL; it is not part of the string.
    while (end > start && this.rb[end - 1] === 0) end--;
    return utf8Decoder.decode(this.rb.subarray(start, end));
  }

  private readSectionHeader(len: number): void {
    if (len < 28) throw this.damage('pcapng section header', `block total length ${len} is less than 28`);
    const major = this.u16(12);
    const minor = this.u16(14);
    if (major !== 1) throw this.damage('pcapng section header', `unsupported version ${major}.${minor}`);
    let hardware: string | undefined;
    let os: string | undefined;
    let userAppl: string | undefined;
    let comment: string | undefined;
    this.options('pcapng section header', 24, len, (code, at, n) => {
      if (code === SHB_HARDWARE) hardware = this.text(at, n);
      else if (code === SHB_OS) os = this.text(at, n);
      else if (code === SHB_USERAPPL) userAppl = this.text(at, n);
      else if (code === OPT_COMMENT) comment = comment === undefined ? this.text(at, n) : comment + '\n' + this.text(at, n);
    });
    const section: { -readonly [K in keyof CaptureSection]: CaptureSection[K] } = { littleEndian: this.le, majorVersion: major, minorVersion: minor };
    if (hardware !== undefined) section.hardware = hardware;
    if (os !== undefined) section.os = os;
    if (userAppl !== undefined) section.userAppl = userAppl;
    if (comment !== undefined) section.comment = comment;
    this.sections.push(section);
    this.ifaces = [];
    this.sectionBase = this.interfaces.length;
  }

  private readInterface(len: number): void {
    const what = 'pcapng interface description block';
    if (len < 20) throw this.damage(what, `block total length ${len} is less than 20`);
    const linkType = this.u16(8);
    const snapLen = this.u32(12);
    let name: string | undefined;
    let description: string | undefined;
    let tsresol = 6;
    let tsOffset = 0;
    this.options(what, 16, len, (code, at, n) => {
      if (code === IF_NAME) name = this.text(at, n);
      else if (code === IF_DESCRIPTION) description = this.text(at, n);
      else if (code === IF_TSRESOL) {
        if (n < 1) throw this.damage(what, 'if_tsresol is empty');
        tsresol = this.rb[this.rbase + at];
      } else if (code === IF_TSOFFSET) {
        if (n < 8) throw this.damage(what, `if_tsoffset has ${n} bytes, not 8`);
        tsOffset = Number(this.rv.getBigInt64(this.rbase + at, this.le));
      }
    });
    const conv = makeConv(tsresol);
    const iface: IfaceState = {
      linkType,
      snapLen,
      name,
      description,
      tsResolution: conv.res,
      section: this.sections.length - 1,
      conv,
      tsOffset,
    };
    this.ifaces.push(iface);
    this.interfaces.push(publicIface(iface));
  }

  private iface(what: string, id: number): IfaceState {
    const iface = this.ifaces[id];
    if (iface === undefined) {
      throw this.damage(what, `interface ${id} is not defined in this section (it has ${this.ifaces.length})`);
    }
    return iface;
  }

  private readEnhancedPacket(len: number): CapturedPacket {
    const what = 'pcapng enhanced packet block';
    if (len < 32) throw this.damage(what, `block total length ${len} is less than 32`);
    const id = this.u32(8);
    const iface = this.iface(what, id);
    const capLen = this.u32(20);
    const origLen = this.u32(24);
    const dataEnd = 28 + ((capLen + 3) & ~3);
    if (capLen > len - 32 || dataEnd > len - 4) {
      throw this.damage(what, `captured length ${capLen} runs past the end of the block (total length ${len})`);
    }
    let comment: string | undefined;
    let flags: number | undefined;
    if (dataEnd < len - 4) {
      this.options(what, dataEnd, len, (code, at, n) => {
        if (code === OPT_COMMENT) comment = comment === undefined ? this.text(at, n) : comment + '\n' + this.text(at, n);
        else if (code === EPB_FLAGS) {
          if (n !== 4) throw this.damage(what, `epb_flags has ${n} bytes, not 4`);
          flags = this.u32(at);
        }
      });
    }
    const start = this.rbase + 28;
    const dirBits = flags === undefined ? 0 : flags & 3;
    this.timestamp(iface, this.u32(12), this.u32(16));
    return {
      interfaceId: this.sectionBase + id,
      tsSec: this.tsS,
      tsNsec: this.tsN,
      capLen,
      origLen,
      data: this.rb.subarray(start, start + capLen),
      comment,
      direction: dirBits === 1 ? 'inbound' : dirBits === 2 ? 'outbound' : undefined,
      flags,
      offset: this.offset,
    };
  }

  private readObsoletePacket(len: number): CapturedPacket {
    const what = 'pcapng packet block';
    if (len < 32) throw this.damage(what, `block total length ${len} is less than 32`);
    const id = this.u16(8);
    const iface = this.iface(what, id);
    const capLen = this.u32(20);
    const origLen = this.u32(24);
    const dataEnd = 28 + ((capLen + 3) & ~3);
    if (capLen > len - 32 || dataEnd > len - 4) {
      throw this.damage(what, `captured length ${capLen} runs past the end of the block (total length ${len})`);
    }
    let comment: string | undefined;
    if (dataEnd < len - 4) {
      this.options(what, dataEnd, len, (code, at, n) => {
        if (code === OPT_COMMENT) comment = comment === undefined ? this.text(at, n) : comment + '\n' + this.text(at, n);
      });
    }
    const start = this.rbase + 28;
    this.timestamp(iface, this.u32(12), this.u32(16));
    return {
      interfaceId: this.sectionBase + id,
      tsSec: this.tsS,
      tsNsec: this.tsN,
      capLen,
      origLen,
      data: this.rb.subarray(start, start + capLen),
      comment,
      offset: this.offset,
    };
  }

  private readSimplePacket(len: number): CapturedPacket {
    const what = 'pcapng simple packet block';
    if (len < 16) throw this.damage(what, `block total length ${len} is less than 16`);
    const iface = this.iface(what, 0);
    const origLen = this.u32(8);
    // The captured length is not stored: it is the original length limited by the snap length and the block.
    let capLen = Math.min(origLen, len - 16);
    if (iface.snapLen !== 0) capLen = Math.min(capLen, iface.snapLen);
    const start = this.rbase + 12;
    return {
      interfaceId: this.sectionBase,
      tsSec: 0,
      tsNsec: 0,
      capLen,
      origLen,
      data: this.rb.subarray(start, start + capLen),
      offset: this.offset,
    };
  }

  private readNameResolution(len: number): void {
    const what = 'pcapng name resolution block';
    const end = len - 4;
    let at = 8;
    for (;;) {
      if (at + 4 > end) throw this.damage(what, 'the records end without nrb_record_end');
      const type = this.u16(at);
      const n = this.u16(at + 2);
      if (type === 0) {
        at += 4;
        break;
      }
      const padded = (n + 3) & ~3;
      if (at + 4 + padded > end) throw this.damage(what, `record of type ${type} with length ${n} runs past the end of the block`);
      const v = this.rbase + at + 4;
      const addrLen = type === 1 ? 4 : type === 2 ? 16 : 0;
      if (addrLen !== 0) {
        if (n < addrLen) throw this.damage(what, `address record of type ${type} has ${n} bytes, fewer than ${addrLen}`);
        const address = addrLen === 4 ? formatIPv4(this.rb, v) : formatIPv6(this.rb, v);
        const names: string[] = [];
        let s = v + addrLen;
        const stop = v + n;
        while (s < stop) {
          let z = s;
          while (z < stop && this.rb[z] !== 0) z++;
          if (z > s) names.push(utf8Decoder.decode(this.rb.subarray(s, z)));
          s = z + 1;
        }
        this.nameRecords.push({ address, names });
      }
      at += 4 + padded;
    }
    if (at < end) this.options(what, at, len, () => {});
  }

  /** Converts a 64-bit timestamp count into tsS/tsN (truncating below 1 ns) without losing bits. */
  private timestamp(iface: IfaceState, high: number, low: number): void {
    const c = iface.conv;
    if (c.fast) {
      // Long division by the resolution in 16-bit digits: every intermediate stays below 2^53.
      const r = c.res;
      let cur = high >>> 16;
      let d = floorDiv(cur, r);
      let q = d;
      let rem = cur - d * r;
      cur = rem * 65536 + (high & 0xffff);
      d = floorDiv(cur, r);
      q = q * 65536 + d;
      rem = cur - d * r;
      cur = rem * 65536 + (low >>> 16);
      d = floorDiv(cur, r);
      q = q * 65536 + d;
      rem = cur - d * r;
      cur = rem * 65536 + (low & 0xffff);
      d = floorDiv(cur, r);
      q = q * 65536 + d;
      rem = cur - d * r;
      this.tsS = q + iface.tsOffset;
      if (c.mul !== 0) {
        this.tsN = rem * c.mul;
        return;
      }
      if (c.div !== 0) {
        this.tsN = floorDiv(rem, c.div);
        return;
      }
      if (c.scaled) {
        this.tsN = floorDiv(rem * 1e9, r);
        return;
      }
      this.tsN = Number((BigInt(rem) * 1_000_000_000n) / c.big);
      return;
    }
    const t = (BigInt(high) << 32n) | BigInt(low);
    this.tsS = Number(t / c.big) + iface.tsOffset;
    this.tsN = Number(((t % c.big) * 1_000_000_000n) / c.big);
  }
}

/** floor(a / b) for non-negative integers below 2^53, exact even where the float quotient rounds up. */
function floorDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  return q * b > a ? q - 1 : q;
}

function publicIface(i: IfaceState): CaptureInterface {
  const out: { -readonly [K in keyof CaptureInterface]: CaptureInterface[K] } = {
    linkType: i.linkType,
    snapLen: i.snapLen,
    tsResolution: i.tsResolution,
    section: i.section,
  };
  if (i.name !== undefined) out.name = i.name;
  if (i.description !== undefined) out.description = i.description;
  return out;
}

function formatIPv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (first on ties) of two or more zero groups as "::". */
function formatIPv6(b: Uint8Array, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** Parses dotted IPv4 or IPv6 text (with "::" and an optional dotted tail) into 4 or 16 bytes, or undefined. */
export function parseAddress(text: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const n = Number(v4[i + 1]);
      if (n > 255) return undefined;
      out[i] = n;
    }
    return out;
  }
  if (!text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const tail = parseAddress(p);
        if (!tail || tail.length !== 4) return undefined;
        out.push((tail[0] << 8) | tail[1], (tail[2] << 8) | tail[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const a = groups(halves[0]);
  const b = halves.length === 2 ? groups(halves[1]) : [];
  if (!a || !b) return undefined;
  const fill = 8 - a.length - b.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...a, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...b];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

// ---- writing -----------------------------------------------------------------------------------

export interface ByteBufferOptions {
  /** Receives each full chunk; the chunk's memory is reused after the call returns. Without a sink the buffer grows. */
  sink?: (chunk: Uint8Array) => void;
  /** Initial capacity in bytes (default 1 MiB). With a sink, chunks are about this size. */
  capacity?: number;
}

/** A growable, reusable byte buffer that encoders append to; full chunks go to the sink. */
export class ByteBuffer {
  bytes: Uint8Array;
  view: DataView;
  /** Bytes written and not yet handed to the sink. */
  length = 0;
  private readonly sink: ((chunk: Uint8Array) => void) | undefined;

  constructor(options: ByteBufferOptions = {}) {
    this.sink = options.sink;
    this.bytes = new Uint8Array(options.capacity ?? 1 << 20);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for n more bytes: flushes to the sink when there is one, grows otherwise (or when n is larger than a chunk). */
  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    if (this.sink && this.length > 0) {
      this.flush();
      if (n <= this.bytes.length) return;
    }
    let size = Math.max(this.bytes.length * 2, 64);
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Hands what has been written to the sink (no-op without a sink or when empty). */
  flush(): void {
    if (!this.sink || this.length === 0) return;
    this.sink(this.bytes.subarray(0, this.length));
    this.length = 0;
  }

  /** The bytes written and not yet flushed, as a view valid until the next write. */
  contents(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  /** Forgets unflushed bytes, keeping the memory. */
  clear(): void {
    this.length = 0;
  }
}

export interface PcapWriterOptions {
  /** Nanosecond magic 0xa1b23c4d (default) or microsecond 0xa1b2c3d4. */
  nanosecond?: boolean;
  linkType?: number;
  /** Default 262144. Longer packets are truncated to this. */
  snapLen?: number;
}

export interface PcapPacket {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly data: Uint8Array;
  /** Length on the wire; default data.length. */
  readonly origLen?: number;
}

function checkTime(tsSec: number, tsNsec: number): void {
  if (!(tsNsec >= 0 && tsNsec < 1e9 && tsSec >= 0 && Number.isInteger(tsSec) && Number.isInteger(tsNsec))) {
    throw new RangeError(`timestamp ${tsSec}s ${tsNsec}ns: want whole seconds >= 0 and nanoseconds in 0..999999999`);
  }
}

/** Writes classic pcap, little-endian. The file header is written by the constructor. */
export class PcapWriter {
  readonly snapLen: number;
  private readonly nano: boolean;

  constructor(
    private readonly out: ByteBuffer,
    options: PcapWriterOptions = {},
  ) {
    this.nano = options.nanosecond ?? true;
    this.snapLen = options.snapLen ?? 262144;
    out.reserve(PCAP_HEADER_LEN);
    const v = out.view;
    const o = out.length;
    v.setUint32(o, this.nano ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    v.setUint16(o + 4, 2, true);
    v.setUint16(o + 6, 4, true);
    v.setUint32(o + 8, 0, true);
    v.setUint32(o + 12, 0, true);
    v.setUint32(o + 16, this.snapLen, true);
    v.setUint32(o + 20, options.linkType ?? LinkType.ETHERNET, true);
    out.length += PCAP_HEADER_LEN;
  }

  /** Appends one record. The microsecond format truncates the nanoseconds. tsSec must fit in 32 bits. */
  writePacket(p: PcapPacket): void {
    const { tsSec, tsNsec, data } = p;
    checkTime(tsSec, tsNsec);
    if (tsSec > 0xffffffff) throw new RangeError(`timestamp ${tsSec}s does not fit pcap's 32-bit seconds`);
    const capLen = data.length < this.snapLen ? data.length : this.snapLen;
    const out = this.out;
    out.reserve(PCAP_RECORD_HEADER_LEN + capLen);
    const v = out.view;
    const o = out.length;
    v.setUint32(o, tsSec, true);
    v.setUint32(o + 4, this.nano ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(o + 8, capLen, true);
    v.setUint32(o + 12, p.origLen ?? data.length, true);
    out.bytes.set(capLen === data.length ? data : data.subarray(0, capLen), o + PCAP_RECORD_HEADER_LEN);
    out.length = o + PCAP_RECORD_HEADER_LEN + capLen;
  }
}

export interface PcapngWriterOptions {
  userAppl?: string;
  hardware?: string;
  os?: string;
  comment?: string;
}

export interface PcapngInterfaceOptions {
  linkType: number;
  /** 0 (default) means no limit. */
  snapLen?: number;
  name?: string;
  description?: string;
  /** Units per second, a power of ten from 1 to 1e9 (default 1e9); written as if_tsresol. */
  tsResolution?: number;
}

export interface PcapngPacket {
  readonly interfaceId: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly data: Uint8Array;
  readonly origLen?: number;
  readonly comment?: string;
  readonly direction?: Direction;
  /** The other epb_flags bits (reception type, FCS length, link-layer errors); direction bits come from `direction`. */
  readonly flags?: number;
}

interface WriterIface {
  readonly snapLen: number;
  /** Units per second as a power of ten, and how many nanoseconds make one unit. */
  readonly res: number;
  readonly nsPerUnit: number;
}

/** Writes pcapng, little-endian, one section. The section header is written by the constructor. */
export class PcapngWriter {
  private readonly ifaces: WriterIface[] = [];

  constructor(
    private readonly out: ByteBuffer,
    options: PcapngWriterOptions = {},
  ) {
    const opts: [number, string | undefined][] = [
      [OPT_COMMENT, options.comment],
      [SHB_HARDWARE, options.hardware],
      [SHB_OS, options.os],
      [SHB_USERAPPL, options.userAppl],
    ];
    this.block(PCAPNG_SHB, 16, opts, (v, o) => {
      v.setUint32(o, PCAPNG_BOM, true);
      v.setUint16(o + 4, 1, true);
      v.setUint16(o + 6, 0, true);
      // Section length unknown (-1).
      v.setInt32(o + 8, -1, true);
      v.setInt32(o + 12, -1, true);
    });
  }

  /** Writes an IDB; returns the interface id to use in writePacket. */
  addInterface(options: PcapngInterfaceOptions): number {
    const res = options.tsResolution ?? 1e9;
    const exp = Math.round(Math.log10(res));
    if (!(exp >= 0 && exp <= 9 && 10 ** exp === res)) {
      throw new RangeError(`tsResolution ${res}: want a power of ten from 1 to 1e9`);
    }
    const snapLen = options.snapLen ?? 0;
    const tsresol = new Uint8Array([exp]);
    this.block(
      BT_IDB,
      8,
      [
        [IF_NAME, options.name],
        [IF_DESCRIPTION, options.description],
        [IF_TSRESOL, tsresol],
      ],
      (v, o) => {
        v.setUint16(o, options.linkType, true);
        v.setUint16(o + 2, 0, true);
        v.setUint32(o + 4, snapLen, true);
      },
    );
    this.ifaces.push({ snapLen, res, nsPerUnit: 1e9 / res });
    return this.ifaces.length - 1;
  }

  /** Appends an EPB. */
  writePacket(p: PcapngPacket): void {
    const iface = this.ifaces[p.interfaceId];
    if (iface === undefined) throw new RangeError(`interface ${p.interfaceId} was not added (there are ${this.ifaces.length})`);
    const { tsSec, tsNsec, data } = p;
    checkTime(tsSec, tsNsec);
    const capLen = iface.snapLen !== 0 && data.length > iface.snapLen ? iface.snapLen : data.length;
    const padded = (capLen + 3) & ~3;
    const comment = p.comment;
    const dirBits = p.direction === 'inbound' ? 1 : p.direction === 'outbound' ? 2 : 0;
    const hasFlags = dirBits !== 0 || p.flags !== undefined;
    // Room for the comment as UTF-8 (at most 3 bytes per UTF-16 unit), the flags and the end of options.
    const optRoom = (comment !== undefined ? 4 + comment.length * 3 + 3 : 0) + (hasFlags ? 8 : 0) + 4;
    const out = this.out;
    out.reserve(32 + padded + optRoom);
    const v = out.view;
    const b = out.bytes;
    const o = out.length;
    v.setUint32(o, BT_EPB, true);
    v.setUint32(o + 8, p.interfaceId, true);
    // Timestamp in units: tsSec * res + tsNsec / nsPerUnit, as two 32-bit halves without losing bits.
    const units = Math.floor(tsNsec / iface.nsPerUnit);
    const lo16 = tsSec % 65536;
    const hiProd = (tsSec - lo16) / 65536 * iface.res; // exact: < 2^53 for any date before year 2500 at 1e9
    const hiLo = hiProd % 65536;
    const t = hiLo * 65536 + lo16 * iface.res + units;
    const low = t % 4294967296;
    const high = (hiProd - hiLo) / 65536 + (t - low) / 4294967296;
    if (high > 0xffffffff) throw new RangeError(`timestamp ${tsSec}s does not fit 64 bits at resolution ${iface.res}`);
    v.setUint32(o + 12, high, true);
    v.setUint32(o + 16, low, true);
    v.setUint32(o + 20, capLen, true);
    v.setUint32(o + 24, p.origLen ?? data.length, true);
    b.set(capLen === data.length ? data : data.subarray(0, capLen), o + 28);
    let at = o + 28 + capLen;
    while (at < o + 28 + padded) b[at++] = 0;
    if (comment !== undefined || hasFlags) {
      if (comment !== undefined) at = this.stringOption(at, OPT_COMMENT, comment);
      if (hasFlags) {
        v.setUint16(at, EPB_FLAGS, true);
        v.setUint16(at + 2, 4, true);
        v.setUint32(at + 4, ((p.flags ?? 0) & ~3) | dirBits, true);
        at += 8;
      }
      v.setUint32(at, 0, true);
      at += 4;
    }
    const len = at + 4 - o;
    v.setUint32(o + 4, len, true);
    v.setUint32(at, len, true);
    out.length = o + len;
  }

  /** Appends an SPB; it belongs to interface 0, which must exist, and has no timestamp. */
  writeSimplePacket(data: Uint8Array, origLen: number = data.length): void {
    const iface = this.ifaces[0];
    if (iface === undefined) throw new RangeError('a simple packet block needs interface 0: call addInterface first');
    let capLen = Math.min(origLen, data.length);
    if (iface.snapLen !== 0 && capLen > iface.snapLen) capLen = iface.snapLen;
    const padded = (capLen + 3) & ~3;
    const len = 16 + padded;
    const out = this.out;
    out.reserve(len);
    const v = out.view;
    const o = out.length;
    v.setUint32(o, BT_SPB, true);
    v.setUint32(o + 4, len, true);
    v.setUint32(o + 8, origLen, true);
    out.bytes.set(data.subarray(0, capLen), o + 12);
    out.bytes.fill(0, o + 12 + capLen, o + 12 + padded);
    v.setUint32(o + len - 4, len, true);
    out.length = o + len;
  }

  /** Appends an NRB with IPv4 and IPv6 records. */
  writeNameResolution(records: readonly NameRecord[]): void {
    const encoded = records.map((r) => {
      const addr = parseAddress(r.address);
      if (!addr) throw new RangeError(`name record address ${JSON.stringify(r.address)} is not IPv4 or IPv6 text`);
      const names = r.names.map((n) => utf8Encoder.encode(n));
      const n = addr.length + names.reduce((s, x) => s + x.length + 1, 0);
      if (n > 0xffff) throw new RangeError(`name record for ${r.address} is ${n} bytes, more than 65535`);
      return { addr, names, n };
    });
    const body = encoded.reduce((s, r) => s + 4 + ((r.n + 3) & ~3), 0) + 4;
    const len = 12 + body;
    const out = this.out;
    out.reserve(len);
    const v = out.view;
    const b = out.bytes;
    const o = out.length;
    b.fill(0, o, o + len);
    v.setUint32(o, BT_NRB, true);
    v.setUint32(o + 4, len, true);
    let at = o + 8;
    for (const r of encoded) {
      v.setUint16(at, r.addr.length === 4 ? 1 : 2, true);
      v.setUint16(at + 2, r.n, true);
      b.set(r.addr, at + 4);
      let s = at + 4 + r.addr.length;
      for (const name of r.names) {
        b.set(name, s);
        s += name.length + 1;
      }
      at += 4 + ((r.n + 3) & ~3);
    }
    at += 4; // nrb_record_end (already zero)
    v.setUint32(at, len, true);
    out.length = o + len;
  }

  /** Writes a block with a fixed body of `fixed` bytes (filled by `body`) and string/byte options. */
  private block(
    type: number,
    fixed: number,
    options: [number, string | Uint8Array | undefined][],
    body: (v: DataView, at: number) => void,
  ): void {
    let room = 12 + fixed + 4;
    for (const [, val] of options) if (val !== undefined) room += 4 + (typeof val === 'string' ? val.length * 3 : val.length) + 3;
    const out = this.out;
    out.reserve(room);
    const v = out.view;
    const o = out.length;
    v.setUint32(o, type, true);
    body(v, o + 8);
    let at = o + 8 + fixed;
    let any = false;
    for (const [code, val] of options) {
      if (val === undefined) continue;
      any = true;
      if (typeof val === 'string') at = this.stringOption(at, code, val);
      else at = this.bytesOption(at, code, val);
    }
    if (any) {
      v.setUint32(at, 0, true);
      at += 4;
    }
    const len = at + 4 - o;
    v.setUint32(o + 4, len, true);
    v.setUint32(at, len, true);
    out.length = o + len;
  }

  /** Writes a UTF-8 option at `at` (room already reserved); returns the offset after its padding. */
  private stringOption(at: number, code: number, text: string): number {
    const b = this.out.bytes;
    const { written } = utf8Encoder.encodeInto(text, b.subarray(at + 4, at + 4 + text.length * 3));
    if (written > 0xffff) throw new RangeError(`option ${code} is ${written} bytes, more than 65535`);
    const v = this.out.view;
    v.setUint16(at, code, true);
    v.setUint16(at + 2, written, true);
    const end = at + 4 + ((written + 3) & ~3);
    for (let i = at + 4 + written; i < end; i++) b[i] = 0;
    return end;
  }

  private bytesOption(at: number, code: number, value: Uint8Array): number {
    const v = this.out.view;
    v.setUint16(at, code, true);
    v.setUint16(at + 2, value.length, true);
    this.out.bytes.set(value, at + 4);
    const end = at + 4 + ((value.length + 3) & ~3);
    this.out.bytes.fill(0, at + 4 + value.length, end);
    return end;
  }
}
