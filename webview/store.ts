// webview/store: what the webview holds of a capture — a bounded window of its packets as rows of
// typed-array columns over the batch buffers they came in (no object per packet, so 100,000 rows
// cost the garbage collector nothing), each row's tcpdump-style summary, every TCP transition,
// connections and statistics. The host's capture store holds the whole capture (`extent`): past
// `hold` packets the rows far from where the user looks are let go (`compact`), and the list asks
// the host for a range again when it scrolls there. Batches are queued when they arrive and decoded
// in slices (`drain`), so a burst never holds a frame. A row's details (hops, dissection, addresses)
// are decoded when a view asks for them.
import { StringTable, decodeBatch } from '../engine/trace/codec';
import {
  HOP_KINDS,
  HOP_LEN,
  HOP_LEN_V1,
  LAYERS,
  Layer,
  PacketFlag,
  PACKET_FIXED_LEN,
  PATHS,
  type ConnectionInfo,
  type Hop,
  type HopKind,
  type LayerName,
  type PacketRecord,
  type PathName,
  type TraceBatch,
  type TraceStats,
  type TransitionRecord,
} from '../engine/trace/schema';
import { ipv4ToString, ipv6ToString } from '../engine/wire/address';
import { dissect, type Dissection } from '../engine/wire/dissect';
import { FAST_SUMMARY_ROOM, FastSummary } from '../engine/wire/fast-summary';
import { SummaryContext, summarize } from '../engine/wire/summary';
import { WEBVIEW_HOLD_PACKETS, type CaptureExtent, type WireBatch } from './protocol';

/** One packet as the views see it; the costly parts are worked out on first use. */
export interface PacketRow {
  readonly index: number;
  readonly id: number;
  readonly timeNs: number;
  readonly direction: 'rx' | 'tx';
  readonly path: PathName;
  readonly rule: number;
  readonly flowId: number;
  readonly connId: number;
  readonly wireLen: number;
  readonly flags: number;
  readonly hops: readonly Hop[];
  readonly bytes: Uint8Array;
  readonly dissection: Dissection;
  readonly src: string;
  readonly dst: string;
  readonly protocol: string;
  readonly info: string;
  /** TCP: seq, ack, payload length and flags, for the ladder. */
  readonly tcp?: { readonly seq: number; readonly ack: number; readonly len: number; readonly flags: number; readonly window: number; readonly srcPort: number };
  /** The hop that dropped it, if any. */
  readonly drop?: Hop;
  /** Retransmission: flagged by the engine, or the same TCP sequence range seen before in this direction. */
  readonly retransmission: boolean;
}

// meta column bits
const META_TX = 1;
const META_RETRANS = 2;
const META_DROP = 4;
const PATH_SHIFT = 3;

/** Records per decoding slice: small enough that one slice never costs a frame. */
const SLICE_RECORDS = 128;
const ROW_CACHE = 4096;
/** Rows remembered per layer: the latest packets through it, and the latest dropped there. */
const RECENT = 12;

/** What the store knows of each layer (station) from the rows it holds. */
export class LayerIndex {
  /** Bit i: a hop of kind HOP_KINDS[i] was seen at this layer. */
  readonly kinds = new Uint8Array(LAYERS.length);
  readonly packets = new Float64Array(LAYERS.length);
  readonly drops = new Float64Array(LAYERS.length);
  private readonly recent = new Int32Array(LAYERS.length * RECENT).fill(-1);
  private readonly recentDrops = new Int32Array(LAYERS.length * RECENT).fill(-1);

  add(row: number, hops: readonly Hop[]): void {
    for (const h of hops) {
      const l = Layer[h.layer];
      this.kinds[l] |= 1 << HOP_KINDS.indexOf(h.kind);
      const n = this.packets[l]++;
      this.recent[l * RECENT + (n % RECENT)] = row;
      if (h.verdict === 'drop') {
        const d = this.drops[l]++;
        this.recentDrops[l * RECENT + (d % RECENT)] = row;
      }
    }
  }

  kindsOf(layer: LayerName): HopKind[] {
    const bits = this.kinds[Layer[layer]];
    return HOP_KINDS.filter((_, i) => bits & (1 << i));
  }

  /** The latest rows through `layer` (or dropped there) still held, newest first. */
  latest(layer: LayerName, dropped = false): number[] {
    const l = Layer[layer];
    const n = dropped ? this.drops[l] : this.packets[l];
    const ring = dropped ? this.recentDrops : this.recent;
    const out: number[] = [];
    for (let k = 1; k <= Math.min(n, RECENT); k++) {
      const row = ring[l * RECENT + ((n - k) % RECENT)];
      if (row >= 0) out.push(row);
    }
    return out;
  }

  /** Rows were compacted: `moved[old]` is each row's new index, -1 for the rows let go. */
  remap(moved: Int32Array): void {
    for (const ring of [this.recent, this.recentDrops]) {
      for (let k = 0; k < ring.length; k++) if (ring[k] >= 0) ring[k] = ring[k] < moved.length ? moved[ring[k]] : -1;
    }
  }
}

const latin1 = new TextDecoder('latin1');

class Columns {
  capacity = 0;
  ids = new Uint32Array(0);
  times = new Float64Array(0);
  meta = new Uint8Array(0);
  rules = new Int16Array(0);
  flows = new Uint32Array(0);
  conns = new Uint32Array(0);
  wireLens = new Uint32Array(0);
  flags = new Uint16Array(0);
  /** Which batch buffer holds the record, and where. */
  buffer = new Uint32Array(0);
  offset = new Uint32Array(0);

  grow(min: number): void {
    if (min <= this.capacity) return;
    const cap = Math.max(min, this.capacity * 2, 1024);
    const g = <T extends Uint32Array | Float64Array | Uint8Array | Int16Array | Uint16Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(cap);
      b.set(a as never);
      return b;
    };
    this.ids = g(this.ids, Uint32Array);
    this.times = g(this.times, Float64Array);
    this.meta = g(this.meta, Uint8Array);
    this.rules = g(this.rules, Int16Array);
    this.flows = g(this.flows, Uint32Array);
    this.conns = g(this.conns, Uint32Array);
    this.wireLens = g(this.wireLens, Uint32Array);
    this.flags = g(this.flags, Uint16Array);
    this.buffer = g(this.buffer, Uint32Array);
    this.offset = g(this.offset, Uint32Array);
    this.capacity = cap;
  }
}

export class TraceStore {
  /** Rows held. */
  count = 0;
  /** What the host holds (its extent notifications and range answers); undefined when it has not said. */
  extent: CaptureExtent | undefined;
  /** The lowest and highest packet ids held now. */
  minId = Infinity;
  maxId = 0;
  /** Bumped by every compaction: row indices taken before it are stale. */
  generation = 0;
  /** The last compaction's map from old row index to new (-1: let go). */
  lastMoves: Int32Array = new Int32Array(0);
  /** Id ranges the host has answered since the last compaction: an id in one that is not held was never recorded. */
  private answered: [number, number][] = [];
  readonly byId = new Map<number, number>();
  readonly transitions: TransitionRecord[] = [];
  readonly connections = new Map<number, ConnectionInfo>();
  readonly stats: TraceStats[] = [];
  recordsDropped = 0;
  batchesSeen = 0;
  layers = new LayerIndex();
  /** The last damaged batch's message, until the next reset. */
  lastError: string | undefined;
  private cols = new Columns();
  private infos: string[] = [];
  private buffers: Uint8Array[] = [];
  /** The trace schema version each buffer's records are written in (its hop length follows from it). */
  private schemas: number[] = [];
  private queue: TraceBatch[] = [];
  private queuedRecords = 0;
  private strings = new StringTable();
  private summary = new SummaryContext();
  private fast = new FastSummary(this.summary);
  private readonly line = new Uint8Array(FAST_SUMMARY_ROOM + 16);
  /** Per TCP conversation and incarnation: the segments seen (seq, length, SYN/FIN), to spot retransmissions. */
  private seenSeq = new Map<string, Set<number>>();
  private readonly tcpScratch: TcpFields = { ip: 0, v6: false, t: 0, seq: 0, len: 0, flags: 0, fromLow: false };
  private incarnation = new Map<string, { n: number; synSeq: number }>();
  private readonly byConn = new Map<number, number[]>();
  private readonly transitionsByConn = new Map<number, TransitionRecord[]>();
  private seenTransitions = new Set<string>();
  private rowCache = new Map<number, Row>();

  /** `hold`: the packets kept at most between compactions' targets (the main view compacts past 1.25 × it). */
  constructor(readonly hold = WEBVIEW_HOLD_PACKETS) {}

  reset(): void {
    this.count = 0;
    this.extent = undefined;
    this.minId = Infinity;
    this.maxId = 0;
    this.answered = [];
    this.generation++;
    this.lastMoves = new Int32Array(0);
    this.byId.clear();
    this.transitions.length = 0;
    this.connections.clear();
    this.stats.length = 0;
    this.recordsDropped = 0;
    this.batchesSeen = 0;
    this.layers = new LayerIndex();
    this.lastError = undefined;
    this.cols = new Columns();
    this.infos = [];
    this.buffers = [];
    this.schemas = [];
    this.seenTransitions = new Set();
    this.queue = [];
    this.queuedRecords = 0;
    this.strings = new StringTable();
    this.summary = new SummaryContext();
    this.fast = new FastSummary(this.summary);
    this.seenSeq = new Map();
    this.incarnation = new Map();
    this.idBits = new Uint8Array(0);
    this.byConn.clear();
    this.transitionsByConn.clear();
    this.rowCache = new Map();
  }

  /** Records waiting to be decoded. */
  get pending(): number {
    return this.queuedRecords;
  }

  /**
   * Queues one batch, cut into slices of SLICE_RECORDS records (the batch's strings go with the
   * first). A batch whose record lengths do not add up is queued whole: decoding it keeps every good
   * record before the damage and reports the rest.
   */
  enqueue(w: WireBatch): void {
    this.batchesSeen++;
    this.recordsDropped += w.dropped;
    const records = new Uint8Array(w.records);
    const v = new DataView(w.records);
    const batch = (from: number, to: number, n: number, first: boolean): TraceBatch => ({
      schema: w.schema as TraceBatch['schema'],
      seq: w.seq,
      records: records.subarray(from, to),
      recordCount: n,
      strings: first ? w.strings : [],
      dropped: 0,
    });
    let from = 0;
    let n = 0;
    let at = 0;
    let first = true;
    while (at < records.length) {
      const len = at + 8 <= records.length ? v.getUint32(at + 4, true) : 0;
      if (len < 8 || len % 4 !== 0 || at + len > records.length) {
        at = records.length;
        n++;
        break;
      }
      at += len;
      n++;
      if (n === SLICE_RECORDS) {
        this.queue.push(batch(from, at, n, first));
        this.queuedRecords += n;
        first = false;
        from = at;
        n = 0;
      }
    }
    if (n > 0 || first) {
      this.queue.push(batch(from, records.length, n, first));
      this.queuedRecords += n;
    }
  }

  /** Decodes queued slices until `budgetMs` has passed; returns the number of packets added. */
  drain(budgetMs: number): number {
    const start = performance.now();
    const before = this.count;
    while (this.queue.length > 0) {
      const b = this.queue.shift()!;
      this.queuedRecords -= b.recordCount;
      const err = this.addBatch(b);
      if (err) this.lastError = `damaged trace batch ${b.seq}: ${err}`;
      if (performance.now() - start >= budgetMs) break;
    }
    return this.count - before;
  }

  /** Decodes every queued slice now. */
  drainAll(): void {
    this.drain(Infinity);
  }

  /** Decodes one slice; packets already held (a range answered twice) are skipped. Returns the error, if the slice was damaged. */
  private addBatch(batch: TraceBatch): string | undefined {
    const buf = batch.records;
    const bufIndex = this.buffers.length;
    this.buffers.push(buf);
    this.schemas.push(batch.schema);
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    try {
      decodeBatch(batch, this.strings, (r) => {
        const here = at;
        at += v.getUint32(here + 4, true);
        if (r.type === 'transition') this.addTransition(r);
        else if (!this.byId.has(r.packetId)) this.addPacket(r, bufIndex, here);
      });
    } catch (e) {
      return (e as Error).message;
    }
    return undefined;
  }

  private addTransition(t: TransitionRecord): void {
    // A transition sent twice (live, then again in a range answer) is held once.
    const key = `${t.connId}/${t.timeNs}/${t.from}/${t.to}/${t.packetId}/${t.event}`;
    if (this.seenTransitions.has(key)) return;
    this.seenTransitions.add(key);
    this.transitions.push(t);
    let list = this.transitionsByConn.get(t.connId);
    if (!list) this.transitionsByConn.set(t.connId, (list = []));
    list.push(t);
  }

  private addPacket(r: PacketRecord, bufIndex: number, at: number): void {
    const i = this.count;
    const c = this.cols;
    c.grow(i + 1);
    c.ids[i] = r.packetId;
    c.times[i] = r.timeNs;
    c.rules[i] = r.rule;
    c.flows[i] = r.flowId;
    c.conns[i] = r.connId;
    c.wireLens[i] = r.wireLen;
    c.flags[i] = r.flags;
    c.buffer[i] = bufIndex;
    c.offset[i] = at;
    let meta = (r.direction === 'tx' ? META_TX : 0) | (PATHS.indexOf(r.path) << PATH_SHIFT);
    for (const h of r.hops) if (h.verdict === 'drop') meta |= META_DROP;
    if ((r.flags & PacketFlag.RETRANSMISSION) !== 0 || this.retransmitted(r)) meta |= META_RETRANS;
    c.meta[i] = meta;
    this.layers.add(i, r.hops);
    this.infos[i] = this.summarize(r);
    this.byId.set(r.packetId, i);
    if (r.packetId < this.minId) this.minId = r.packetId;
    if (r.packetId > this.maxId) this.maxId = r.packetId;
    if (r.connId !== 0) {
      let list = this.byConn.get(r.connId);
      if (!list) this.byConn.set(r.connId, (list = []));
      // In packet-number order (records arrive a little out of it).
      let at = list.length;
      while (at > 0 && this.cols.ids[list[at - 1]] > r.packetId) at--;
      list.splice(at, 0, i);
    }
    this.count = i + 1;
  }

  /** The tcpdump line without its leading "IP ": the byte-level fast path, else dissect + summarize (same context, same text). */
  private summarize(r: PacketRecord): string {
    const n = this.fast.write(r.bytes, 1, r.wireLen, this.line, 0);
    const text = n >= 0 ? latin1.decode(this.line.subarray(0, n)) : summarize(dissect(r.bytes), r.wireLen, this.summary);
    return text.startsWith('IP ') ? text.slice(3) : text;
  }

  /** Per packet id, two bits: seen before (let go and asked for again), and a retransmission when first seen. */
  private idBits = new Uint8Array(0);

  /** A packet asked for again after a compaction keeps what it was found to be the first time. */
  private retransmitted(r: PacketRecord): boolean {
    const id = r.packetId;
    const byte = id >> 2;
    if (byte >= this.idBits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.idBits.length * 2, 4096));
      grown.set(this.idBits);
      this.idBits = grown;
    }
    const shift = (id & 3) * 2;
    const bits = (this.idBits[byte] >> shift) & 3;
    if (bits & 1) return (bits & 2) !== 0;
    const again = this.seenBefore(r);
    this.idBits[byte] |= (again ? 3 : 1) << shift;
    return again;
  }

  /**
   * A TCP segment carrying data, SYN or FIN whose sequence range this sender already sent in this
   * incarnation of the conversation, keyed by 4-tuple (not by the engine's connection id, which a
   * segment lost on the wire never got). A new SYN on a 4-tuple starts a new incarnation (port
   * reuse is not retransmission); a copy made by an impairment (duplicate) is not the sender
   * sending again.
   */
  private seenBefore(r: PacketRecord): boolean {
    const t = this.tcpScratch;
    if (!readTcp(r.bytes, t) || (t.len === 0 && (t.flags & 0x03) === 0)) return false;
    const tuple = tupleKey(r.bytes, t);
    let inc = this.incarnation.get(tuple);
    if (inc === undefined) this.incarnation.set(tuple, (inc = { n: 0, synSeq: -1 }));
    if ((t.flags & 0x12) === 0x02 && inc.synSeq !== t.seq) {
      inc.n++;
      inc.synSeq = t.seq;
    }
    const key = `${tuple}${String.fromCharCode(inc.n & 0xffff, t.fromLow ? 1 : 2)}`;
    let seen = this.seenSeq.get(key);
    if (!seen) this.seenSeq.set(key, (seen = new Set()));
    // seq (32 bits) + length (16 bits) + SYN/FIN (2 bits): exact in a double.
    const seg = t.seq + t.len * 2 ** 32 + (t.flags & 0x03) * 2 ** 48;
    const again = seen.has(seg) && (r.flags & PacketFlag.IMPAIRED) === 0;
    seen.add(seg);
    return again;
  }

  // ---- the window

  /** The ids the list spans: the host's extent, widened by what arrived since it said. */
  span(): { firstId: number; lastId: number } | undefined {
    const e = this.extent;
    if (e === undefined || e.held === 0) return this.count === 0 ? undefined : { firstId: this.minId, lastId: this.maxId };
    return { firstId: Math.min(e.firstId, this.count ? this.minId : Infinity), lastId: Math.max(e.lastId, this.maxId) };
  }

  /** The host answered a range: ids in it that are not held were never recorded (sampled away by the engine). */
  noteAnswered(fromId: number, toId: number): void {
    this.answered.push([fromId, toId]);
    if (this.answered.length > 64) this.answered.splice(0, 32);
  }

  /** True when packet `id` is not held and the host said it has no such packet. */
  isAbsent(id: number): boolean {
    // Until what came is decoded, it may be among it.
    if (this.byId.has(id) || this.queuedRecords > 0) return false;
    return this.answered.some(([a, b]) => id >= a && id <= b);
  }

  /**
   * Keeps at most `hold` rows: those with ids nearest `centerId` (the newest when following), and
   * lets the rest go — their batch buffers with them, once no kept row is in one. Transitions,
   * connections, statistics and the per-layer counts stay whole. Returns the rows let go.
   */
  compact(centerId: number): number {
    if (this.count <= this.hold) return 0;
    const c = this.cols;
    const n = this.count;
    // The window of ids to keep: `hold` ids around the center, inside what is held.
    let lo = Math.max(this.minId, Math.round(centerId - this.hold / 2));
    let hi = lo + this.hold - 1;
    if (hi > this.maxId) {
      hi = this.maxId;
      lo = Math.max(this.minId, hi - this.hold + 1);
    }
    const moved = new Int32Array(n).fill(-1);
    const next = new Columns();
    next.grow(Math.min(n, this.hold) + 1024);
    const infos: string[] = [];
    const bufferMap = new Map<number, number>();
    const buffers: Uint8Array[] = [];
    const schemas: number[] = [];
    let k = 0;
    let minId = Infinity;
    let maxId = 0;
    for (let i = 0; i < n; i++) {
      const id = c.ids[i];
      if (id < lo || id > hi || k >= this.hold) continue;
      let b = bufferMap.get(c.buffer[i]);
      if (b === undefined) {
        b = buffers.length;
        bufferMap.set(c.buffer[i], b);
        buffers.push(this.buffers[c.buffer[i]]);
        schemas.push(this.schemas[c.buffer[i]]);
      }
      next.ids[k] = id;
      next.times[k] = c.times[i];
      next.meta[k] = c.meta[i];
      next.rules[k] = c.rules[i];
      next.flows[k] = c.flows[i];
      next.conns[k] = c.conns[i];
      next.wireLens[k] = c.wireLens[i];
      next.flags[k] = c.flags[i];
      next.buffer[k] = b;
      next.offset[k] = c.offset[i];
      infos[k] = this.infos[i];
      moved[i] = k;
      if (id < minId) minId = id;
      if (id > maxId) maxId = id;
      k++;
    }
    this.cols = next;
    this.infos = infos;
    this.buffers = buffers;
    this.schemas = schemas;
    this.count = k;
    this.minId = minId;
    this.maxId = maxId;
    this.byId.clear();
    for (let i = 0; i < k; i++) this.byId.set(next.ids[i], i);
    for (const [conn, rows] of this.byConn) {
      const kept = rows.map((r) => moved[r]).filter((r) => r >= 0);
      if (kept.length > 0) this.byConn.set(conn, kept);
      else this.byConn.delete(conn);
    }
    this.layers.remap(moved);
    this.rowCache = new Map();
    this.answered = [];
    this.lastMoves = moved;
    this.generation++;
    return n - k;
  }

  // ---- reading

  id(i: number): number {
    return this.cols.ids[i];
  }

  timeNs(i: number): number {
    return this.cols.times[i];
  }

  path(i: number): PathName {
    return PATHS[this.cols.meta[i] >> PATH_SHIFT] ?? 'none';
  }

  isTx(i: number): boolean {
    return (this.cols.meta[i] & META_TX) !== 0;
  }

  isDropped(i: number): boolean {
    return (this.cols.meta[i] & META_DROP) !== 0;
  }

  isRetransmission(i: number): boolean {
    return (this.cols.meta[i] & META_RETRANS) !== 0;
  }

  connIdOf(i: number): number {
    return this.cols.conns[i];
  }

  wireLen(i: number): number {
    return this.cols.wireLens[i];
  }

  info(i: number): string {
    return this.infos[i];
  }

  /** The frame bytes kept of row i (a view into its batch). */
  frame(i: number): Uint8Array {
    const b = this.cols.buffer[i];
    const buf = this.buffers[b];
    const at = this.cols.offset[i];
    const hopCount = buf[at + 3];
    const capLen = buf[at + 36] | (buf[at + 37] << 8);
    const from = at + PACKET_FIXED_LEN + hopCount * (this.schemas[b] === 1 ? HOP_LEN_V1 : HOP_LEN);
    return buf.subarray(from, from + capLen);
  }

  /** Row i's full record, decoded again from its batch bytes. */
  record(i: number): PacketRecord {
    return this.recordLoader(i)();
  }

  /** Decodes row i's record when called, from the bytes it has now (a later compaction does not change them). */
  recordLoader(i: number): () => PacketRecord {
    const b = this.cols.buffer[i];
    const buf = this.buffers[b];
    const schema = this.schemas[b] as TraceBatch['schema'];
    const at = this.cols.offset[i];
    const strings = this.strings;
    return () => {
      const len = buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16) | (buf[at + 7] << 24);
      let out: PacketRecord | undefined;
      decodeBatch({ schema, seq: 0, records: buf.subarray(at, at + len), recordCount: 1, strings: [], dropped: 0 }, strings, (r) => {
        if (r.type === 'packet') out = r;
      });
      return out!;
    };
  }

  /** Row i as an object for the views (cached for the rows in use). */
  row(i: number): PacketRow {
    let r = this.rowCache.get(i);
    if (r) return r;
    r = new Row(this, i);
    if (this.rowCache.size >= ROW_CACHE) this.rowCache.delete(this.rowCache.keys().next().value!);
    this.rowCache.set(i, r);
    return r;
  }

  get(id: number): PacketRow | undefined {
    const i = this.byId.get(id);
    return i === undefined ? undefined : this.row(i);
  }

  /** A connection's transitions in time order. */
  transitionsOf(connId: number): readonly TransitionRecord[] {
    return this.transitionsByConn.get(connId) ?? [];
  }

  /** A connection's packets (both directions) in capture order. */
  packetsOf(connId: number): PacketRow[] {
    return (this.byConn.get(connId) ?? []).map((i) => this.row(i));
  }

  /** The number of packets a connection has. */
  packetCountOf(connId: number): number {
    return this.byConn.get(connId)?.length ?? 0;
  }

  /** Every connection the trace mentions (by info, transitions or packets), by id. */
  connectionIds(): number[] {
    const ids = new Set<number>(this.connections.keys());
    for (const id of this.transitionsByConn.keys()) ids.add(id);
    return [...ids].sort((a, b) => a - b);
  }
}

/**
 * Row i of a store, taken when it is made (so that a view holding it is unaffected by a compaction);
 * each costly part is worked out once, when a view first reads it.
 */
class Row implements PacketRow {
  private rec: PacketRecord | undefined;
  private diss: Dissection | undefined;
  private ends: { src: string; dst: string; protocol: string } | undefined;
  private tcpFields: PacketRow['tcp'] | null = null;
  readonly id: number;
  readonly timeNs: number;
  readonly direction: 'rx' | 'tx';
  readonly path: PathName;
  readonly connId: number;
  readonly wireLen: number;
  readonly info: string;
  readonly retransmission: boolean;
  private readonly dropped: boolean;

  constructor(store: TraceStore, readonly index: number) {
    this.id = store.id(index);
    this.timeNs = store.timeNs(index);
    this.direction = store.isTx(index) ? 'tx' : 'rx';
    this.path = store.path(index);
    this.connId = store.connIdOf(index);
    this.wireLen = store.wireLen(index);
    this.info = store.info(index);
    this.retransmission = store.isRetransmission(index);
    this.dropped = store.isDropped(index);
    // Decoding the record now would cost every row in view: the loader keeps its bytes for when a view asks.
    this.load = store.recordLoader(index);
  }

  private readonly load: () => PacketRecord;

  private get record(): PacketRecord {
    return (this.rec ??= this.load());
  }

  get rule(): number { return this.record.rule; }
  get flowId(): number { return this.record.flowId; }
  get flags(): number { return this.record.flags; }
  get hops(): readonly Hop[] { return this.record.hops; }
  get bytes(): Uint8Array { return this.record.bytes; }
  get drop(): Hop | undefined { return this.dropped ? this.hops.find((h) => h.verdict === 'drop') : undefined; }
  get dissection(): Dissection { return (this.diss ??= dissect(this.bytes)); }
  get src(): string { return this.endpoints().src; }
  get dst(): string { return this.endpoints().dst; }
  get protocol(): string { return this.endpoints().protocol; }

  get tcp(): PacketRow['tcp'] {
    if (this.tcpFields === null) {
      const d = this.dissection;
      const t = d.tcp;
      const ipPayload = d.ipv4 ? d.ipv4.totalLength - d.ipv4.headerLen : d.ipv6 ? d.ipv6.payloadLength : 0;
      this.tcpFields = t ? { seq: t.seq, ack: t.ack, len: Math.max(0, ipPayload - t.headerLen), flags: t.flags, window: t.window, srcPort: t.srcPort } : undefined;
    }
    return this.tcpFields;
  }

  private endpoints(): { src: string; dst: string; protocol: string } {
    if (this.ends) return this.ends;
    const d = this.dissection;
    const transport = d.tcp ? 'TCP' : d.udp ? 'UDP' : d.icmp ? 'ICMP' : undefined;
    if (d.arp) this.ends = { src: ipv4ToString(d.arp.senderProtocol), dst: ipv4ToString(d.arp.targetProtocol), protocol: 'ARP' };
    else if (d.ipv4) this.ends = { src: ipv4ToString(d.ipv4.src), dst: ipv4ToString(d.ipv4.dst), protocol: transport ?? `IP/${d.ipv4.protocol}` };
    else if (d.ipv6) this.ends = { src: ipv6ToString(d.ipv6.src), dst: ipv6ToString(d.ipv6.dst), protocol: transport ?? (d.icmpv6 ? 'ICMPv6' : 'IPv6') };
    else this.ends = { src: '', dst: '', protocol: 'ETH' };
    return this.ends;
  }
}

/** Where a frame's TCP header is and the fields retransmission spotting needs (filled in place). */
interface TcpFields {
  ip: number;
  v6: boolean;
  t: number;
  seq: number;
  len: number;
  flags: number;
  /** Set by tupleKey: the sender is the conversation's lower endpoint. */
  fromLow: boolean;
}

/** Reads an Ethernet frame's TCP fields (802.1Q tags, IPv4 or IPv6 without extension headers); false when it has none. */
function readTcp(b: Uint8Array, out: TcpFields): boolean {
  if (b.length < 14) return false;
  let at = 12;
  let type = (b[at] << 8) | b[at + 1];
  while ((type === 0x8100 || type === 0x88a8) && at + 6 <= b.length) {
    at += 4;
    type = (b[at] << 8) | b[at + 1];
  }
  const ip = at + 2;
  let t: number;
  let payload: number;
  if (type === 0x0800) {
    if (b.length < ip + 20 || b[ip + 9] !== 6 || ((b[ip + 6] << 8) | b[ip + 7]) & 0x1fff) return false;
    const hl = (b[ip] & 15) * 4;
    t = ip + hl;
    payload = ((b[ip + 2] << 8) | b[ip + 3]) - hl;
    out.v6 = false;
  } else if (type === 0x86dd) {
    if (b.length < ip + 40 || b[ip + 6] !== 6) return false;
    t = ip + 40;
    payload = (b[ip + 4] << 8) | b[ip + 5];
    out.v6 = true;
  } else return false;
  if (b.length < t + 14) return false;
  out.ip = ip;
  out.t = t;
  out.seq = ((b[t + 4] << 24) | (b[t + 5] << 16) | (b[t + 6] << 8) | b[t + 7]) >>> 0;
  out.len = Math.max(0, payload - (b[t + 12] >> 4) * 4);
  out.flags = ((b[t + 12] & 1) << 8) | b[t + 13];
  return true;
}

/**
 * The conversation's 4-tuple as a short string key (16-bit units, not text), lower endpoint first;
 * sets `f.fromLow`.
 */
function tupleKey(b: Uint8Array, f: TcpFields): string {
  const n = f.v6 ? 16 : 4;
  const srcAt = f.ip + (f.v6 ? 8 : 12);
  const dstAt = srcAt + n;
  let cmp = 0;
  for (let i = 0; i < n && cmp === 0; i++) cmp = b[srcAt + i] - b[dstAt + i];
  const srcPort = (b[f.t] << 8) | b[f.t + 1];
  const dstPort = (b[f.t + 2] << 8) | b[f.t + 3];
  f.fromLow = cmp < 0 || (cmp === 0 && srcPort <= dstPort);
  const [loAt, hiAt, loPort, hiPort] = f.fromLow ? [srcAt, dstAt, srcPort, dstPort] : [dstAt, srcAt, dstPort, srcPort];
  let key = '';
  for (let i = 0; i < n; i += 2) key += String.fromCharCode((b[loAt + i] << 8) | b[loAt + i + 1]);
  key += String.fromCharCode(loPort);
  for (let i = 0; i < n; i += 2) key += String.fromCharCode((b[hiAt + i] << 8) | b[hiAt + i + 1]);
  return key + String.fromCharCode(hiPort);
}
