// steer: the flow table — per-flow pinning of a steering decision, as a NIC's filter table does it.
//
// Open addressing with linear probing over typed arrays (no objects, no string keys per packet; one
// record per slot so that a packet touches one or two cache lines),
// backward-shift deletion (no tombstones), idle timeouts per kind of flow swept a few slots per
// poll, removal of TCP flows once they close (RST, or FIN both ways plus a linger for the last
// ACK and retransmissions), and a bounded size: when full, the least recently seen of a few
// candidates is evicted and counted.
import { FlowKind, KEY_WORDS, hashKey, type KeyInfo } from './flow-key';

export interface FlowTimeouts {
  /** Idle time after which a flow is forgotten, milliseconds. */
  readonly tcpMs: number;
  readonly udpMs: number;
  readonly icmpMs: number;
  readonly arpMs: number;
  readonly otherMs: number;
  /** How long a closed TCP flow stays pinned, for its last ACK and retransmissions. */
  readonly tcpCloseLingerMs: number;
}

export const DEFAULT_FLOW_TIMEOUTS: FlowTimeouts = {
  tcpMs: 300_000,
  udpMs: 30_000,
  icmpMs: 10_000,
  arpMs: 10_000,
  otherMs: 30_000,
  tcpCloseLingerMs: 1_000,
};

export interface FlowTableOptions {
  /** Most flows held at once; the table evicts beyond it. */
  readonly maxFlows?: number;
  readonly timeouts?: Partial<FlowTimeouts>;
}

/** TCP bookkeeping bits per flow. */
const FIN_FORWARD = 1;
const FIN_REVERSE = 2;
const CLOSED = 4;

const TCP_FIN = 0x01;
const TCP_RST = 0x04;

export interface FlowTableCounters {
  inserted: number;
  expired: number;
  closed: number;
  evicted: number;
}

/**
 * A slot's record, 96 bytes: 16 words (hash, state, the key, rule, generation, flow id), then 4
 * doubles (last seen, packets, bytes, closed at) — in one buffer, so that a packet's lookup and
 * update touch one record rather than a cache line per field.
 */
const REC = 24;
const R_HASH = 0;
/** bit 0 used; bits 8-15 kind; bits 16-23 action; bits 24-31 TCP close bookkeeping. */
const R_STATE = 1;
const R_KEY = 2;
const R_RULE = 12;
const R_GEN = 13;
const R_ID = 14;
/** Doubles per record, and where a record's doubles start (in doubles). */
const NUM = REC / 2;
const NUM_AT = 8;

export class FlowTable {
  readonly maxFlows: number;
  readonly timeouts: FlowTimeouts;
  readonly counters: FlowTableCounters = { inserted: 0, expired: 0, closed: 0, evicted: 0 };
  /** Flows held now. */
  size = 0;

  private readonly mask: number;
  /** Records, as words and (the same bytes) as doubles. */
  private readonly rec: Uint32Array;
  private readonly num: Float64Array;
  /** How many live flows were decided under each generation, to report flows pinned to old rules. */
  private readonly perGeneration = new Map<number, number>();
  private nextFlowId = 1;
  private sweepCursor = 0;
  private evictHand = 0;

  constructor(options: FlowTableOptions = {}) {
    this.maxFlows = options.maxFlows ?? 65536;
    this.timeouts = { ...DEFAULT_FLOW_TIMEOUTS, ...options.timeouts };
    let cap = 16;
    while (cap < this.maxFlows * 2) cap *= 2;
    this.mask = cap - 1;
    const buffer = new ArrayBuffer(cap * REC * 4);
    this.rec = new Uint32Array(buffer);
    this.num = new Float64Array(buffer);
  }

  /** The steering action of the flow at `slot` (the small integer the caller chose). */
  actionAt(slot: number): number {
    return (this.rec[slot * REC + R_STATE] >>> 16) & 0xff;
  }
  /** The rule that decided the flow at `slot` (-1 default, other negatives are the caller's). */
  ruleAt(slot: number): number {
    return this.rec[slot * REC + R_RULE] | 0;
  }
  /** The rules generation the decision was made under. */
  generationAt(slot: number): number {
    return this.rec[slot * REC + R_GEN];
  }
  flowIdAt(slot: number): number {
    return this.rec[slot * REC + R_ID];
  }
  kindAt(slot: number): number {
    return (this.rec[slot * REC + R_STATE] >>> 8) & 0xff;
  }
  lastSeenAt(slot: number): number {
    return this.num[slot * NUM + NUM_AT];
  }
  packetsAt(slot: number): number {
    return this.num[slot * NUM + NUM_AT + 1];
  }
  bytesAt(slot: number): number {
    return this.num[slot * NUM + NUM_AT + 2];
  }

  /** The slot holding `key`, or -1. */
  find(key: Uint32Array): number {
    const h = hashKey(key);
    const rec = this.rec;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const b = i * REC;
      if ((rec[b + R_STATE] & 1) === 0) return -1;
      if (rec[b + R_HASH] !== h) continue;
      let w = 0;
      while (w < KEY_WORDS && rec[b + R_KEY + w] === key[w]) w++;
      if (w === KEY_WORDS) return i;
    }
  }

  /**
   * Adds a flow for `key` decided by (`action`, `rule`, `generation`) and returns its slot. The
   * caller has checked that it is not there. Evicts one flow first when the table is full.
   */
  insert(key: Uint32Array, kind: FlowKind, action: number, rule: number, generation: number, now: number): number {
    if (this.size >= this.maxFlows) this.evictOne();
    const h = hashKey(key);
    let i = h & this.mask;
    while (this.rec[i * REC + R_STATE] & 1) i = (i + 1) & this.mask;
    const b = i * REC;
    this.rec[b + R_HASH] = h;
    this.rec[b + R_STATE] = 1 | ((kind & 0xff) << 8) | ((action & 0xff) << 16);
    this.rec.set(key, b + R_KEY);
    this.rec[b + R_RULE] = rule >>> 0;
    this.rec[b + R_GEN] = generation >>> 0;
    this.rec[b + R_ID] = this.nextFlowId++;
    if (this.nextFlowId > 0xffffffff) this.nextFlowId = 1;
    const n = i * NUM + NUM_AT;
    this.num[n] = now;
    this.num[n + 1] = 0;
    this.num[n + 2] = 0;
    this.num[n + 3] = 0;
    this.size++;
    this.counters.inserted++;
    this.perGeneration.set(generation, (this.perGeneration.get(generation) ?? 0) + 1);
    return i;
  }

  /** Accounts one packet of `bytes` to the flow at `slot`, and follows TCP's close. */
  touch(slot: number, bytes: number, info: KeyInfo, now: number): void {
    const n = slot * NUM + NUM_AT;
    this.num[n] = now;
    this.num[n + 1]++;
    this.num[n + 2] += bytes;
    if (info.kind !== FlowKind.TCP) return;
    const flags = info.tcpFlags;
    if (flags & TCP_RST) this.markClosed(slot, now);
    else if (flags & TCP_FIN) {
      const b = slot * REC + R_STATE;
      this.rec[b] |= (info.forward ? FIN_FORWARD : FIN_REVERSE) << 24;
      const st = this.rec[b] >>> 24;
      if ((st & (FIN_FORWARD | FIN_REVERSE)) === (FIN_FORWARD | FIN_REVERSE)) this.markClosed(slot, now);
    }
  }

  /** Flows still pinned under a generation older than `current`. */
  pinnedBefore(current: number): number {
    let n = 0;
    for (const [gen, count] of this.perGeneration) if (gen < current) n += count;
    return n;
  }

  /** Forgets flows idle past their timeout and closed TCP flows past their linger; at most `budget` slots a call. */
  poll(now: number, budget = 256): void {
    const cap = this.mask + 1;
    for (let n = 0; n < budget && this.size > 0; n++) {
      const i = this.sweepCursor;
      if (this.used(i) && this.expired(i, now)) {
        if (this.tcpState(i) & CLOSED) this.counters.closed++;
        else this.counters.expired++;
        this.removeAt(i);
        continue; // the slot may now hold a shifted entry: look at it again
      }
      this.sweepCursor = (i + 1) & (cap - 1);
    }
  }

  /** Removes every flow. */
  clear(): void {
    for (let i = 0; i <= this.mask; i++) this.rec[i * REC + R_STATE] = 0;
    this.size = 0;
    this.perGeneration.clear();
  }

  /** Removes the flow of `key`, if there is one. */
  remove(key: Uint32Array): boolean {
    const i = this.find(key);
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  private used(i: number): boolean {
    return (this.rec[i * REC + R_STATE] & 1) !== 0;
  }

  private tcpState(i: number): number {
    return this.rec[i * REC + R_STATE] >>> 24;
  }

  private expired(i: number, now: number): boolean {
    if (this.tcpState(i) & CLOSED) return now - this.num[i * NUM + NUM_AT + 3] >= this.timeouts.tcpCloseLingerMs;
    return now - this.num[i * NUM + NUM_AT] >= this.idleTimeout(this.kindAt(i));
  }

  private idleTimeout(kind: number): number {
    switch (kind) {
      case FlowKind.TCP:
        return this.timeouts.tcpMs;
      case FlowKind.UDP:
        return this.timeouts.udpMs;
      case FlowKind.ICMP:
        return this.timeouts.icmpMs;
      case FlowKind.ARP:
        return this.timeouts.arpMs;
      default:
        return this.timeouts.otherMs;
    }
  }

  private markClosed(slot: number, now: number): void {
    if (this.tcpState(slot) & CLOSED) return;
    this.rec[slot * REC + R_STATE] |= CLOSED << 24;
    this.num[slot * NUM + NUM_AT + 3] = now;
  }

  /** Evicts the least recently seen of the next 8 live flows under the clock hand. */
  private evictOne(): void {
    const cap = this.mask + 1;
    let victim = -1;
    let seen = 0;
    for (let n = 0; n < cap && seen < 8; n++) {
      const i = this.evictHand;
      this.evictHand = (i + 1) & this.mask;
      if (!this.used(i)) continue;
      seen++;
      if (victim < 0 || this.num[i * NUM + NUM_AT] < this.num[victim * NUM + NUM_AT]) victim = i;
    }
    if (victim >= 0) {
      this.removeAt(victim);
      this.counters.evicted++;
    }
  }

  /** Backward-shift deletion: later entries of the probe run move up so that lookups still find them. */
  private removeAt(i: number): void {
    const gen = this.generationAt(i);
    const left = (this.perGeneration.get(gen) ?? 1) - 1;
    if (left > 0) this.perGeneration.set(gen, left);
    else this.perGeneration.delete(gen);
    this.rec[i * REC + R_STATE] = 0;
    this.size--;
    let hole = i;
    for (let j = (i + 1) & this.mask; this.used(j); j = (j + 1) & this.mask) {
      const home = this.rec[j * REC + R_HASH] & this.mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      this.moveSlot(j, hole);
      hole = j;
    }
  }

  private moveSlot(from: number, to: number): void {
    this.rec.copyWithin(to * REC, from * REC, from * REC + REC);
    this.rec[from * REC + R_STATE] = 0;
  }
}
