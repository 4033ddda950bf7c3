// extension: the capture store — one capture's trace as the extension host holds it: a bounded ring of
// packet records (the engine's own bytes), the TCP transitions, the connections, indexes by connection
// and by rule, per-rule and per-host counts, and the answers to the visualizer's range and detail
// queries. Free of vscode, so that it is tested under Node alone.
import { StringTable, decodeBatch } from '../engine/trace/codec';
import {
  HOP_LEN,
  PACKET_FIXED_LEN,
  RULE_DEFAULT,
  TRACE_SCHEMA_VERSION,
  type ConnectionInfo,
  type Direction,
  type Hop,
  type PacketRecord,
  type PathName,
  type TcpStateName,
  type TraceBatch,
  type TraceStats,
  type TransitionRecord,
} from '../engine/trace/schema';
import { ipv4ToString, ipv6ToString, readIpv4 } from '../engine/wire/address';
import type { CaptureExtent, WireBatch } from '../webview/protocol';
import { Deque } from './deque';

/** Most bytes of records in one batch the store hands out. */
const BATCH_BYTES = 1 << 20;

export interface StoredPacket {
  readonly id: number;
  readonly direction: Direction;
  readonly path: PathName;
  readonly rule: number;
  readonly flowId: number;
  readonly connId: number;
  readonly timeNs: number;
  readonly wireLen: number;
  readonly flags: number;
  /** The packet's trace record exactly as the engine wrote it (layout in engine/trace/schema.ts). */
  readonly record: Uint8Array;
  /** The captured frame: a view into `record` (may be shorter than wireLen, or empty at trace level summary). */
  readonly frame: Uint8Array;
}

export interface StoredTransition {
  readonly record: Uint8Array;
  readonly transition: TransitionRecord;
}

export interface ConnectionSummary {
  readonly connId: number;
  /** What the engine said when the connection appeared; undefined when only its packets were seen. */
  readonly info: ConnectionInfo | undefined;
  readonly stack: 'bypass' | 'kernel' | undefined;
  /** The state after the last transition seen. */
  readonly state: TcpStateName | undefined;
  readonly transitions: number;
  readonly packets: number;
  readonly bytes: number;
  readonly firstPacketId: number | undefined;
  readonly lastTimeNs: number;
}

export interface RuleHits {
  readonly packets: number;
  readonly bytes: number;
  readonly flows: number;
}

/** The engine's per-rule counters in `stats` (slot i = rule i, last slot = the default). */
export interface EngineRuleCounters {
  readonly packets: readonly number[];
  readonly bytes: readonly number[];
  readonly flows: readonly number[];
}

export type StatsWithRules = TraceStats & { readonly rules?: EngineRuleCounters };

interface MutableConnection {
  connId: number;
  info: ConnectionInfo | undefined;
  stack: 'bypass' | 'kernel' | undefined;
  state: TcpStateName | undefined;
  transitions: number;
  packets: number;
  bytes: number;
  firstPacketId: number | undefined;
  lastTimeNs: number;
}

interface RuleCounter {
  packets: number;
  bytes: number;
  flows: Set<number>;
}

export class CaptureStore {
  /** Packets held, in the order the engine finished them (oldest first). */
  private readonly ring = new Deque<StoredPacket>(1024);
  private readonly byId = new Map<number, StoredPacket>();
  private readonly byConn = new Map<number, Deque<StoredPacket>>();
  private readonly byRule = new Map<number, Deque<StoredPacket>>();
  private readonly transitionRing = new Deque<StoredTransition>(64);
  private readonly conns = new Map<number, MutableConnection>();
  private readonly strings = new StringTable();
  private readonly stringEntries = new Map<number, string>();
  private readonly ruleCounters = new Map<number, RuleCounter>();
  private readonly hosts = new Map<string, number>();
  private readonly pathCounts: Record<PathName, number> = { none: 0, bypass: 0, kernel: 0, drop: 0 };
  /** Packets seen over the whole capture (held or evicted). */
  totalPackets = 0;
  totalTransitions = 0;
  /** Packets pushed out of the ring by newer ones. */
  evicted = 0;
  /** Packet records the engine sampled away (a slow consumer), as the batches said. */
  recordsDropped = 0;
  batches = 0;
  /** Damaged batches: the good records before the damage are kept. */
  damagedBatches = 0;
  lastDamage: string | undefined;
  lastStats: StatsWithRules | undefined;
  private outSeq = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capture store capacity ${capacity}: want a whole number > 0`);
  }

  get size(): number {
    return this.ring.length;
  }

  /**
   * Takes one of the engine's trace batches. Returns what it added; a damaged batch keeps every
   * record before the damage and says why in `error`.
   */
  addBatch(batch: TraceBatch): { packets: number; transitions: number; error?: string } {
    this.batches++;
    this.recordsDropped += batch.dropped;
    for (const [id, text] of batch.strings) this.stringEntries.set(id, text);
    const b = batch.records;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let at = 0;
    let packets = 0;
    let transitions = 0;
    try {
      decodeBatch(batch, this.strings, (r) => {
        // decodeBatch visits records in order and has checked each length, so `at` follows it.
        const len = v.getUint32(at + 4, true);
        const raw = b.slice(at, at + len);
        at += len;
        if (r.type === 'packet') {
          if (this.addPacket(r, raw)) packets++;
        } else {
          this.addTransition(r, raw);
          transitions++;
        }
      });
    } catch (e) {
      this.damagedBatches++;
      this.lastDamage = `trace batch ${batch.seq}: ${(e as Error).message}`;
      return { packets, transitions, error: this.lastDamage };
    }
    return { packets, transitions };
  }

  addConnection(info: ConnectionInfo): void {
    const c = this.connection(info.connId);
    c.info = info;
    c.stack = info.stack;
  }

  setStats(stats: StatsWithRules): void {
    this.lastStats = stats;
  }

  private connection(connId: number): MutableConnection {
    let c = this.conns.get(connId);
    if (c === undefined) {
      c = { connId, info: undefined, stack: undefined, state: undefined, transitions: 0, packets: 0, bytes: 0, firstPacketId: undefined, lastTimeNs: 0 };
      this.conns.set(connId, c);
    }
    return c;
  }

  private addPacket(r: PacketRecord, raw: Uint8Array): boolean {
    if (this.byId.has(r.packetId)) return false;
    const frameAt = PACKET_FIXED_LEN + r.hops.length * HOP_LEN;
    const p: StoredPacket = {
      id: r.packetId,
      direction: r.direction,
      path: r.path,
      rule: r.rule,
      flowId: r.flowId,
      connId: r.connId,
      timeNs: r.timeNs,
      wireLen: r.wireLen,
      flags: r.flags,
      record: raw,
      frame: raw.subarray(frameAt, frameAt + r.bytes.length),
    };
    this.ring.push(p);
    this.byId.set(p.id, p);
    this.totalPackets++;
    this.pathCounts[p.path]++;
    if (p.connId !== 0) {
      index(this.byConn, p.connId, p);
      const c = this.connection(p.connId);
      c.packets++;
      c.bytes += p.wireLen;
      c.firstPacketId ??= p.id;
      c.lastTimeNs = Math.max(c.lastTimeNs, p.timeNs);
    }
    // Steering happens on receive: transmitted frames carry "not steered" (-3) and are not a rule's hits.
    if (p.direction === 'rx' && p.path !== 'none') {
      index(this.byRule, p.rule, p);
      let rc = this.ruleCounters.get(p.rule);
      if (rc === undefined) this.ruleCounters.set(p.rule, (rc = { packets: 0, bytes: 0, flows: new Set() }));
      rc.packets++;
      rc.bytes += p.wireLen;
      if (p.flowId !== 0) rc.flows.add(p.flowId);
    }
    this.countHosts(p.frame);
    while (this.ring.length > this.capacity) this.evictOldest();
    return true;
  }

  private evictOldest(): void {
    const old = this.ring.shift();
    if (old === undefined) return;
    this.byId.delete(old.id);
    this.evicted++;
    // The oldest packet is the front of each index it is in: all of them are in arrival order.
    if (old.connId !== 0) unindex(this.byConn, old.connId, old);
    if (old.direction === 'rx' && old.path !== 'none') unindex(this.byRule, old.rule, old);
  }

  private addTransition(t: TransitionRecord, raw: Uint8Array): void {
    this.transitionRing.push({ record: raw, transition: t });
    this.totalTransitions++;
    while (this.transitionRing.length > this.capacity) this.transitionRing.shift();
    const c = this.connection(t.connId);
    c.state = t.to;
    c.stack ??= t.stack;
    c.transitions++;
    c.lastTimeNs = Math.max(c.lastTimeNs, t.timeNs);
  }

  /** IPv4 and IPv6 source and destination addresses, read straight from the frame (Ethernet, 802.1Q). */
  private countHosts(f: Uint8Array): void {
    if (f.length < 14) return;
    let o = 12;
    let type = (f[o] << 8) | f[o + 1];
    if (type === 0x8100 && f.length >= 18) {
      o += 4;
      type = (f[o] << 8) | f[o + 1];
    }
    o += 2;
    if (type === 0x0800 && f.length >= o + 20) {
      this.countHost(ipv4ToString(readIpv4(f, o + 12)));
      this.countHost(ipv4ToString(readIpv4(f, o + 16)));
    } else if (type === 0x86dd && f.length >= o + 40) {
      this.countHost(ipv6ToString(f, o + 8));
      this.countHost(ipv6ToString(f, o + 24));
    }
  }

  private countHost(h: string): void {
    this.hosts.set(h, (this.hosts.get(h) ?? 0) + 1);
  }

  // ───────────── queries

  packet(id: number): StoredPacket | undefined {
    return this.byId.get(id);
  }

  /** Every packet held, oldest first. */
  packets(): IterableIterator<StoredPacket> {
    return this.ring[Symbol.iterator]();
  }

  packetsOfConnection(connId: number): StoredPacket[] {
    return [...(this.byConn.get(connId) ?? [])];
  }

  /** Received packets steered by rule `rule` (an index, or RULE_DEFAULT and the other negative codes). */
  packetsOfRule(rule: number): StoredPacket[] {
    return [...(this.byRule.get(rule) ?? [])];
  }

  transitions(): IterableIterator<StoredTransition> {
    return this.transitionRing[Symbol.iterator]();
  }

  transitionsOf(connId: number): TransitionRecord[] {
    const out: TransitionRecord[] = [];
    for (const t of this.transitionRing) if (t.transition.connId === connId) out.push(t.transition);
    return out;
  }

  connections(): ConnectionSummary[] {
    return [...this.conns.values()].sort((a, b) => a.connId - b.connId);
  }

  connectionInfo(connId: number): ConnectionSummary | undefined {
    return this.conns.get(connId);
  }

  /** Packets per path over the whole capture, as the store counted them. */
  pathTotals(): Readonly<Record<PathName, number>> {
    return this.pathCounts;
  }

  /**
   * Hits of rule `rule` (index, or RULE_DEFAULT): the engine's own counters when its stats carry
   * them, otherwise what the store counted from the packet records (over the whole capture).
   */
  ruleHits(rule: number, ruleCount: number): RuleHits {
    const e = this.lastStats?.rules;
    if (e !== undefined) {
      const slot = rule === RULE_DEFAULT ? e.packets.length - 1 : rule;
      if (slot >= 0 && slot < e.packets.length && (rule === RULE_DEFAULT || rule < ruleCount)) {
        return { packets: e.packets[slot] ?? 0, bytes: e.bytes[slot] ?? 0, flows: e.flows[slot] ?? 0 };
      }
    }
    const c = this.ruleCounters.get(rule);
    return c === undefined ? { packets: 0, bytes: 0, flows: 0 } : { packets: c.packets, bytes: c.bytes, flows: c.flows.size };
  }

  /** Hosts seen in the capture's frames, most packets first. */
  seenHosts(limit: number): string[] {
    return [...this.hosts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, Math.max(0, limit)).map(([h]) => h);
  }

  /** A packet's hops, decoded from its record. */
  hopsOf(p: StoredPacket): readonly Hop[] {
    let hops: readonly Hop[] = [];
    decodeBatch(this.singleBatch([p.record]), this.strings, (r) => {
      if (r.type === 'packet') hops = r.hops;
    });
    return hops;
  }

  /**
   * The visualizer's range query: packets with ids in [fromId, toId] as batches (the engine's own
   * record bytes), with the transitions they caused (all of them when the range covers every packet
   * held, and those caused by no packet that fall within the range's time), and their connections.
   */
  range(fromId: number, toId: number, newest?: number): { batches: WireBatch[]; connections: ConnectionInfo[]; extent: CaptureExtent } {
    let picked: StoredPacket[] = [];
    for (const p of this.ring) if (p.id >= fromId && p.id <= toId) picked.push(p);
    if (newest !== undefined && picked.length > newest) {
      picked.sort((a, b) => a.id - b.id);
      picked = picked.slice(picked.length - Math.max(0, newest));
    }
    let tMin = Infinity;
    let tMax = -Infinity;
    for (const p of picked) {
      if (p.timeNs < tMin) tMin = p.timeNs;
      if (p.timeNs > tMax) tMax = p.timeNs;
    }
    const everything = picked.length === this.ring.length || newest !== undefined;
    const records: Uint8Array[] = picked.map((p) => p.record);
    const connIds = new Set<number>();
    for (const p of picked) if (p.connId !== 0) connIds.add(p.connId);
    for (const { record, transition: t } of this.transitionRing) {
      const caused = t.packetId !== 0 ? t.packetId >= fromId && t.packetId <= toId : t.timeNs >= tMin && t.timeNs <= tMax;
      if (everything || caused) {
        records.push(record);
        connIds.add(t.connId);
      }
    }
    const connections: ConnectionInfo[] = [];
    for (const id of [...connIds].sort((a, b) => a - b)) {
      const info = this.conns.get(id)?.info;
      if (info !== undefined) connections.push(info);
    }
    return { batches: this.toWireBatches(records), connections, extent: this.extent() };
  }

  /**
   * The ids held: the ring is in the order the engine finished packets, a few ids out of order at
   * most, so the lowest and highest are near its ends.
   */
  extent(): CaptureExtent {
    const n = this.ring.length;
    if (n === 0) return { firstId: 0, lastId: 0, held: 0 };
    let firstId = Infinity;
    let lastId = 0;
    for (let i = 0; i < Math.min(n, 256); i++) firstId = Math.min(firstId, this.ring.at(i)!.id);
    for (let i = Math.max(0, n - 256); i < n; i++) lastId = Math.max(lastId, this.ring.at(i)!.id);
    return { firstId, lastId, held: n };
  }

  /** One packet's record as a batch, or undefined when it is no longer held. */
  detail(packetId: number): WireBatch | undefined {
    const p = this.byId.get(packetId);
    return p === undefined ? undefined : this.toWireBatches([p.record])[0];
  }

  private toWireBatches(records: readonly Uint8Array[]): WireBatch[] {
    const out: WireBatch[] = [];
    const strings = [...this.stringEntries.entries()] as [number, string][];
    let i = 0;
    while (i < records.length) {
      let bytes = 0;
      let j = i;
      while (j < records.length && (j === i || bytes + records[j].length <= BATCH_BYTES)) bytes += records[j++].length;
      const buf = new Uint8Array(bytes);
      let o = 0;
      for (let k = i; k < j; k++) {
        buf.set(records[k], o);
        o += records[k].length;
      }
      out.push({ schema: TRACE_SCHEMA_VERSION, seq: ++this.outSeq, records: buf.buffer, recordCount: j - i, strings, dropped: 0 });
      i = j;
    }
    return out;
  }

  private singleBatch(records: Uint8Array[]): TraceBatch {
    const bytes = records.reduce((a, r) => a + r.length, 0);
    const buf = new Uint8Array(bytes);
    let o = 0;
    for (const r of records) {
      buf.set(r, o);
      o += r.length;
    }
    return { schema: TRACE_SCHEMA_VERSION, seq: 0, records: buf, recordCount: records.length, strings: [], dropped: 0 };
  }
}

function index(m: Map<number, Deque<StoredPacket>>, key: number, p: StoredPacket): void {
  let d = m.get(key);
  if (d === undefined) m.set(key, (d = new Deque<StoredPacket>()));
  d.push(p);
}

function unindex(m: Map<number, Deque<StoredPacket>>, key: number, p: StoredPacket): void {
  const d = m.get(key);
  if (d?.peekFront() === p) d.shift();
  if (d !== undefined && d.length === 0) m.delete(key);
}

/** A batch as the engine sent it, as postMessage carries it (its own ArrayBuffer, no view). */
export function toWireBatch(b: TraceBatch): WireBatch {
  const r = b.records;
  const records = r.byteOffset === 0 && r.byteLength === r.buffer.byteLength && r.buffer instanceof ArrayBuffer ? r.buffer : r.slice().buffer;
  return { schema: b.schema, seq: b.seq, records, recordCount: b.recordCount, strings: b.strings, dropped: b.dropped };
}
