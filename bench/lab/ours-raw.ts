// bench/lab: the stack program's roles on the stack's own TCP interface (TcpOwner events and the
// connection's send/recvInto), as lwip-stack.c serves them on lwIP's raw API: no streams, no
// promise or nextTick machinery between a segment and its reply. Events arrive synchronously from
// the stack and are handled at the end of its poll (DeferredTask), where sending is allowed.
import type { DeferredTask, Ipv4Stack } from '../../engine/stack/stack';
import type { TcpEntry, TcpOwner } from '../../engine/stack/tcp-table';
import type { TcpListener } from '../../engine/tcp/index';
import { SubarrayCache } from '../../engine/wire/views';

export type RawRole = 'sink' | 'source' | 'echo';

const READABLE = 1;
const WRITABLE = 2;
const END = 4;
const GONE = 8;

/** The bit an event of the stack sets (a switch, not a string-keyed lookup: it runs per segment). */
function eventBit(kind: string): number {
  switch (kind) {
    case 'readable':
      return READABLE;
    case 'writable':
      return WRITABLE;
    case 'end':
      return END;
    case 'closed':
    case 'error':
      return GONE;
    default:
      return 0;
  }
}

/** One accepted connection serving `role`. */
class RawConnection implements TcpOwner, DeferredTask {
  private events = 0;
  private queued = false;
  /** echo: bytes read but not yet taken by the send buffer, in `held[heldStart .. heldEnd)`. */
  private readonly held: Uint8Array;
  private heldStart = 0;
  private heldEnd = 0;
  /** The view of `held` handed to send: the same range every message of a request/response, so made once. */
  private readonly heldView = new SubarrayCache();
  /** source: bytes of the pattern sent so far. */
  private sent = 0;
  private closed = false;

  constructor(
    private readonly stack: Ipv4Stack,
    private readonly entry: TcpEntry,
    private readonly role: RawRole,
    private readonly bytes: number,
    private readonly pattern: Uint8Array,
    private readonly period: number,
    private readonly buf: Uint8Array,
    private readonly onError: (message: string) => void,
  ) {
    this.held = role === 'echo' ? new Uint8Array(buf.length) : new Uint8Array(0);
    entry.owner = this;
    // A source starts at once; the others wait for data.
    this.events = role === 'source' ? WRITABLE | READABLE : READABLE;
    this.queue();
  }

  onTcpEvent(_e: TcpEntry, kind: string, code: string | undefined): void {
    if (kind === 'error') this.onError(`connection: ${code ?? 'error'}`);
    this.events |= eventBit(kind);
    this.queue();
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    this.stack.defer(this);
  }

  runDeferred(): void {
    this.queued = false;
    const ev = this.events;
    this.events = 0;
    if (ev & GONE || this.closed) return;
    const c = this.entry.conn;
    const now = this.stack.now;
    if (this.role === 'echo') {
      this.echo(now);
    } else {
      // sink, and a source's incoming bytes: read and discard.
      while (c.recvInto(this.buf) > 0);
      if (this.role === 'source' && ev & WRITABLE) this.pump(now);
    }
    if ((ev & END || c.peerFinished) && c.readable === 0 && this.heldEnd === this.heldStart && (this.role !== 'source' || this.sent >= this.bytes)) {
      this.closed = true;
      c.close(now);
    }
  }

  /** echo: send back what was held, then what arrived, as far as the send buffer takes it (the rest is held, and reading stops). */
  private echo(now: number): void {
    const c = this.entry.conn;
    for (;;) {
      if (this.heldEnd > this.heldStart) {
        const n = c.send(this.heldView.subarray(this.held, this.heldStart, this.heldEnd), now);
        this.heldStart += n;
        if (this.heldStart < this.heldEnd) return; // the send buffer is full: 'writable' resumes
        this.heldStart = this.heldEnd = 0;
      }
      const got = c.recvInto(this.held);
      if (got === 0) return;
      this.heldEnd = got;
    }
  }

  /** source: the pattern (byte i of the stream is i mod period) until `bytes` are queued. */
  private pump(now: number): void {
    const c = this.entry.conn;
    const chunk = this.pattern.length - this.period;
    while (this.sent < this.bytes) {
      const off = this.sent % this.period;
      const want = Math.min(chunk, this.bytes - this.sent);
      const n = c.send(this.pattern.subarray(off, off + want), now);
      this.sent += n;
      if (n < want) return;
    }
    this.closed = true;
    c.close(now);
  }
}

/** Listens on `port` and serves `role` on every accepted connection; undefined, or the listen error. */
export function serveRaw(
  stack: Ipv4Stack,
  port: number,
  role: RawRole,
  bytes: number,
  pattern: Uint8Array,
  period: number,
  onError: (message: string) => void,
): string | undefined {
  const buf = new Uint8Array(64 * 1024);
  const listener: TcpListener | string = stack.tcpListen(port, 128, () => {
    for (let conn = (listener as TcpListener).accept(); conn !== undefined; conn = (listener as TcpListener).accept()) {
      const entry = stack.tcpEntry(conn);
      if (entry !== undefined) new RawConnection(stack, entry, role, bytes, pattern, period, buf, onError);
    }
  });
  return typeof listener === 'string' ? listener : undefined;
}
