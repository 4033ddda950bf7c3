// stack: TCP sockets in Node's `net` idiom — `createServer`/`listen` and `connect` giving Duplex
// streams over the tcp module's connections, with backpressure both ways, half-close, and errors
// carrying Node's codes. Stream work happens at the end of the stack's poll (or from the
// application's own callbacks), never while a segment is being processed.
//
// Backpressure: `write()` returns false once the connection's send buffer is full (the chunk in
// progress holds its callback until it fits), and 'drain' follows as ACKs free room. Reads stop
// when the readable side is full (`push()` returns false); unread bytes then stay in the TCP receive
// buffer, so the advertised window closes and the peer stops; reading resumes as the app reads.
//
// Not supported: setTimeout/'timeout', setKeepAlive and setNoDelay per socket (they are TcpConfig
// settings of the stack), IPv6, `localAddress` binding other than the stack's address.

import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { ipv4FromString, ipv4ToString } from '../wire/address';
import { TcpUsageError, type TcpListener } from '../tcp/index';
import type { DeferredTask, Ipv4Stack } from './stack';
import type { TcpEntry, TcpOwner } from './tcp-table';
import { ERRNO } from './udp';

export interface SocketOptions {
  /** As Node's: false (the default) ends our side when the peer's FIN arrives. */
  readonly allowHalfOpen?: boolean;
  readonly readableHighWaterMark?: number;
  readonly writableHighWaterMark?: number;
}

export interface TcpConnectOptions extends SocketOptions {
  readonly host?: string;
  readonly port: number;
  readonly localPort?: number;
}

export interface ServerOptions {
  readonly allowHalfOpen?: boolean;
}

/** A Node-style system error: `syscall CODE address:port`, with code, errno, syscall, address, port. */
export function netError(syscall: string, code: string, address?: string, port?: number): NodeJS.ErrnoException {
  const where = address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ''}` : '';
  const err = new Error(`${syscall} ${code}${where}`) as NodeJS.ErrnoException & { address?: string; port?: number };
  err.code = code;
  err.errno = -(ERRNO[code] ?? 0);
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined) err.port = port;
  return err;
}

const READ_CHUNK = 64 * 1024;

function resolveHost(stack: Ipv4Stack, host: string | undefined): number | undefined {
  if (host === undefined || host === 'localhost' || host === '127.0.0.1') return stack.address;
  return ipv4FromString(host);
}

export class Socket extends Duplex implements TcpOwner, DeferredTask {
  connecting = false;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: 'IPv4' | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  bytesRead = 0;
  bytesWritten = 0;

  private entry: TcpEntry | undefined;
  private scheduled = false;
  private evConnected = false;
  private evReadable = false;
  private evWritable = false;
  private evClosed = false;
  private evError: string | undefined;
  private reading = false;
  private pumping = false;
  private eofPushed = false;
  private pendingFinal: ((err?: Error | null) => void) | undefined;
  private pendingWrite: { chunk: Uint8Array; cb: (err?: Error | null) => void } | undefined;

  constructor(
    readonly stack: Ipv4Stack,
    options: SocketOptions = {},
    accepted?: TcpEntry,
  ) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
      decodeStrings: true,
    });
    if (accepted !== undefined) {
      this.attach(accepted);
      // Whatever arrived before accept(): data, the peer's FIN, or the end of the connection.
      this.evReadable = true;
      if (accepted.conn.state === 'CLOSED') this.evClosed = true;
      this.schedule();
    }
  }

  /** Opens the connection (Node's socket.connect(options, listener)). */
  connect(options: TcpConnectOptions, listener?: () => void): this {
    if (listener !== undefined) this.once('connect', listener);
    const addr = resolveHost(this.stack, options.host);
    this.remoteAddress = options.host ?? '127.0.0.1';
    this.remotePort = options.port;
    this.remoteFamily = 'IPv4';
    this.connecting = true;
    if (addr === undefined) {
      this.failLater('connect', 'EINVAL');
      return this;
    }
    this.remoteAddress = ipv4ToString(addr);
    const res = this.stack.tcpConnect(addr, options.port, this, options.localPort ?? 0);
    if (typeof res === 'string') {
      this.failLater('connect', res);
      return this;
    }
    this.attach(res);
    return this;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The connection's RFC 9293 state, for tests and the UI. */
  get tcpState(): string {
    return this.entry?.conn.state ?? 'CLOSED';
  }

  address(): { address: string; family: 'IPv4'; port: number } | Record<string, never> {
    if (this.localPort === undefined) return {};
    return { address: this.localAddress ?? '', family: 'IPv4', port: this.localPort };
  }

  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _delay?: number): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** Node 18+: close with a RST. `destroy()` does the same here unless both directions finished cleanly. */
  resetAndDestroy(): this {
    return this.destroy();
  }

  private attach(e: TcpEntry): void {
    this.entry = e;
    e.owner = this;
    this.localAddress = ipv4ToString(e.localAddr);
    this.localPort = e.localPort;
    this.remoteAddress = ipv4ToString(e.remoteAddr);
    this.remotePort = e.remotePort;
    this.remoteFamily = 'IPv4';
  }

  private failLater(syscall: string, code: string): void {
    this.evError = code;
    this.errorSyscall = syscall;
    this.schedule();
  }

  private errorSyscall: string | undefined;

  // ───────────── the stack's side (TcpOwner, DeferredTask) ─────────────

  onTcpEvent(_e: TcpEntry, kind: 'connected' | 'readable' | 'writable' | 'end' | 'error' | 'closed', code: string | undefined): void {
    switch (kind) {
      case 'connected':
        this.evConnected = true;
        break;
      case 'readable':
      case 'end':
        this.evReadable = true;
        break;
      case 'writable':
        this.evWritable = true;
        break;
      case 'error':
        this.evError ??= code;
        break;
      case 'closed':
        this.evClosed = true;
        break;
    }
    this.schedule();
  }

  runDeferred(): void {
    this.scheduled = false;
    if (this.destroyed) return;
    if (this.evConnected) {
      this.evConnected = false;
      this.connecting = false;
      this.emit('connect');
      this.emit('ready');
      const f = this.pendingFinal;
      this.pendingFinal = undefined;
      if (f !== undefined) this._final(f);
    }
    if (this.evWritable) {
      this.evWritable = false;
      this.continueWrite();
    }
    if (this.evReadable) {
      this.evReadable = false;
      this.pump();
    }
    if (this.evError !== undefined) {
      const code = this.evError;
      this.evError = undefined;
      const syscall = this.errorSyscall ?? (this.connecting || code === 'ECONNREFUSED' ? 'connect' : code === 'ECONNRESET' ? 'read' : 'read');
      this.errorSyscall = undefined;
      const err = code === 'ECONNREFUSED' || this.connecting ? netError(syscall, code, this.remoteAddress, this.remotePort) : netError(syscall, code);
      this.destroy(err);
      return;
    }
    if (this.evClosed) {
      this.evClosed = false;
      // The connection ended without an error (its FINs were exchanged, or a reset came while it was
      // closing): whatever is buffered can still be read; writes can no longer go anywhere.
      this.pump();
      if (this.pendingWrite !== undefined) {
        const { cb } = this.pendingWrite;
        this.pendingWrite = undefined;
        cb(netError('write', 'EPIPE'));
      }
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.stack.defer(this);
  }

  // ───────────── Duplex implementation ─────────────

  override _read(_size: number): void {
    this.reading = true;
    this.pump();
  }

  /** Moves in-order bytes from the TCP receive buffer into the stream while the stream wants them. */
  private pump(): void {
    const e = this.entry;
    if (this.pumping || e === undefined || this.eofPushed) return;
    this.pumping = true;
    try {
      const conn = e.conn;
      while (this.reading && conn.readable > 0) {
        // The receive queue's own chunk, handed over without another copy (engine/tcp/receive-queue.ts).
        const chunk = conn.recvChunk(READ_CHUNK);
        this.bytesRead += chunk.length;
        if (!this.push(chunk)) this.reading = false;
      }
      if (conn.readable === 0 && conn.peerFinished && !this.eofPushed) {
        this.eofPushed = true;
        this.push(null);
      }
    } finally {
      this.pumping = false;
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    const e = this.entry;
    if (e === undefined || e.conn.state === 'CLOSED') {
      cb(netError('write', 'EPIPE'));
      return;
    }
    let n: number;
    try {
      n = e.conn.send(chunk, this.stack.now);
    } catch (err) {
      cb(err instanceof TcpUsageError ? netError('write', err.code) : (err as Error));
      return;
    }
    this.bytesWritten += n;
    if (n === chunk.length) cb();
    else this.pendingWrite = { chunk: chunk.subarray(n), cb };
  }

  /** The send buffer has room again: move the rest of the chunk in progress. */
  private continueWrite(): void {
    const p = this.pendingWrite;
    const e = this.entry;
    if (p === undefined || e === undefined) return;
    let n: number;
    try {
      n = e.conn.send(p.chunk, this.stack.now);
    } catch (err) {
      this.pendingWrite = undefined;
      p.cb(err instanceof TcpUsageError ? netError('write', err.code) : (err as Error));
      return;
    }
    this.bytesWritten += n;
    if (n === p.chunk.length) {
      this.pendingWrite = undefined;
      p.cb();
    } else {
      p.chunk = p.chunk.subarray(n);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connecting) {
      // As Node's net.Socket: the FIN waits for the connection (a CLOSE in SYN-SENT would delete the TCB).
      this.pendingFinal = cb;
      return;
    }
    const e = this.entry;
    if (e !== undefined && e.conn.state !== 'CLOSED') {
      // RFC 9293 §3.10.4 CLOSE: our FIN follows the queued data; the peer may keep sending.
      e.conn.shutdownWrite(this.stack.now);
      this.stack.tcpKick(e);
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const e = this.entry;
    this.pendingWrite = undefined;
    if (e !== undefined && e.conn.state !== 'CLOSED') {
      const graceful = err === null && this.readableEnded && this.writableFinished;
      // A clean end (both directions done) closes; anything else aborts with a RST (RFC 9293 §3.10.5).
      if (graceful) e.conn.close(this.stack.now);
      else e.conn.abort(this.stack.now);
      this.stack.tcpKick(e);
    }
    if (e !== undefined) e.owner = undefined;
    cb(err);
  }
}

/** Node's `net.connect(options[, listener])` or `net.connect(port[, host][, listener])` on a stack. */
export function connect(stack: Ipv4Stack, options: TcpConnectOptions | number, host?: string | (() => void), listener?: () => void): Socket {
  const opts: TcpConnectOptions = typeof options === 'number' ? { port: options, host: typeof host === 'string' ? host : undefined } : options;
  const cb = typeof host === 'function' ? host : listener;
  return new Socket(stack, opts).connect(opts, cb);
}

export const createConnection = connect;

export class Server extends EventEmitter implements DeferredTask {
  private listener: TcpListener | undefined;
  private readonly sockets = new Set<Socket>();
  private closing = false;
  private scheduled = false;
  private pending: (() => void)[] = [];

  constructor(
    readonly stack: Ipv4Stack,
    private readonly options: ServerOptions = {},
    connectionListener?: (socket: Socket) => void,
  ) {
    super();
    if (connectionListener !== undefined) this.on('connection', connectionListener);
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  /**
   * listen(port[, host][, backlog][, callback]) or listen({ port, host, backlog }[, callback]). The
   * host, if given, must be the stack's address or a wildcard: the stack has one address.
   */
  listen(port?: number | { port?: number; host?: string; backlog?: number }, ...rest: (string | number | (() => void) | undefined)[]): this {
    let p = 0;
    let b = 511;
    let cb: (() => void) | undefined;
    if (typeof port === 'object' && port !== null) {
      p = port.port ?? 0;
      b = port.backlog ?? 511;
    } else {
      p = port ?? 0;
    }
    for (const r of rest) {
      if (typeof r === 'function') cb = r;
      else if (typeof r === 'number') b = r;
    }
    if (cb !== undefined) this.once('listening', cb);
    const res = this.stack.tcpListen(p, b, () => this.acceptAll());
    if (typeof res === 'string') {
      this.later(() => this.emit('error', netError('listen', res, '0.0.0.0', p)));
      return this;
    }
    this.listener = res;
    this.closing = false;
    this.later(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; family: 'IPv4'; port: number } | null {
    if (this.listener === undefined) return null;
    return { address: ipv4ToString(this.stack.address), family: 'IPv4', port: this.listener.localPort };
  }

  /** Stops accepting; 'close' follows once every accepted connection has closed (as Node's). */
  close(callback?: (err?: Error) => void): this {
    if (this.listener === undefined) {
      if (callback !== undefined) this.later(() => callback(Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })));
      return this;
    }
    if (callback !== undefined) this.once('close', callback);
    this.stack.tcpUnlisten(this.listener);
    this.listener = undefined;
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  runDeferred(): void {
    this.scheduled = false;
    const p = this.pending;
    this.pending = [];
    for (const f of p) f();
  }

  private acceptAll(): void {
    const l = this.listener;
    if (l === undefined) return;
    for (let conn = l.accept(); conn !== undefined; conn = l.accept()) {
      const entry = this.stack.tcpEntry(conn);
      if (entry === undefined) continue;
      const s = new Socket(this.stack, { allowHalfOpen: this.options.allowHalfOpen ?? false }, entry);
      this.sockets.add(s);
      s.once('close', () => {
        this.sockets.delete(s);
        this.maybeClosed();
      });
      this.emit('connection', s);
    }
  }

  private maybeClosed(): void {
    if (this.closing && this.sockets.size === 0) {
      this.closing = false;
      this.later(() => this.emit('close'));
    }
  }

  private later(f: () => void): void {
    this.pending.push(f);
    if (!this.scheduled) {
      this.scheduled = true;
      this.stack.defer(this);
    }
  }
}

/** Node's `net.createServer([options][, connectionListener])` on a stack. */
export function createServer(stack: Ipv4Stack, options?: ServerOptions | ((socket: Socket) => void), connectionListener?: (socket: Socket) => void): Server {
  if (typeof options === 'function') return new Server(stack, {}, options);
  return new Server(stack, options ?? {}, connectionListener);
}
