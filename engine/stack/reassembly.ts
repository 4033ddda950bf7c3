// stack: IPv4 reassembly (RFC 791 §3.2 "Fragmentation and Reassembly", hole bookkeeping after
// RFC 815) with bounded memory and a timeout.
//
// Each datagram in progress keeps its fragments as sorted, disjoint byte ranges (the complement of
// RFC 815's hole list). Overlaps are not merged: an exact duplicate is ignored, any other overlap
// discards the whole datagram, as Linux has done since 2018 (CVE-2018-5391) and as RFC 5722 requires
// for IPv6 — overlapping fragments are never legitimate and are a classic evasion trick.

export interface ReassemblyConfig {
  /** RFC 791 suggests 15 s as the lower bound of the timer; Linux ipfrag_time is 30 s. */
  readonly timeoutMs: number;
  /** Bytes held across all datagrams in progress (Linux ipfrag_high_thresh: 4 MiB). */
  readonly maxBytes: number;
  /** Datagrams in progress at most. */
  readonly maxDatagrams: number;
}

export const DEFAULT_REASSEMBLY_CONFIG: ReassemblyConfig = Object.freeze({ timeoutMs: 30_000, maxBytes: 4 << 20, maxDatagrams: 256 });

/** Per-fragment bookkeeping charged against the memory bound, so empty fragments are not free. */
const FRAGMENT_OVERHEAD = 64;

interface Piece {
  readonly start: number;
  readonly end: number;
  readonly data: Uint8Array;
}

interface Datagram {
  readonly src: number;
  readonly dst: number;
  readonly protocol: number;
  readonly id: number;
  readonly key: number;
  pieces: Piece[];
  /** Payload length, known once the last fragment (MF = 0) has arrived. */
  total: number | undefined;
  /** The first fragment's header and first 8 payload bytes: the ICMP quote (RFC 792), and the header the datagram gets back. */
  first: Uint8Array | undefined;
  firstHeaderLen: number;
  bytes: number;
  expires: number;
}

export type ReassemblyResult =
  | { readonly kind: 'held' }
  /** The whole datagram: header (from the first fragment, offset and MF cleared) and payload. */
  | { readonly kind: 'complete'; readonly datagram: Uint8Array; readonly headerLen: number }
  | { readonly kind: 'drop'; readonly reason: 'frag-bad-length' | 'frag-too-big' | 'frag-duplicate' | 'frag-overlap' | 'frag-inconsistent' | 'frag-memory' };

export interface ExpiredDatagram {
  /** The first fragment's header and 8 bytes, when fragment zero arrived (RFC 1122 §3.3.2: only then is an ICMP time exceeded sent). */
  readonly quote: Uint8Array | undefined;
  readonly src: number;
}

export class Reassembler {
  private readonly datagrams: Datagram[] = [];
  private heldBytes = 0;
  readonly stats = { completed: 0, timedOut: 0, evicted: 0, discarded: 0 };

  constructor(readonly config: ReassemblyConfig = DEFAULT_REASSEMBLY_CONFIG) {}

  get inProgress(): number {
    return this.datagrams.length;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * One fragment. `header` is its IP header (headerLen bytes), `payload` its data; offset in bytes.
   * Everything kept is copied.
   */
  add(
    src: number,
    dst: number,
    protocol: number,
    id: number,
    offset: number,
    moreFragments: boolean,
    header: Uint8Array,
    payload: Uint8Array,
    now: number,
    evicted: (d: ExpiredDatagram) => void,
  ): ReassemblyResult {
    const len = payload.length;
    const end = offset + len;
    // RFC 791: every fragment but the last carries a multiple of 8 octets.
    if (moreFragments && (len === 0 || (len & 7) !== 0)) return DROP_BAD_LENGTH;
    if (end > 65535 - header.length) return DROP_TOO_BIG;
    const key = hashKey(src, dst, protocol, id);
    let d = this.find(key, src, dst, protocol, id);
    if (d === undefined) {
      const cost = len + FRAGMENT_OVERHEAD;
      if (cost > this.config.maxBytes) return DROP_MEMORY;
      this.evictFor(cost, evicted);
      d = { src, dst, protocol, id, key, pieces: [], total: undefined, first: undefined, firstHeaderLen: 0, bytes: 0, expires: now + this.config.timeoutMs };
      this.datagrams.push(d);
    }
    // The last fragment fixes the length; everything must agree with it.
    if (!moreFragments) {
      if (d.total !== undefined && d.total !== end) return this.discard(d, DROP_INCONSISTENT);
      d.total = end;
      for (const p of d.pieces) if (p.end > end) return this.discard(d, DROP_INCONSISTENT);
    } else if (d.total !== undefined && end > d.total) {
      return this.discard(d, DROP_INCONSISTENT);
    }
    // Find the insertion point and check the neighbours for overlap.
    const pieces = d.pieces;
    let i = 0;
    while (i < pieces.length && pieces[i].end <= offset) i++;
    if (i < pieces.length && pieces[i].start < end) {
      const p = pieces[i];
      if (p.start === offset && p.end === end && equalBytes(p.data, payload)) return DROP_DUPLICATE;
      return this.discard(d, DROP_OVERLAP);
    }
    const cost = len + FRAGMENT_OVERHEAD;
    if (this.heldBytes + cost > this.config.maxBytes) {
      this.evictFor(cost, evicted, d);
      if (this.heldBytes + cost > this.config.maxBytes) return this.discard(d, DROP_MEMORY);
    }
    pieces.splice(i, 0, { start: offset, end, data: payload.slice() });
    d.bytes += cost;
    this.heldBytes += cost;
    if (offset === 0) {
      const q = new Uint8Array(header.length + Math.min(8, len));
      q.set(header, 0);
      q.set(payload.subarray(0, Math.min(8, len)), header.length);
      d.first = q;
      d.firstHeaderLen = header.length;
    }
    if (d.total === undefined || d.first === undefined) return HELD;
    // Complete when the ranges run without a gap from 0 to the total (RFC 815: the hole list is empty).
    let at = 0;
    for (const p of pieces) {
      if (p.start !== at) return HELD;
      at = p.end;
    }
    if (at !== d.total) return HELD;
    const hl = d.firstHeaderLen;
    const out = new Uint8Array(hl + d.total);
    out.set(d.first.subarray(0, hl), 0);
    for (const p of pieces) out.set(p.data, hl + p.start);
    this.remove(d);
    this.stats.completed++;
    return { kind: 'complete', datagram: out, headerLen: hl };
  }

  /** Datagrams whose timer ran out (RFC 791: the reassembly timer). */
  poll(now: number, expired: (d: ExpiredDatagram) => void): void {
    for (let i = 0; i < this.datagrams.length; ) {
      const d = this.datagrams[i];
      if (now >= d.expires) {
        this.remove(d);
        this.stats.timedOut++;
        expired({ quote: d.first, src: d.src });
      } else i++;
    }
  }

  nextDeadline(): number | undefined {
    let at: number | undefined;
    for (const d of this.datagrams) if (at === undefined || d.expires < at) at = d.expires;
    return at;
  }

  private find(key: number, src: number, dst: number, protocol: number, id: number): Datagram | undefined {
    for (const d of this.datagrams) {
      if (d.key === key && d.src === src && d.dst === dst && d.protocol === protocol && d.id === id) return d;
    }
    return undefined;
  }

  /** Frees room for `cost` bytes and one more datagram by dropping the oldest others (Linux evicts the same way). */
  private evictFor(cost: number, evicted: (d: ExpiredDatagram) => void, keep?: Datagram): void {
    while (this.datagrams.length > 0) {
      const tooMany = keep === undefined && this.datagrams.length >= this.config.maxDatagrams;
      if (!tooMany && this.heldBytes + cost <= this.config.maxBytes) return;
      const victim = this.datagrams.find((d) => d !== keep);
      if (victim === undefined) return;
      this.remove(victim);
      this.stats.evicted++;
      evicted({ quote: undefined, src: victim.src });
    }
  }

  private discard(d: Datagram, result: ReassemblyResult): ReassemblyResult {
    this.remove(d);
    this.stats.discarded++;
    return result;
  }

  private remove(d: Datagram): void {
    const i = this.datagrams.indexOf(d);
    if (i >= 0) this.datagrams.splice(i, 1);
    this.heldBytes -= d.bytes;
  }
}

const HELD: ReassemblyResult = Object.freeze({ kind: 'held' });
const DROP_BAD_LENGTH: ReassemblyResult = Object.freeze({ kind: 'drop', reason: 'frag-bad-length' });
const DROP_TOO_BIG: ReassemblyResult = Object.freeze({ kind: 'drop', reason: 'frag-too-big' });
const DROP_DUPLICATE: ReassemblyResult = Object.freeze({ kind: 'drop', reason: 'frag-duplicate' });
const DROP_OVERLAP: ReassemblyResult = Object.freeze({ kind: 'drop', reason: 'frag-overlap' });
const DROP_INCONSISTENT: ReassemblyResult = Object.freeze({ kind: 'drop', reason: 'frag-inconsistent' });
const DROP_MEMORY: ReassemblyResult = Object.freeze({ kind: 'drop', reason: 'frag-memory' });

function hashKey(src: number, dst: number, protocol: number, id: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ dst ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ ((protocol << 16) | id) ^ (h >>> 16), 0x27d4eb2d);
  return (h ^ (h >>> 15)) >>> 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
