// stack: UDP sockets in the shape of Node's `dgram.Socket` (RFC 768 underneath) — bind, connect,
// send, 'message', 'error', close — on an Ipv4Stack. Events are emitted at the end of the stack's
// poll, never while a packet is being processed.

import { EventEmitter } from 'node:events';
import { ipv4FromString, ipv4ToString } from '../wire/address';
import type { DeferredTask, Ipv4Stack, UdpEndpoint } from './stack';

export interface UdpSocketOptions {
  readonly type?: 'udp4';
  /** Bytes of datagrams waiting for the application before more are dropped (Linux rmem_default: 212992). */
  readonly recvBufferSize?: number;
  /**
   * Set DF on datagrams (Linux IP_PMTUDISC_DO): a datagram larger than the MTU then fails with
   * EMSGSIZE instead of being fragmented. Not a Node option; Node sockets fragment (IP_PMTUDISC_WANT).
   */
  readonly dontFragment?: boolean;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4';
  port: number;
  size: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

/** An error as Node's dgram makes them: message `syscall CODE`, with `code`, `errno` and `syscall`. */
export function udpError(syscall: string, code: string, extra?: { address?: string; port?: number }): NodeJS.ErrnoException {
  const err = new Error(`${syscall} ${code}${extra?.address !== undefined ? ` ${extra.address}${extra.port !== undefined ? `:${extra.port}` : ''}` : ''}`) as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
  };
  err.code = code;
  err.errno = -(ERRNO[code] ?? 0);
  err.syscall = syscall;
  if (extra?.address !== undefined) err.address = extra.address;
  if (extra?.port !== undefined) err.port = extra.port;
  return err;
}

/** Linux errno values, so `err.errno` reads as Node's does. */
export const ERRNO: Record<string, number> = {
  EPIPE: 32,
  EINVAL: 22,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNRESET: 104,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  ENONET: 64,
  EPROTO: 71,
};

type SendCallback = (error: Error | null, bytes: number) => void;

interface Inbound {
  readonly data: Buffer;
  readonly rinfo: RemoteInfo;
}

type Pending =
  | { readonly kind: 'listening' }
  | { readonly kind: 'connect' }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'send'; readonly cb: SendCallback; readonly error: Error | null; readonly bytes: number }
  | { readonly kind: 'close' }
  | { readonly kind: 'call'; readonly fn: () => void };

export class UdpSocket extends EventEmitter implements UdpEndpoint, DeferredTask {
  remoteAddr = 0;
  remotePort = 0;
  private port = 0;
  private bound = false;
  private closed = false;
  private readonly recvBufferSize: number;
  private readonly dontFragment: boolean;
  private queuedBytes = 0;
  private inbound: Inbound[] = [];
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(
    readonly stack: Ipv4Stack,
    options: UdpSocketOptions = {},
  ) {
    super();
    this.recvBufferSize = options.recvBufferSize ?? 212_992;
    this.dontFragment = options.dontFragment ?? false;
  }

  // ───────────── Node's dgram.Socket surface ─────────────

  bind(port?: number | { port?: number; address?: string }, address?: string | (() => void), callback?: () => void): this {
    let p = 0;
    let addr: string | undefined;
    let cb: (() => void) | undefined;
    if (typeof port === 'object' && port !== null) {
      p = port.port ?? 0;
      addr = port.address;
      cb = typeof address === 'function' ? address : callback;
    } else {
      p = port ?? 0;
      if (typeof address === 'function') cb = address;
      else {
        addr = address;
        cb = callback;
      }
    }
    if (this.closed) throw udpError('bind', 'ERR_SOCKET_DGRAM_NOT_RUNNING');
    if (this.bound) throw Object.assign(new Error('Socket is already bound'), { code: 'ERR_SOCKET_ALREADY_BOUND' });
    if (addr !== undefined && addr !== '0.0.0.0' && ipv4FromString(addr) !== this.stack.address) {
      this.queue({ kind: 'error', error: udpError('bind', 'EADDRNOTAVAIL', { address: addr, port: p }) });
      return this;
    }
    const got = this.stack.udpBind(p, this);
    if (got === 'EADDRINUSE') {
      this.queue({ kind: 'error', error: udpError('bind', 'EADDRINUSE', { address: addr ?? '0.0.0.0', port: p }) });
      return this;
    }
    this.port = got;
    this.bound = true;
    if (cb !== undefined) this.once('listening', cb);
    this.queue({ kind: 'listening' });
    return this;
  }

  /** Associates the socket with one peer: sends default to it, only its datagrams are received. */
  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    const cb = typeof address === 'function' ? address : callback;
    const addrText = typeof address === 'string' ? address : '127.0.0.1';
    const addr = addrText === 'localhost' || addrText === '127.0.0.1' ? this.stack.address : ipv4FromString(addrText);
    if (this.remotePort !== 0) throw Object.assign(new Error('Already connected'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
    if (addr === undefined) throw Object.assign(new Error(`Invalid address ${addrText}`), { code: 'EINVAL' });
    if (!this.bound) this.bind(0);
    this.remoteAddr = addr;
    this.remotePort = port;
    if (cb !== undefined) this.once('connect', cb);
    this.queue({ kind: 'connect' });
  }

  disconnect(): void {
    if (this.remotePort === 0) throw Object.assign(new Error('Not connected'), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    this.remoteAddr = 0;
    this.remotePort = 0;
  }

  /**
   * send(msg[, offset, length][, port][, address][, callback]), as Node's. On a connected socket
   * port and address are left out.
   */
  send(msg: Uint8Array | string, ...args: unknown[]): void {
    let data = typeof msg === 'string' ? Buffer.from(msg) : msg;
    let cb: SendCallback | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as SendCallback;
    if (args.length >= 2 && typeof args[0] === 'number' && typeof args[1] === 'number' && (args.length >= 3 || this.remotePort !== 0)) {
      data = data.subarray(args[0], (args[0] as number) + (args[1] as number));
      args = args.slice(2);
    }
    let port = this.remotePort;
    let addr = this.remoteAddr;
    let addrText = ipv4ToString(addr);
    if (this.remotePort === 0) {
      if (typeof args[0] !== 'number') throw Object.assign(new Error('Port must be given for an unconnected socket'), { code: 'ERR_SOCKET_BAD_PORT' });
      port = args[0];
      addrText = typeof args[1] === 'string' ? args[1] : '127.0.0.1';
      const a = addrText === 'localhost' || addrText === '127.0.0.1' ? this.stack.address : ipv4FromString(addrText);
      if (a === undefined) {
        this.failSend(cb, udpError('send', 'EINVAL', { address: addrText, port }));
        return;
      }
      addr = a;
    } else if (args.length > 0) {
      throw Object.assign(new Error('Port and address must not be given for a connected socket'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
    }
    if (this.closed) throw Object.assign(new Error('Not running'), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    if (!this.bound) this.bind(0);
    if (!this.bound) return;
    const res = this.stack.udpSend(this.port, addr, port, data, this.dontFragment);
    if (res !== 'ok') {
      this.failSend(cb, udpError('send', res, { address: addrText, port }));
      return;
    }
    if (cb !== undefined) this.queue({ kind: 'send', cb, error: null, bytes: data.length });
  }

  close(callback?: () => void): this {
    if (this.closed) return this;
    this.closed = true;
    if (this.bound) this.stack.udpUnbind(this.port, this);
    this.inbound = [];
    this.queuedBytes = 0;
    if (callback !== undefined) this.once('close', callback);
    this.queue({ kind: 'close' });
    return this;
  }

  address(): AddressInfo {
    if (!this.bound) throw udpError('getsockname', 'EBADF');
    return { address: ipv4ToString(this.stack.address), family: 'IPv4', port: this.port };
  }

  remoteAddress(): AddressInfo {
    if (this.remotePort === 0) throw Object.assign(new Error('Not connected'), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    return { address: ipv4ToString(this.remoteAddr), family: 'IPv4', port: this.remotePort };
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  // ───────────── the stack's side ─────────────

  deliver(src: number, srcPort: number, payload: Uint8Array, _packetId: number): boolean {
    if (this.closed) return false;
    if (this.queuedBytes + payload.length > this.recvBufferSize) return false;
    this.queuedBytes += payload.length;
    this.inbound.push({ data: Buffer.from(payload), rinfo: { address: ipv4ToString(src), family: 'IPv4', port: srcPort, size: payload.length } });
    this.schedule();
    return true;
  }

  icmpError(code: string, hard: boolean): void {
    // Linux __udp4_lib_err without IP_RECVERR: only hard errors, and only on a connected socket.
    if (!hard || this.remotePort === 0 || this.closed) return;
    this.queue({ kind: 'error', error: udpError('recvmsg', code) });
  }

  runDeferred(): void {
    this.scheduled = false;
    const inbound = this.inbound;
    const pending = this.pending;
    this.inbound = [];
    this.pending = [];
    for (const p of pending) {
      switch (p.kind) {
        case 'listening':
          if (!this.closed) this.emit('listening');
          break;
        case 'connect':
          if (!this.closed) this.emit('connect');
          break;
        case 'error':
          this.emit('error', p.error);
          break;
        case 'send':
          p.cb(p.error, p.bytes);
          break;
        case 'close':
          this.emit('close');
          break;
        case 'call':
          p.fn();
          break;
      }
    }
    for (const m of inbound) {
      this.queuedBytes -= m.data.length;
      if (!this.closed) this.emit('message', m.data, m.rinfo);
    }
  }

  private failSend(cb: SendCallback | undefined, error: Error): void {
    if (cb !== undefined) this.queue({ kind: 'send', cb, error, bytes: 0 });
    else this.queue({ kind: 'error', error });
  }

  private queue(p: Pending): void {
    this.pending.push(p);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.stack.defer(this);
  }
}

/** Node's `dgram.createSocket(type, listener)` for a stack. */
export function createSocket(stack: Ipv4Stack, options: 'udp4' | UdpSocketOptions = 'udp4', onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void): UdpSocket {
  const s = new UdpSocket(stack, typeof options === 'string' ? { type: options } : options);
  if (onMessage !== undefined) s.on('message', onMessage);
  return s;
}
