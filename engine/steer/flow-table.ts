// steer: the flow table — per-flow pinning of a steering decision, as a NIC's filter table does it.
//
// Open addressing with linear probing over typed arrays (no objects, no string keys per packet),
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

export class FlowTable {
  readonly maxFlows: number;
  readonly timeouts: FlowTimeouts;
  readonly counters: FlowTableCounters = { inserted: 0, expired: 0, closed: 0, evicted: 0 };
  /** Flows held now. */
  size = 0;

  private readonly mask: number;
  private readonly keys: Uint32Array;
  private readonly used: Uint8Array;
  private readonly hashes: Uint32Array;
  /** Per slot: the steering action (an opaque small integer the caller chooses). */
  readonly action: Int8Array;
  /** Per slot: the rule that decided it (-1 default, other negatives are the caller's). */
  readonly rule: Int32Array;
  /** Per slot: the rules generation the decision was made under. */
  readonly generation: Uint32Array;
  readonly flowId: Uint32Array;
  readonly kind: Uint8Array;
  readonly lastSeen: Float64Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  private readonly tcpState: Uint8Array;
  private readonly closedAt: Float64Array;
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
    this.keys = new Uint32Array(cap * KEY_WORDS);
    this.used = new Uint8Array(cap);
    this.hashes = new Uint32Array(cap);
    this.action = new Int8Array(cap);
    this.rule = new Int32Array(cap);
    this.generation = new Uint32Array(cap);
    this.flowId = new Uint32Array(cap);
    this.kind = new Uint8Array(cap);
    this.lastSeen = new Float64Array(cap);
    this.packets = new Float64Array(cap);
    this.bytes = new Float64Array(cap);
    this.tcpState = new Uint8Array(cap);
    this.closedAt = new Float64Array(cap);
  }

  /** The slot holding `key`, or -1. */
  find(key: Uint32Array): number {
    const h = hashKey(key);
    for (let i = h & this.mask; this.used[i]; i = (i + 1) & this.mask) {
      if (this.hashes[i] === h && this.keyAt(i, key)) return i;
    }
    return -1;
  }

  /**
   * Adds a flow for `key` decided by (`action`, `rule`, `generation`) and returns its slot. The
   * caller has checked that it is not there. Evicts one flow first when the table is full.
   */
  insert(key: Uint32Array, kind: FlowKind, action: number, rule: number, generation: number, now: number): number {
    if (this.size >= this.maxFlows) this.evictOne();
    const h = hashKey(key);
    let i = h & this.mask;
    while (this.used[i]) i = (i + 1) & this.mask;
    this.used[i] = 1;
    this.hashes[i] = h;
    this.keys.set(key, i * KEY_WORDS);
    this.action[i] = action;
    this.rule[i] = rule;
    this.generation[i] = generation;
    this.flowId[i] = this.nextFlowId++;
    if (this.nextFlowId > 0xffffffff) this.nextFlowId = 1;
    this.kind[i] = kind;
    this.lastSeen[i] = now;
    this.packets[i] = 0;
    this.bytes[i] = 0;
    this.tcpState[i] = 0;
    this.closedAt[i] = 0;
    this.size++;
    this.counters.inserted++;
    this.perGeneration.set(generation, (this.perGeneration.get(generation) ?? 0) + 1);
    return i;
  }

  /** Accounts one packet of `bytes` to the flow at `slot`, and follows TCP's close. */
  touch(slot: number, bytes: number, info: KeyInfo, now: number): void {
    this.lastSeen[slot] = now;
    this.packets[slot]++;
    this.bytes[slot] += bytes;
    if (info.kind !== FlowKind.TCP) return;
    const flags = info.tcpFlags;
    if (flags & TCP_RST) this.markClosed(slot, now);
    else if (flags & TCP_FIN) {
      const st = (this.tcpState[slot] |= info.forward ? FIN_FORWARD : FIN_REVERSE);
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
      if (this.used[i] && this.expired(i, now)) {
        if (this.tcpState[i] & CLOSED) this.counters.closed++;
        else this.counters.expired++;
        this.removeAt(i);
        continue; // the slot may now hold a shifted entry: look at it again
      }
      this.sweepCursor = (i + 1) & (cap - 1);
    }
  }

  /** Removes every flow. */
  clear(): void {
    this.used.fill(0);
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

  private expired(i: number, now: number): boolean {
    if (this.tcpState[i] & CLOSED) return now - this.closedAt[i] >= this.timeouts.tcpCloseLingerMs;
    return now - this.lastSeen[i] >= this.idleTimeout(this.kind[i]);
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
    if (this.tcpState[slot] & CLOSED) return;
    this.tcpState[slot] |= CLOSED;
    this.closedAt[slot] = now;
  }

  /** Evicts the least recently seen of the next 8 live flows under the clock hand. */
  private evictOne(): void {
    const cap = this.mask + 1;
    let victim = -1;
    let seen = 0;
    for (let n = 0; n < cap && seen < 8; n++) {
      const i = this.evictHand;
      this.evictHand = (i + 1) & this.mask;
      if (!this.used[i]) continue;
      seen++;
      if (victim < 0 || this.lastSeen[i] < this.lastSeen[victim]) victim = i;
    }
    if (victim >= 0) {
      this.removeAt(victim);
      this.counters.evicted++;
    }
  }

  /** Backward-shift deletion: later entries of the probe run move up so that lookups still find them. */
  private removeAt(i: number): void {
    const gen = this.generation[i];
    const left = (this.perGeneration.get(gen) ?? 1) - 1;
    if (left > 0) this.perGeneration.set(gen, left);
    else this.perGeneration.delete(gen);
    this.used[i] = 0;
    this.size--;
    let hole = i;
    for (let j = (i + 1) & this.mask; this.used[j]; j = (j + 1) & this.mask) {
      const home = this.hashes[j] & this.mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      this.moveSlot(j, hole);
      hole = j;
    }
  }

  private moveSlot(from: number, to: number): void {
    this.used[to] = 1;
    this.used[from] = 0;
    this.hashes[to] = this.hashes[from];
    this.keys.copyWithin(to * KEY_WORDS, from * KEY_WORDS, from * KEY_WORDS + KEY_WORDS);
    this.action[to] = this.action[from];
    this.rule[to] = this.rule[from];
    this.generation[to] = this.generation[from];
    this.flowId[to] = this.flowId[from];
    this.kind[to] = this.kind[from];
    this.lastSeen[to] = this.lastSeen[from];
    this.packets[to] = this.packets[from];
    this.bytes[to] = this.bytes[from];
    this.tcpState[to] = this.tcpState[from];
    this.closedAt[to] = this.closedAt[from];
  }

  private keyAt(i: number, key: Uint32Array): boolean {
    const base = i * KEY_WORDS;
    for (let w = 0; w < KEY_WORDS; w++) if (this.keys[base + w] !== key[w]) return false;
    return true;
  }
}
