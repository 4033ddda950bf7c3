// trace: the recorder — writes packet and transition records (layout in schema.ts) straight into
// preallocated memory, with no object allocated per packet, and hands out finished batches.
//
// A packet's hops are added while its record is open. An outermost record is written in place in the
// batch buffer. Records may nest (a record opened while another is open closes first), so each
// nesting depth has a scratch area: a nested record, and an outer one it displaces, are built there
// and reach the batch when they close.
import {
  HOP_LEN,
  Layer,
  PACKET_FIXED_LEN,
  PacketFlag,
  RecordType,
  TCP_STATE_NAMES,
  TRACE_SCHEMA_VERSION,
  TRANSITION_LEN,
  TransitionFlag,
  type Direction,
  type HopKind,
  type LayerName,
  type PathName,
  type TcpStateName,
  type TcpVarsSnapshot,
  type TraceBatch,
  type Verdict,
} from './schema';

export type TraceLevel = 'off' | 'summary' | 'full';

/** A packet's hops as parallel arrays (the NIC's PacketTrace has this shape). */
export interface PacketHops {
  readonly count: number;
  readonly layers: readonly LayerName[];
  readonly kinds: readonly HopKind[];
  readonly verdicts: readonly Verdict[];
  readonly reasons: readonly (string | undefined)[];
  readonly offsets: ArrayLike<number>;
  readonly durations: ArrayLike<number>;
}

export interface RecorderOptions {
  readonly level?: TraceLevel;
  /** Bytes of each frame kept at level full. */
  readonly snapLen?: number;
  /** Size of one batch buffer; a batch is cut when full. */
  readonly batchBytes?: number;
  /** Most hops a record holds; more are counted in `hopsDropped`. */
  readonly maxHops?: number;
  /**
   * Batches hand out their buffer instead of a copy, and the owner gives it back with `recycle`
   * (the engine process, once a batch is sent). Off by default: a batch kept stays valid.
   */
  readonly recycleBatches?: boolean;
}

const MAX_DEPTH = 8;
const DIRECTION_ID: Record<Direction, number> = { rx: 0, tx: 1 };
const PATH_ID: Record<PathName, number> = { none: 0, bypass: 1, kernel: 2, drop: 3 };
const KIND_ID: Record<HopKind, number> = { measured: 0, span: 1, emulated: 2 };
const VERDICT_ID: Record<Verdict, number> = { pass: 0, deliver: 1, forward: 2, drop: 3 };
const STATE_ID = new Map<string, number>(TCP_STATE_NAMES.map((s, i) => [s, i]));

/** Layers a summary-level trace keeps: where a packet entered, was steered, and left. */
const SUMMARY_LAYERS = new Set<number>([Layer['nic.rx'], Layer.steer, Layer['nic.tx'], Layer.wire]);

export class TraceRecorder {
  level: TraceLevel;
  readonly snapLen: number;
  readonly maxHops: number;
  /** Hops beyond maxHops, and records too large for a batch. */
  hopsDropped = 0;
  recordsTooLarge = 0;

  private readonly batchBytes: number;
  private buf: Uint8Array;
  private view: DataView;
  private used = 0;
  private count = 0;
  private seq = 0;
  /** Batches hand out their buffer (no copy) and the owner gives it back with `recycle`. */
  private readonly recycling: boolean;
  private readonly pool: Uint8Array[] = [];
  /** The largest record: an outermost record is written in place when this much room is left. */
  private readonly maxRecord: number;
  private readonly scratch: Uint8Array[] = [];
  private readonly scratchViews: DataView[] = [];
  /** Per open record: where it is being written in the batch buffer, or -1 when in its scratch area. */
  private readonly openAt = new Int32Array(MAX_DEPTH);
  private readonly openHops = new Uint8Array(MAX_DEPTH);
  /** The frame each open record will keep, and how many of its bytes. */
  private readonly pendingFrame: (Uint8Array | undefined)[] = new Array(MAX_DEPTH);
  private readonly pendingCap = new Uint16Array(MAX_DEPTH);
  private depth = 0;
  /** The last hop codes `packet` wrote, by direction and hop position, and what they were made of. */
  private readonly code: Uint32Array;
  private readonly codeLayer: (LayerName | undefined)[];
  private readonly codeKind: (HopKind | undefined)[];
  private readonly codeVerdict: (Verdict | undefined)[];
  private nextPacketId = 1;
  private readonly strings = new Map<string, number>();
  private newStrings: [number, string][] = [];
  private readonly ready: TraceBatch[] = [];

  constructor(options: RecorderOptions = {}) {
    this.level = options.level ?? 'full';
    this.snapLen = options.snapLen ?? 256;
    this.maxHops = options.maxHops ?? 24;
    this.batchBytes = options.batchBytes ?? 1 << 20;
    this.recycling = options.recycleBatches ?? false;
    this.buf = new Uint8Array(this.batchBytes);
    this.view = new DataView(this.buf.buffer);
    this.maxRecord = PACKET_FIXED_LEN + this.maxHops * HOP_LEN + this.snapLen + 4;
    this.code = new Uint32Array(2 * this.maxHops);
    this.codeLayer = new Array<LayerName | undefined>(2 * this.maxHops).fill(undefined);
    this.codeKind = new Array<HopKind | undefined>(2 * this.maxHops).fill(undefined);
    this.codeVerdict = new Array<Verdict | undefined>(2 * this.maxHops).fill(undefined);
    for (let i = 0; i < MAX_DEPTH; i++) {
      const s = new Uint8Array(this.maxRecord);
      this.scratch.push(s);
      this.scratchViews.push(new DataView(s.buffer));
    }
  }

  /** Interns a string (a drop reason, an event) as a small id; 0 is "none". */
  intern(text: string): number {
    let id = this.strings.get(text);
    if (id === undefined) {
      id = this.strings.size + 1;
      this.strings.set(text, id);
      this.newStrings.push([id, text]);
    }
    return id;
  }

  /**
   * Opens a packet record and returns its packet id (ids are given even when tracing is off, so
   * that transitions and the UI can name packets). A caller that numbers packets itself (the NIC,
   * whose ids the stacks and transitions already use) passes `packetId`. Close it with `endPacket`.
   */
  beginPacket(direction: Direction, iface: number, timeNs: number, frame: Uint8Array, wireLen: number, packetId?: number): number {
    const id = packetId ?? this.nextPacketId++;
    if (this.level === 'off') return id;
    if (this.depth >= MAX_DEPTH) throw new Error('trace records nested too deeply: a begin without an end');
    const d = this.depth++;
    let v: DataView;
    let b: number;
    if (d === 0 && this.maxRecord <= this.batchBytes) {
      // The common case, written in place: no copy when it closes.
      if (this.used + this.maxRecord > this.batchBytes) this.cut(0);
      v = this.view;
      b = this.used;
    } else {
      // A record inside another: the outer one moves to its scratch area, since this one closes first.
      if (d > 0 && this.openAt[d - 1] >= 0) this.relocate(d - 1);
      v = this.scratchViews[d];
      b = 0;
    }
    this.openAt[d] = v === this.view ? b : -1;
    const full = this.level === 'full';
    const capLen = full ? Math.min(frame.length, this.snapLen) : 0;
    // type, direction, path 0, hop count (set at the end)
    v.setUint32(b, RecordType.PACKET | (DIRECTION_ID[direction] << 8), true);
    v.setUint32(b + 8, id, true);
    v.setUint32(b + 12, 0, true);
    v.setUint32(b + 16, 0, true);
    // rule -3 (not steered), interface
    v.setUint32(b + 20, 0xfffd | (iface << 16), true);
    v.setFloat64(b + 24, timeNs, true);
    v.setUint32(b + 32, wireLen, true);
    v.setUint32(b + 36, capLen | ((wireLen > capLen && full ? PacketFlag.TRUNCATED : 0) << 16), true);
    this.openHops[d] = 0;
    this.pendingFrame[d] = capLen > 0 ? frame : undefined;
    this.pendingCap[d] = capLen;
    return id;
  }

  /** Adds a hop to the innermost open packet record: when it reached the layer (ns after the packet's timeNs) and what the layer cost (ns). */
  hop(layer: LayerName, kind: HopKind, verdict: Verdict, offsetNs: number, durationNs: number, reason?: string): void {
    if (this.level === 'off' || this.depth === 0) return;
    const l = Layer[layer];
    if (this.level === 'summary' && !SUMMARY_LAYERS.has(l) && verdict !== 'drop') return;
    const d = this.depth - 1;
    const n = this.openHops[d];
    if (n >= this.maxHops) {
      this.hopsDropped++;
      return;
    }
    const o = this.openAt[d];
    const v = o >= 0 ? this.view : this.scratchViews[d];
    const at = (o >= 0 ? o : 0) + PACKET_FIXED_LEN + n * HOP_LEN;
    v.setUint32(at, l | (KIND_ID[kind] << 8) | (VERDICT_ID[verdict] << 16), true);
    v.setUint32(at + 4, reason === undefined ? 0 : this.intern(reason), true);
    v.setUint32(at + 8, ns32(offsetNs), true);
    v.setUint32(at + 12, ns32(durationNs), true);
    this.openHops[d] = n + 1;
  }

  /** Sets what steering decided for the innermost open record. */
  steered(path: PathName, rule: number, flowId: number): void {
    if (this.level === 'off' || this.depth === 0) return;
    const d = this.depth - 1;
    const o = this.openAt[d];
    const v = o >= 0 ? this.view : this.scratchViews[d];
    const b = o >= 0 ? o : 0;
    v.setUint8(b + 2, PATH_ID[path]);
    v.setInt16(b + 20, rule, true);
    v.setUint32(b + 12, flowId, true);
  }

  /** Sets the TCP connection of the innermost open record. */
  connection(connId: number): void {
    if (this.level === 'off' || this.depth === 0) return;
    const d = this.depth - 1;
    const o = this.openAt[d];
    (o >= 0 ? this.view : this.scratchViews[d]).setUint32((o >= 0 ? o : 0) + 16, connId, true);
  }

  /** Adds flag bits to the innermost open record. */
  flag(bits: number): void {
    if (this.level === 'off' || this.depth === 0) return;
    const d = this.depth - 1;
    const o = this.openAt[d];
    const v = o >= 0 ? this.view : this.scratchViews[d];
    const at = (o >= 0 ? o : 0) + 38;
    v.setUint16(at, v.getUint16(at, true) | bits, true);
  }

  /** Closes the innermost open packet record and puts it in the current batch. */
  endPacket(): void {
    if (this.level === 'off' || this.depth === 0) return;
    const d = --this.depth;
    const hops = this.openHops[d];
    const frame = this.pendingFrame[d];
    this.pendingFrame[d] = undefined;
    const capLen = frame === undefined ? 0 : this.pendingCap[d];
    const bytesAt = PACKET_FIXED_LEN + hops * HOP_LEN;
    const len = (bytesAt + capLen + 3) & ~3;
    let at = this.openAt[d];
    if (at >= 0) {
      this.view.setUint8(at + 3, hops);
      this.view.setUint32(at + 4, len, true);
    } else {
      const v = this.scratchViews[d];
      v.setUint8(3, hops);
      v.setUint32(4, len, true);
      at = this.reserve(len);
      if (at < 0) return;
      this.buf.set(this.scratch[d].subarray(0, bytesAt), at);
    }
    const buf = this.buf;
    if (frame !== undefined) buf.set(capLen === frame.length ? frame : frame.subarray(0, capLen), at + bytesAt);
    for (let i = at + bytesAt + capLen; i < at + len; i++) buf[i] = 0;
    this.used = at + len;
    this.count++;
  }

  /**
   * Writes a whole packet record in one call — what begin/hop/steered/connection/flag/end do, for a
   * caller that has gathered the packet already (the NIC). Hops are given as parallel arrays.
   */
  packet(
    direction: Direction,
    iface: number,
    timeNs: number,
    frame: Uint8Array,
    wireLen: number,
    packetId: number,
    path: PathName,
    rule: number,
    flowId: number,
    connId: number,
    flags: number,
    hops: PacketHops,
  ): void {
    if (this.level !== 'full' || this.depth > 0 || this.maxRecord > this.batchBytes) {
      // Summary level (hops filtered) and nesting take the general way.
      this.beginPacket(direction, iface, timeNs, frame, wireLen, packetId);
      for (let i = 0; i < hops.count; i++) this.hop(hops.layers[i], hops.kinds[i], hops.verdicts[i], hops.offsets[i], hops.durations[i], hops.reasons[i]);
      this.steered(path, rule, flowId);
      if (connId !== 0) this.connection(connId);
      if (flags !== 0) this.flag(flags);
      this.endPacket();
      return;
    }
    let n = hops.count;
    if (n > this.maxHops) {
      this.hopsDropped += n - this.maxHops;
      n = this.maxHops;
    }
    if (this.used + this.maxRecord > this.batchBytes) this.cut(0);
    const b = this.used;
    const v = this.view;
    const capLen = Math.min(frame.length, this.snapLen);
    const bytesAt = PACKET_FIXED_LEN + n * HOP_LEN;
    const len = (bytesAt + capLen + 3) & ~3;
    v.setUint32(b, RecordType.PACKET | (DIRECTION_ID[direction] << 8) | (PATH_ID[path] << 16) | (n << 24), true);
    v.setUint32(b + 4, len, true);
    v.setUint32(b + 8, packetId, true);
    v.setUint32(b + 12, flowId, true);
    v.setUint32(b + 16, connId, true);
    v.setUint32(b + 20, (rule & 0xffff) | (iface << 16), true);
    v.setFloat64(b + 24, timeNs, true);
    v.setUint32(b + 32, wireLen, true);
    v.setUint32(b + 36, capLen | ((flags | (wireLen > capLen ? PacketFlag.TRUNCATED : 0)) << 16), true);
    const cl = this.codeLayer;
    const ck = this.codeKind;
    const cv = this.codeVerdict;
    // One cache per direction: a flow's received packets and its sent ones each repeat their hops.
    const c0 = direction === 'rx' ? 0 : this.maxHops;
    for (let i = 0; i < n; i++) {
      const at = b + PACKET_FIXED_LEN + i * HOP_LEN;
      const reason = hops.reasons[i];
      const layer = hops.layers[i];
      const kind = hops.kinds[i];
      const verdict = hops.verdicts[i];
      // Packets of a flow have the same hops: the code of hop i is usually the one of the last packet's.
      const c = c0 + i;
      if (cl[c] !== layer || ck[c] !== kind || cv[c] !== verdict) {
        cl[c] = layer;
        ck[c] = kind;
        cv[c] = verdict;
        this.code[c] = Layer[layer] | (KIND_ID[kind] << 8) | (VERDICT_ID[verdict] << 16);
      }
      v.setUint32(at, this.code[c], true);
      v.setUint32(at + 4, reason === undefined ? 0 : this.intern(reason), true);
      v.setUint32(at + 8, ns32(hops.offsets[i]), true);
      v.setUint32(at + 12, ns32(hops.durations[i]), true);
    }
    const buf = this.buf;
    if (capLen > 0) buf.set(capLen === frame.length ? frame : frame.subarray(0, capLen), b + bytesAt);
    for (let i = b + bytesAt + capLen; i < b + len; i++) buf[i] = 0;
    this.used = b + len;
    this.count++;
  }

  /** Moves an open record written in place to its scratch area (something else must go into the batch first). */
  private relocate(d: number): void {
    const at = this.openAt[d];
    if (at < 0) return;
    this.scratch[d].set(this.buf.subarray(at, at + PACKET_FIXED_LEN + this.openHops[d] * HOP_LEN));
    this.openAt[d] = -1;
  }

  /** Records a TCP state change (`observed`: inferred by a passive observer, not a stack's own). */
  transition(
    stack: 'bypass' | 'kernel',
    connId: number,
    from: TcpStateName,
    to: TcpStateName,
    event: string,
    packetId: number,
    timeNs: number,
    vars: TcpVarsSnapshot,
    observed = false,
  ): void {
    if (this.level === 'off') return;
    if (this.depth > 0) this.relocate(0);
    const at = this.reserve(TRANSITION_LEN);
    if (at < 0) return;
    const v = this.view;
    v.setUint8(at, RecordType.TRANSITION);
    v.setUint8(at + 1, STATE_ID.get(from) ?? 0);
    v.setUint8(at + 2, STATE_ID.get(to) ?? 0);
    v.setUint8(at + 3, stack === 'bypass' ? 1 : 2);
    v.setUint32(at + 4, TRANSITION_LEN, true);
    v.setUint32(at + 8, connId, true);
    v.setUint32(at + 12, packetId, true);
    v.setFloat64(at + 16, timeNs, true);
    v.setUint16(at + 24, this.intern(event), true);
    v.setUint16(at + 26, observed ? TransitionFlag.OBSERVED : 0, true);
    v.setUint32(at + 28, 0, true);
    const values = [vars.sndUna, vars.sndNxt, vars.sndWnd, vars.rcvNxt, vars.rcvWnd, vars.cwnd, vars.ssthresh, vars.srtt ?? NaN, vars.rttvar ?? NaN, vars.rto];
    for (let i = 0; i < 10; i++) v.setFloat64(at + 32 + 8 * i, values[i], true);
    this.used = at + TRANSITION_LEN;
    this.count++;
  }

  /** Records in the current, unfinished batch. */
  get pendingRecords(): number {
    return this.count;
  }

  /** Finishes the current batch (if it has records) and returns every finished batch, oldest first. */
  takeBatches(dropped = 0): TraceBatch[] {
    if (this.depth > 0) this.relocate(0);
    this.cut(dropped);
    return this.ready.splice(0);
  }

  /**
   * With `recycleBatches`: gives a batch's buffer back once its records are no longer needed (sent
   * over IPC, say), so that the next batches are written in it instead of in new memory.
   */
  recycle(batch: TraceBatch): void {
    const r = batch.records;
    if (!this.recycling || r.byteOffset !== 0 || r.buffer.byteLength !== this.batchBytes || this.pool.length >= 8) return;
    this.pool.push(new Uint8Array(r.buffer));
  }

  /** Where a record of `len` bytes goes in the current batch; cuts the batch first when it is full. */
  private reserve(len: number): number {
    if (len > this.batchBytes) {
      this.recordsTooLarge++;
      return -1;
    }
    if (this.used + len > this.batchBytes) this.cut(0);
    return this.used;
  }

  private cut(dropped: number): void {
    if (this.count === 0 && this.newStrings.length === 0) return;
    let records: Uint8Array;
    if (this.recycling) {
      // The batch keeps this buffer; the next batch is written in a recycled one (or a new one).
      records = this.buf.subarray(0, this.used);
      this.buf = this.pool.pop() ?? new Uint8Array(this.batchBytes);
      this.view = new DataView(this.buf.buffer);
    } else {
      records = this.buf.slice(0, this.used);
    }
    this.ready.push({
      schema: TRACE_SCHEMA_VERSION,
      seq: ++this.seq,
      records,
      recordCount: this.count,
      strings: this.newStrings,
      dropped,
    });
    this.newStrings = [];
    this.used = 0;
    this.count = 0;
  }
}

/** Nanoseconds as a u32 field: rounded, never negative, saturating at 2^32-1. */
function ns32(ns: number): number {
  if (!(ns > 0)) return 0;
  return ns >= 0xffffffff ? 0xffffffff : Math.round(ns);
}
