// steer: the flow table — per-flow pinning of a steering decision, as a NIC's filter table does it.
//
// Open addressing with linear probing over one typed array of 32-byte records (no objects, no
// string keys per packet; a packet's lookup and update touch one cache line), backward-shift deletion
// (no tombstones), idle timeouts per kind of flow swept a few slots per poll, removal of TCP flows
// once they close (RST, or FIN both ways plus a linger for the last ACK and retransmissions), and a
// bounded size: when full, the least recently seen of a few candidates is evicted and counted.
import { FlowKind, KEY_WORDS, hashKey, type KeyInfo } from './flow-key';

// Module-local copies of what the per-packet methods use (imported bindings can be getter calls).
const hashOf = hashKey;
const K_TCP = 1;
const K_UDP = 2;
const K_ICMP = 3;
const K_ARP = 4;

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
 * A slot's record: 8 words, 32 bytes, two to a cache line (the buffer is line-aligned) —
 *   0  0 for a free slot; else the key's word 0 (kind, IP protocol, IPv6 flag: 16 bits), bit 16
 *      set, the action in bits 17-18, TCP close bookkeeping in bits 20-22;
 *   1, 2  the endpoint addresses (IPv4), or each IPv6 address's four words xor-ed together;
 *   3  the ports word;
 *   4  the rule;  5  the generation;  6  the flow id;
 *   7  when the flow was last seen, or once a TCP flow has closed, when it closed (its linger runs
 *      from there, and a closed flow is the first to go when the table is full): milliseconds since
 *      the table's first flow, modulo 2^32 (ages are taken modulo 2^32 too, so 49 days wrap fine).
 * IPv6 addresses themselves sit in a side array, read only for IPv6 flows. There is no hash word:
 * a probe compares the ports word first, which tells flows apart as well, and the rare backward
 * shift that needs a record's home slot hashes its key again.
 */
const REC = 8;
const R_STATE = 0;
const R_A = 1;
const R_B = 2;
const R_PORTS = 3;
const R_RULE = 4;
const R_GEN = 5;
const R_ID = 6;
const R_SEEN = 7;
const USED = 1 << 16;
const ACTION_SHIFT = 17;
const TCP_SHIFT = 20;
const WORD0_MASK = 0xffff;
const V6 = 0x80;
/** Words per slot in the IPv6 address array: A's four, then B's. */
const V6_WORDS = 8;

/** The one part of the WebAssembly API used here (the engine's TypeScript libraries do not declare it). */
declare const WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer } } | undefined;

/**
 * Words that start on a cache-line boundary: a WebAssembly memory is page-aligned, where a plain
 * ArrayBuffer's storage is only known to be 16-byte aligned (and a record could straddle two lines).
 */
function alignedWords(count: number): Uint32Array {
  const bytes = count * 4;
  if (typeof WebAssembly === 'object' && bytes <= 1 << 30) {
    const pages = Math.max(1, Math.ceil(bytes / 65536));
    try {
      return new Uint32Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, count);
    } catch {
      // No room for another WebAssembly memory here: plain words work the same, a little slower.
    }
  }
  return new Uint32Array(count);
}

export class FlowTable {
  readonly maxFlows: number;
  readonly timeouts: FlowTimeouts;
  readonly counters: FlowTableCounters = { inserted: 0, expired: 0, closed: 0, evicted: 0 };
  /** Flows held now. */
  size = 0;

  private readonly mask: number;
  private readonly rec: Uint32Array;
  private readonly v6: Uint32Array;
  private readonly scratch = new Uint32Array(KEY_WORDS);
  /** Milliseconds of `now` that record times count from (the first flow's time). */
  private base = Number.NaN;
  /** How many live flows were decided under each generation, to report flows pinned to old rules. */
  private readonly perGeneration = new Map<number, number>();
  private lastGeneration = -1;
  private lastGenerationFlows = 0;
  private nextFlowId = 1;
  private sweepCursor = 0;
  private evictHand = 0;

  constructor(options: FlowTableOptions = {}) {
    this.maxFlows = options.maxFlows ?? 65536;
    this.timeouts = { ...DEFAULT_FLOW_TIMEOUTS, ...options.timeouts };
    let cap = 16;
    while (cap < this.maxFlows * 2) cap *= 2;
    this.mask = cap - 1;
    this.rec = alignedWords(cap * REC);
    this.v6 = new Uint32Array(cap * V6_WORDS);
  }

  /** The steering action of the flow at `slot` (the small integer the caller chose). */
  actionAt(slot: number): number {
    return (this.rec[slot * REC + R_STATE] >>> ACTION_SHIFT) & 3;
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
    return this.rec[slot * REC + R_STATE] & 0x7f;
  }
  /** When the flow was last seen (to the millisecond); for a closed TCP flow, when it closed. */
  lastSeenAt(slot: number): number {
    return this.base + this.rec[slot * REC + R_SEEN];
  }

  /**
   * Reads the home slot of each of `n` hashes (those with `present` set), so that the lookups that
   * follow find their records in cache: these reads do not wait on one another, so their misses
   * overlap, where each lookup's miss would otherwise stall on its own. Returns what it read, for the
   * caller to keep (a read nobody uses may be optimised away).
   */
  prefetch(hashes: Int32Array, present: Uint8Array, n: number): number {
    const rec = this.rec;
    const mask = this.mask;
    let x = 0;
    for (let i = 0; i < n; i++) if (present[i] === 1) x ^= rec[(hashes[i] & mask) * REC];
    return x;
  }

  /** The slot holding `key`, or -1. */
  find(key: Uint32Array): number {
    return this.findHashed(key, hashOf(key));
  }

  /** `find` for a key whose `hashKey` the caller has. */
  findHashed(key: Uint32Array, h: number): number {
    const rec = this.rec;
    const mask = this.mask;
    const w0 = key[0];
    const ports = key[9];
    let a = key[1];
    let b = key[5];
    const v6 = (w0 & V6) !== 0;
    if (v6) {
      a = (a ^ key[2] ^ key[3] ^ key[4]) >>> 0;
      b = (b ^ key[6] ^ key[7] ^ key[8]) >>> 0;
    }
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const r = i * REC;
      const state = rec[r + R_STATE];
      if (state === 0) return -1;
      if (rec[r + R_PORTS] === ports && rec[r + R_A] === a && rec[r + R_B] === b && (state & WORD0_MASK) === w0 && (!v6 || this.sameV6(i, key))) return i;
    }
  }

  private sameV6(slot: number, key: Uint32Array): boolean {
    const v = this.v6;
    const at = slot * V6_WORDS;
    return (
      v[at] === key[1] && v[at + 1] === key[2] && v[at + 2] === key[3] && v[at + 3] === key[4] &&
      v[at + 4] === key[5] && v[at + 5] === key[6] && v[at + 6] === key[7] && v[at + 7] === key[8]
    );
  }

  /**
   * Adds a flow for `key` decided by (`action`, `rule`, `generation`) and returns its slot. The
   * caller has checked that it is not there. Evicts one flow first when the table is full.
   */
  insert(key: Uint32Array, kind: FlowKind, action: number, rule: number, generation: number, now: number): number {
    return this.insertHashed(key, hashOf(key), kind, action, rule, generation, now);
  }

  /** `insert` for a key whose `hashKey` the caller has. */
  insertHashed(key: Uint32Array, h: number, kind: FlowKind, action: number, rule: number, generation: number, now: number): number {
    if (this.size >= this.maxFlows) this.evictOne(now);
    const rec = this.rec;
    const mask = this.mask;
    let i = h & mask;
    while (rec[i * REC + R_STATE] !== 0) i = (i + 1) & mask;
    const r = i * REC;
    const w0 = key[0] & WORD0_MASK;
    rec[r + R_STATE] = w0 | USED | ((action & 3) << ACTION_SHIFT);
    if (w0 & V6) {
      const at = i * V6_WORDS;
      for (let w = 0; w < 8; w++) this.v6[at + w] = key[1 + w];
      rec[r + R_A] = key[1] ^ key[2] ^ key[3] ^ key[4];
      rec[r + R_B] = key[5] ^ key[6] ^ key[7] ^ key[8];
    } else {
      rec[r + R_A] = key[1];
      rec[r + R_B] = key[5];
    }
    rec[r + R_PORTS] = key[9];
    rec[r + R_RULE] = rule >>> 0;
    rec[r + R_GEN] = generation >>> 0;
    rec[r + R_ID] = this.nextFlowId++;
    if (this.nextFlowId > 0xffffffff) this.nextFlowId = 1;
    if (this.base !== this.base) this.base = Math.floor(now);
    rec[r + R_SEEN] = now - this.base;
    this.size++;
    this.counters.inserted++;
    if (generation === this.lastGeneration) this.lastGenerationFlows++;
    else this.countGeneration(generation, 1);
    return i;
  }

  /** Notes a packet of the flow at `slot` seen at `now`, and follows TCP's close. */
  touch(slot: number, info: KeyInfo, now: number): void {
    const r = slot * REC;
    const rec = this.rec;
    const state = rec[r + R_STATE];
    let tcp = (state >>> TCP_SHIFT) & 7;
    if ((tcp & CLOSED) === 0) rec[r + R_SEEN] = now - this.base;
    if (info.kind !== K_TCP) return;
    const flags = info.tcpFlags;
    if ((flags & (TCP_RST | TCP_FIN)) === 0 || (tcp & CLOSED) !== 0) return;
    tcp |= flags & TCP_RST ? CLOSED : info.forward ? FIN_FORWARD : FIN_REVERSE;
    if ((tcp & (FIN_FORWARD | FIN_REVERSE)) === (FIN_FORWARD | FIN_REVERSE)) tcp |= CLOSED;
    rec[r + R_STATE] = (state & ~(7 << TCP_SHIFT)) | (tcp << TCP_SHIFT);
  }

  /** Flows still pinned under a generation older than `current`. */
  pinnedBefore(current: number): number {
    this.settleGeneration();
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
    this.rec.fill(0);
    this.size = 0;
    this.perGeneration.clear();
    this.lastGenerationFlows = 0;
  }

  /** Removes the flow of `key`, if there is one. */
  remove(key: Uint32Array): boolean {
    const i = this.find(key);
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  /**
   * Live flows per generation: `perGeneration`, plus the changes for the generation inserted last,
   * kept in a field so that a new flow costs no map update.
   */
  private countGeneration(gen: number, delta: number): void {
    this.settleGeneration();
    const left = (this.perGeneration.get(gen) ?? 0) + delta;
    if (left > 0) this.perGeneration.set(gen, left);
    else this.perGeneration.delete(gen);
    if (delta > 0) this.lastGeneration = gen;
  }

  private settleGeneration(): void {
    if (this.lastGenerationFlows === 0) return;
    const gen = this.lastGeneration;
    this.perGeneration.set(gen, (this.perGeneration.get(gen) ?? 0) + this.lastGenerationFlows);
    this.lastGenerationFlows = 0;
  }

  /** How far the flow at `slot` has closed, as its packets showed it (for diagnostics and tests). */
  closeState(slot: number, now: number): { readonly finForward: boolean; readonly finReverse: boolean; readonly closed: boolean; readonly ageMs: number } {
    const t = this.tcpState(slot);
    return { finForward: (t & FIN_FORWARD) !== 0, finReverse: (t & FIN_REVERSE) !== 0, closed: (t & CLOSED) !== 0, ageMs: this.age(slot, now) };
  }

  private used(i: number): boolean {
    return this.rec[i * REC + R_STATE] !== 0;
  }

  private tcpState(i: number): number {
    return (this.rec[i * REC + R_STATE] >>> TCP_SHIFT) & 7;
  }

  /** Milliseconds since the flow at `i` was last seen (or closed). */
  private age(i: number, now: number): number {
    return ((now - this.base) - this.rec[i * REC + R_SEEN]) >>> 0;
  }

  private expired(i: number, now: number): boolean {
    const age = this.age(i, now);
    if (this.tcpState(i) & CLOSED) return age >= this.timeouts.tcpCloseLingerMs;
    return age >= this.idleTimeout(this.kindAt(i));
  }

  private idleTimeout(kind: number): number {
    switch (kind) {
      case K_TCP:
        return this.timeouts.tcpMs;
      case K_UDP:
        return this.timeouts.udpMs;
      case K_ICMP:
        return this.timeouts.icmpMs;
      case K_ARP:
        return this.timeouts.arpMs;
      default:
        return this.timeouts.otherMs;
    }
  }

  /** Evicts the least recently seen (or closed) of the next 8 live flows under the clock hand. */
  private evictOne(now: number): void {
    const rec = this.rec;
    const mask = this.mask;
    const nowRel = (now - this.base) >>> 0;
    let hand = this.evictHand;
    let victim = -1;
    let oldest = -1;
    for (let seen = 0, n = 0; n <= mask && seen < 8; n++) {
      const r = hand * REC;
      if (rec[r + R_STATE] !== 0) {
        seen++;
        const age = (nowRel - rec[r + R_SEEN]) >>> 0;
        if (age > oldest) {
          victim = hand;
          oldest = age;
        }
      }
      hand = (hand + 1) & mask;
    }
    this.evictHand = hand;
    if (victim >= 0) {
      this.removeAt(victim);
      this.counters.evicted++;
    }
  }

  /** Backward-shift deletion: later entries of the probe run move up so that lookups still find them. */
  private removeAt(i: number): void {
    const gen = this.generationAt(i);
    if (gen === this.lastGeneration && this.lastGenerationFlows > 0) this.lastGenerationFlows--;
    else this.countGeneration(gen, -1);
    const rec = this.rec;
    const mask = this.mask;
    rec[i * REC + R_STATE] = 0;
    this.size--;
    let hole = i;
    for (let j = (i + 1) & mask; rec[j * REC + R_STATE] !== 0; j = (j + 1) & mask) {
      const home = this.homeOf(j);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      for (let w = 0; w < REC; w++) rec[hole * REC + w] = rec[j * REC + w];
      if (rec[j * REC + R_STATE] & V6) for (let w = 0; w < V6_WORDS; w++) this.v6[hole * V6_WORDS + w] = this.v6[j * V6_WORDS + w];
      rec[j * REC + R_STATE] = 0;
      hole = j;
    }
  }

  /** The slot a record's key hashes to. */
  private homeOf(slot: number): number {
    const k = this.scratch;
    const r = slot * REC;
    const rec = this.rec;
    k[0] = rec[r + R_STATE] & WORD0_MASK;
    if (k[0] & V6) for (let w = 0; w < 8; w++) k[1 + w] = this.v6[slot * V6_WORDS + w];
    else {
      k[1] = rec[r + R_A];
      k[2] = k[3] = k[4] = 0;
      k[5] = rec[r + R_B];
      k[6] = k[7] = k[8] = 0;
    }
    k[9] = rec[r + R_PORTS];
    return hashOf(k) & this.mask;
  }
}
