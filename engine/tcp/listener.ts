// tcp: a listening socket — a SYN queue of half-open children and an accept queue (the backlog).

import { TCP_ACK, TCP_RST, TCP_SYN, type TcpRepr } from '../wire/tcp';
import { resetFor, TcpConnection, type ListenerHooks } from './connection';
import type { TcpContext } from './context';

/** What the stack does with a segment the listener handled. */
export type ListenResult =
  /** A SYN made a new connection (in SYN-RECEIVED): register it under its 4-tuple. */
  | { readonly kind: 'spawned'; readonly conn: TcpConnection }
  /** RFC 9293 §3.10.7.2: send this reset (an ACK reached LISTEN). */
  | { readonly kind: 'reset'; readonly seg: TcpRepr }
  | { readonly kind: 'drop'; readonly reason: 'rst' | 'no-syn' | 'syn-queue-full' | 'accept-queue-full' | 'closed' };

/**
 * RFC 9293 models LISTEN as one TCB; a sockets-style listener clones it per SYN. Each child starts in
 * LISTEN, so its first recorded transition is LISTEN → SYN-RECEIVED. SYN cookies are not implemented:
 * a full SYN queue drops SYNs (as does a full accept queue, like Linux).
 */
export class TcpListener implements ListenerHooks {
  private readonly synQueue = new Set<TcpConnection>();
  private readonly acceptQueue: TcpConnection[] = [];
  private open = true;
  /** Called when a connection becomes ready for accept(). */
  onAcceptable: ((listener: TcpListener) => void) | undefined = undefined;
  readonly stats = { synDropped: 0, resets: 0 };

  constructor(
    private readonly ctx: TcpContext,
    /** 0 = any local address. */
    readonly localAddr: number,
    readonly localPort: number,
    readonly backlog: number,
  ) {}

  get listening(): boolean {
    return this.open;
  }

  get halfOpen(): number {
    return this.synQueue.size;
  }

  get pending(): number {
    return this.acceptQueue.length;
  }

  /** A segment for this port that matched no connection. */
  process(seg: TcpRepr, srcAddr: number, dstAddr: number, now: number, packetId?: number): ListenResult {
    if (!this.open) return { kind: 'drop', reason: 'closed' };
    if (seg.flags & TCP_RST) return { kind: 'drop', reason: 'rst' };
    if (seg.flags & TCP_ACK) {
      this.stats.resets++;
      return { kind: 'reset', seg: resetFor(seg)! };
    }
    if (!(seg.flags & TCP_SYN)) return { kind: 'drop', reason: 'no-syn' };
    if (this.synQueue.size >= this.ctx.config.synQueueSize) {
      this.stats.synDropped++;
      return { kind: 'drop', reason: 'syn-queue-full' };
    }
    if (this.acceptQueue.length >= this.backlog) {
      this.stats.synDropped++;
      return { kind: 'drop', reason: 'accept-queue-full' };
    }
    const conn = TcpConnection.forListener(
      this.ctx,
      { localAddr: dstAddr, localPort: this.localPort, remoteAddr: srcAddr, remotePort: seg.srcPort },
      this,
    );
    this.synQueue.add(conn);
    conn.process(seg, now, packetId);
    return { kind: 'spawned', conn };
  }

  /** The oldest established connection, if any. */
  accept(): TcpConnection | undefined {
    return this.acceptQueue.shift();
  }

  /** Stop listening: children not yet accepted are aborted (RST where they exist). */
  close(now: number): void {
    this.open = false;
    for (const c of [...this.synQueue, ...this.acceptQueue]) c.abort(now);
    this.synQueue.clear();
    this.acceptQueue.length = 0;
  }

  childEstablished(conn: TcpConnection): void {
    if (!this.synQueue.delete(conn)) return;
    this.acceptQueue.push(conn);
    this.onAcceptable?.(this);
  }

  childClosed(conn: TcpConnection): void {
    this.synQueue.delete(conn);
    const i = this.acceptQueue.indexOf(conn);
    if (i >= 0) this.acceptQueue.splice(i, 1);
  }
}

