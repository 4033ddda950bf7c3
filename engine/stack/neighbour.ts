// stack: the neighbour (ARP) cache — IPv4 → MAC entries with their timeouts, and the bounded queue of
// packets waiting for a resolution (RFC 826; timing and states after RFC 1122 §2.3.2.1 and Linux's
// neighbour subsystem: INCOMPLETE → REACHABLE → STALE → PROBE, then gone).

import type { TxOffload } from './offload';

export interface NeighbourConfig {
  /** How long a resolved entry is trusted without revalidation (Linux base_reachable_time: 30 s). */
  readonly reachableMs: number;
  /** How long a stale entry nobody uses is kept before it is forgotten (Linux gc_stale_time: 60 s). */
  readonly staleMs: number;
  /** Interval between requests while resolving or probing (Linux retrans_time: 1 s). */
  readonly retransmitMs: number;
  /** Requests before giving up (Linux mcast_solicit / ucast_solicit: 3). */
  readonly retries: number;
  /**
   * Packets held per unresolved destination (RFC 1122 §2.3.2.2 "SHOULD save at least one"); the
   * default is Linux's historical unres_qlen, enough for a fragmented 64 KiB datagram.
   */
  readonly queueLimit: number;
  /** Entries held at most; the oldest unused entry makes room. */
  readonly maxEntries: number;
}

export const DEFAULT_NEIGHBOUR_CONFIG: NeighbourConfig = Object.freeze({
  reachableMs: 30_000,
  staleMs: 60_000,
  retransmitMs: 1_000,
  retries: 3,
  queueLimit: 101,
  maxEntries: 256,
});

export type NeighbourState = 'incomplete' | 'reachable' | 'stale' | 'probe';

/** An IP packet (no link header) waiting for its next hop's MAC. */
export interface HeldPacket {
  readonly packet: Uint8Array;
  readonly packetId: number;
  /** What the device must finish when the packet goes out (a partial checksum, TSO). */
  readonly offload?: TxOffload;
}

export interface Neighbour {
  readonly ip: number;
  state: NeighbourState;
  mac: Uint8Array | undefined;
  /** reachable: when it goes stale; stale: when it is forgotten; incomplete/probe: the next request. */
  at: number;
  requests: number;
  queue: HeldPacket[];
}

/** What the cache asks its owner to do after time passes. */
export interface NeighbourWork {
  /** Send an ARP request for `ip` (to `mac` when probing a known entry, else broadcast). */
  requests: { ip: number; mac: Uint8Array | undefined }[];
  /** Resolution failed: these packets are dropped. */
  failed: HeldPacket[];
}

/**
 * The map key of an address: the same 32 bits as a signed integer. An address above 2^31 (any from
 * 128.0.0.0 on) is not a small integer to V8, so as a key it would be boxed (an allocation per
 * lookup, on every packet sent) and hashed as a double.
 */
function key(ip: number): number {
  return ip | 0;
}

export class NeighbourCache {
  /** By key(ip). */
  private readonly entries = new Map<number, Neighbour>();
  private nextAt: number | undefined = undefined;
  private nextAtValid = true;

  constructor(readonly config: NeighbourConfig = DEFAULT_NEIGHBOUR_CONFIG) {}

  get size(): number {
    return this.entries.size;
  }

  entry(ip: number): Neighbour | undefined {
    return this.entries.get(key(ip));
  }

  /**
   * The MAC to use for `ip` now, or undefined when it must be resolved first. Using a stale entry
   * starts a unicast probe (`probe` is set so the owner sends it).
   */
  lookup(ip: number, now: number): { mac: Uint8Array | undefined; probe: boolean } | undefined {
    const e = this.entries.get(key(ip));
    if (e === undefined || e.mac === undefined) return undefined;
    if (e.state === 'reachable' && now >= e.at) e.state = 'stale';
    if (e.state === 'stale') {
      e.state = 'probe';
      e.requests = 1;
      e.at = now + this.config.retransmitMs;
      this.nextAtValid = false;
      return { mac: e.mac, probe: true };
    }
    return LOOKUP_HIT(e.mac);
  }

  /**
   * Holds a packet for an unresolved `ip`. Returns whether a first request must go out now, and the
   * packet dropped to make room (the oldest, as Linux does), if any.
   */
  hold(ip: number, held: HeldPacket, now: number): { request: boolean; dropped: HeldPacket | undefined } {
    let e = this.entries.get(key(ip));
    let request = false;
    if (e === undefined) {
      this.makeRoom();
      e = { ip, state: 'incomplete', mac: undefined, at: now + this.config.retransmitMs, requests: 1, queue: [] };
      this.entries.set(key(ip), e);
      this.nextAtValid = false;
      request = true;
    }
    let dropped: HeldPacket | undefined;
    e.queue.push(held);
    if (e.queue.length > this.config.queueLimit) dropped = e.queue.shift();
    return { request, dropped };
  }

  /**
   * RFC 826 "merge": what an ARP packet from `ip` at `mac` teaches. `create` is true when the packet
   * was for us (the RFC adds the sender only then). Returns the packets that were waiting, now
   * sendable, or undefined.
   */
  learn(ip: number, mac: Uint8Array, now: number, create: boolean): { merged: boolean; released: HeldPacket[] | undefined } {
    let e = this.entries.get(key(ip));
    if (e === undefined) {
      if (!create) return { merged: false, released: undefined };
      this.makeRoom();
      e = { ip, state: 'reachable', mac, at: now + this.config.reachableMs, requests: 0, queue: [] };
      this.entries.set(key(ip), e);
      this.nextAtValid = false;
      return { merged: true, released: undefined };
    }
    e.mac = mac;
    e.state = 'reachable';
    e.at = now + this.config.reachableMs;
    e.requests = 0;
    this.nextAtValid = false;
    const released = e.queue.length > 0 ? e.queue : undefined;
    e.queue = [];
    return { merged: true, released };
  }

  /** Runs the timers due at `now`. */
  poll(now: number): NeighbourWork | undefined {
    const next = this.nextDeadline();
    if (next === undefined || next > now) return undefined;
    const work: NeighbourWork = { requests: [], failed: [] };
    for (const e of this.entries.values()) {
      if (now < e.at) continue;
      switch (e.state) {
        case 'reachable':
          // Goes stale silently; the next use revalidates it.
          e.state = 'stale';
          e.at = now + this.config.staleMs;
          break;
        case 'stale':
          this.entries.delete(key(e.ip));
          break;
        case 'incomplete':
        case 'probe':
          if (e.requests >= this.config.retries) {
            this.entries.delete(key(e.ip));
            for (const h of e.queue) work.failed.push(h);
          } else {
            e.requests++;
            e.at = now + this.config.retransmitMs;
            work.requests.push({ ip: e.ip, mac: e.state === 'probe' ? e.mac : undefined });
          }
          break;
      }
    }
    this.nextAtValid = false;
    return work;
  }

  nextDeadline(): number | undefined {
    if (!this.nextAtValid) {
      let at: number | undefined;
      for (const e of this.entries.values()) if (at === undefined || e.at < at) at = e.at;
      this.nextAt = at;
      this.nextAtValid = true;
    }
    return this.nextAt;
  }

  private makeRoom(): void {
    if (this.entries.size < this.config.maxEntries) return;
    // Maps iterate in insertion order: the first entry without waiting packets is the oldest.
    for (const e of this.entries.values()) {
      if (e.queue.length === 0) {
        this.entries.delete(key(e.ip));
        this.nextAtValid = false;
        return;
      }
    }
  }
}

const hit = { mac: undefined as Uint8Array | undefined, probe: false };
/** The common case returns one shared object, so a send does not allocate. */
function LOOKUP_HIT(mac: Uint8Array): { mac: Uint8Array | undefined; probe: boolean } {
  hit.mac = mac;
  return hit;
}
