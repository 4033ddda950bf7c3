// trace: the recorder — writes packet and transition records (layout in schema.ts) straight into
// preallocated memory, with no object allocated per packet, and hands out finished batches.
//
// A packet's hops are added while its record is open. Records nest (a received SYN makes the stack
// send a SYN,ACK before the SYN's record closes), so each nesting depth has its own scratch area
// and a record reaches the batch when it closes.
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

export interface RecorderOptions {
  readonly level?: TraceLevel;
  /** Bytes of each frame kept at level full. */
  readonly snapLen?: number;
  /** Size of one batch buffer; a batch is cut when full. */
  readonly batchBytes?: number;
  /** Most hops a record holds; more are counted in `hopsDropped`. */
  readonly maxHops?: number;
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
  private readonly scratch: Uint8Array[] = [];
  private readonly scratchViews: DataView[] = [];
  private readonly openHops = new Uint8Array(MAX_DEPTH);
  /** The frame bytes each open record will keep. */
  private readonly pendingBytes: (Uint8Array | undefined)[] = new Array(MAX_DEPTH);
  private depth = 0;
  private nextPacketId = 1;
  private readonly strings = new Map<string, number>();
  private newStrings: [number, string][] = [];
  private readonly ready: TraceBatch[] = [];

  constructor(options: RecorderOptions = {}) {
    this.level = options.level ?? 'full';
    this.snapLen = options.snapLen ?? 256;
    this.maxHops = options.maxHops ?? 24;
    this.batchBytes = options.batchBytes ?? 1 << 20;
    this.buf = new Uint8Array(this.batchBytes);
    this.view = new DataView(this.buf.buffer);
    const scratchLen = PACKET_FIXED_LEN + this.maxHops * HOP_LEN + this.snapLen + 4;
    for (let i = 0; i < MAX_DEPTH; i++) {
      const s = new Uint8Array(scratchLen);
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
    const v = this.scratchViews[d];
    const full = this.level === 'full';
    const capLen = full ? Math.min(frame.length, this.snapLen) : 0;
    v.setUint8(0, RecordType.PACKET);
    v.setUint8(1, DIRECTION_ID[direction]);
    v.setUint8(2, 0);
    v.setUint8(3, 0);
    v.setUint32(8, id, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, 0, true);
    v.setInt16(20, -3, true);
    v.setUint16(22, iface, true);
    v.setFloat64(24, timeNs, true);
    v.setUint32(32, wireLen, true);
    v.setUint16(36, capLen, true);
    v.setUint16(38, wireLen > capLen && full ? PacketFlag.TRUNCATED : 0, true);
    this.openHops[d] = 0;
    if (capLen > 0) this.pendingBytes[d] = frame.subarray(0, capLen);
    else this.pendingBytes[d] = undefined;
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
    const v = this.scratchViews[d];
    const at = PACKET_FIXED_LEN + n * HOP_LEN;
    v.setUint8(at, l);
    v.setUint8(at + 1, KIND_ID[kind]);
    v.setUint8(at + 2, VERDICT_ID[verdict]);
    v.setUint8(at + 3, 0);
    v.setUint16(at + 4, reason === undefined ? 0 : this.intern(reason), true);
    v.setUint16(at + 6, 0, true);
    v.setUint32(at + 8, ns32(offsetNs), true);
    v.setUint32(at + 12, ns32(durationNs), true);
    this.openHops[d] = n + 1;
  }

  /** Sets what steering decided for the innermost open record. */
  steered(path: PathName, rule: number, flowId: number): void {
    if (this.level === 'off' || this.depth === 0) return;
    const v = this.scratchViews[this.depth - 1];
    v.setUint8(2, PATH_ID[path]);
    v.setInt16(20, rule, true);
    v.setUint32(12, flowId, true);
  }

  /** Sets the TCP connection of the innermost open record. */
  connection(connId: number): void {
    if (this.level === 'off' || this.depth === 0) return;
    this.scratchViews[this.depth - 1].setUint32(16, connId, true);
  }

  /** Adds flag bits to the innermost open record. */
  flag(bits: number): void {
    if (this.level === 'off' || this.depth === 0) return;
    const v = this.scratchViews[this.depth - 1];
    v.setUint16(38, v.getUint16(38, true) | bits, true);
  }

  /** Closes the innermost open packet record and puts it in the current batch. */
  endPacket(): void {
    if (this.level === 'off' || this.depth === 0) return;
    const d = --this.depth;
    const s = this.scratch[d];
    const v = this.scratchViews[d];
    const hops = this.openHops[d];
    const bytes = this.pendingBytes[d];
    this.pendingBytes[d] = undefined;
    const capLen = bytes?.length ?? 0;
    const bytesAt = PACKET_FIXED_LEN + hops * HOP_LEN;
    const len = (bytesAt + capLen + 3) & ~3;
    v.setUint8(3, hops);
    v.setUint32(4, len, true);
    const at = this.reserve(len);
    if (at < 0) return;
    this.buf.set(s.subarray(0, bytesAt), at);
    if (bytes) this.buf.set(bytes, at + bytesAt);
    this.buf.fill(0, at + bytesAt + capLen, at + len);
    this.used = at + len;
    this.count++;
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
    this.cut(dropped);
    return this.ready.splice(0);
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
    this.ready.push({
      schema: TRACE_SCHEMA_VERSION,
      seq: ++this.seq,
      records: this.buf.slice(0, this.used),
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
