// stack: the TCP demultiplexing table — connections keyed by a numeric hash of their 4-tuple, open
// hashing with chains in arrays, so the per-segment lookup builds no string and allocates nothing.

import type { TcpConnection } from '../tcp/index';

/** What the stack keeps per connection besides the TCB. */
export interface TcpEntry {
  readonly conn: TcpConnection;
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly hash: number;
  /** Set by the socket layer; receives the connection's events (already deferred to a safe point). */
  owner: TcpOwner | undefined;
  /**
   * Linux's sk_err_soft: an ICMP error that did not kill the connection; a later timeout reports it
   * instead of ETIMEDOUT (e.g. EHOSTUNREACH).
   */
  softError: string | undefined;
  /** An error the stack imposed (ICMP in SYN-SENT, ARP failure), reported instead of the TCP module's code. */
  hardError: string | undefined;
  /** False once removed from the table. */
  live: boolean;
  /** The stack holds this connection's output until the end of the poll (StackOptions.coalesceAcks). */
  flushQueued: boolean;
}

/** The socket layer's side of a connection. Events arrive synchronously: queue, do not call back in. */
export interface TcpOwner {
  onTcpEvent(entry: TcpEntry, kind: 'connected' | 'readable' | 'writable' | 'end' | 'error' | 'closed', code: string | undefined): void;
}

export function tupleHash(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
  let h = Math.imul(remoteAddr ^ 0x9e3779b9, 0x85ebca6b);
  h ^= ((remotePort << 16) | localPort) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= localAddr;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2d);
  return (h ^ (h >>> 15)) >>> 0;
}

export class TcpTable {
  private buckets: (TcpEntry[] | undefined)[];
  private mask: number;
  private count = 0;
  /** Every entry, for timers, in insertion order; removed entries stay (with `live` false) until `compact`. */
  all: TcpEntry[] = [];
  private dead = 0;

  constructor(initialBuckets = 64) {
    this.buckets = new Array(initialBuckets);
    this.mask = initialBuckets - 1;
  }

  get size(): number {
    return this.count;
  }

  lookup(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): TcpEntry | undefined {
    const chain = this.buckets[tupleHash(localAddr, localPort, remoteAddr, remotePort) & this.mask];
    if (chain === undefined) return undefined;
    for (let i = 0; i < chain.length; i++) {
      const e = chain[i];
      if (e.remotePort === remotePort && e.remoteAddr === remoteAddr && e.localPort === localPort && e.localAddr === localAddr) return e;
    }
    return undefined;
  }

  insert(conn: TcpConnection): TcpEntry {
    const t = conn.tuple;
    const hash = tupleHash(t.localAddr, t.localPort, t.remoteAddr, t.remotePort);
    const e: TcpEntry = {
      conn,
      localAddr: t.localAddr,
      localPort: t.localPort,
      remoteAddr: t.remoteAddr,
      remotePort: t.remotePort,
      hash,
      owner: undefined,
      softError: undefined,
      hardError: undefined,
      live: true,
      flushQueued: false,
    };
    if (this.count + 1 > this.buckets.length) this.grow();
    const i = hash & this.mask;
    (this.buckets[i] ??= []).push(e);
    this.all.push(e);
    this.count++;
    return e;
  }

  remove(e: TcpEntry): void {
    if (!e.live) return;
    e.live = false;
    const chain = this.buckets[e.hash & this.mask];
    if (chain !== undefined) {
      const i = chain.indexOf(e);
      if (i >= 0) chain.splice(i, 1);
    }
    this.dead++;
    this.count--;
  }

  /** Drops removed entries from `all`; call when no loop over `all` is running. */
  compact(): void {
    if (this.dead === 0) return;
    this.all = this.all.filter((e) => e.live);
    this.dead = 0;
  }

  private grow(): void {
    const size = this.buckets.length * 2;
    const next: (TcpEntry[] | undefined)[] = new Array(size);
    for (const e of this.all) if (e.live) (next[e.hash & (size - 1)] ??= []).push(e);
    this.buckets = next;
    this.mask = size - 1;
  }
}
