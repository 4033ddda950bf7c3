// workloads: the small Node-shaped surface every workload is written against — `net`-like TCP,
// `dgram`-like UDP, timers and (optionally) ping — so that one workload runs on the bypass stack, on
// the emulated kernel, or later on Node's own `net`/`dgram` against the real kernel in the lab.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Pollable } from '../backends/backend';
import { TimerQueue } from '../backends/timer-queue';
import { SeededRng } from '../tcp/rng';
import { connect, createServer, createSocket, type Ipv4Stack } from '../stack/index';
import { ipv4FromString, ipv4ToString } from '../wire/address';

export interface ServerLike {
  listen(port: number, callback?: () => void): unknown;
  close(callback?: (err?: Error) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface RemoteInfoLike {
  readonly address: string;
  readonly port: number;
}

export interface DatagramSocket {
  bind(port?: number, callback?: () => void): unknown;
  send(msg: Uint8Array, port: number, address: string, callback?: (err: Error | null) => void): void;
  on(event: 'message', listener: (msg: Buffer, rinfo: RemoteInfoLike) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  close(callback?: () => void): unknown;
}

/** Node's `net` and `dgram`, as much as the workloads use. */
export interface NetApi {
  createServer(onConnection: (socket: Duplex) => void): ServerLike;
  connect(options: { host: string; port: number }, onConnect?: () => void): Duplex;
  createSocket(type: 'udp4'): DatagramSocket;
}

/** Timers in the host's time base (virtual milliseconds in `sim`). */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Where a workload side runs. */
export interface WorkloadHost {
  readonly name: string;
  readonly address: string;
  readonly net: NetApi;
  readonly timers: Scheduler;
  /** ICMP echo (not in Node's API; the kernel's ping in the lab). Calls back with the RTT in ms, or undefined on timeout. */
  ping?(address: string, sequence: number, timeoutMs: number, done: (rttMs: number | undefined) => void): void;
}

/** A running workload: poll `done`; `errors` explain a failure; `summary()` is one line. */
export interface WorkloadRun {
  readonly name: string;
  readonly done: boolean;
  /** The data were checked (content, hashes, sequence numbers) and matched. */
  readonly verified: boolean;
  readonly errors: readonly string[];
  summary(): string;
}

// ───────────────────────── the userspace stack as a WorkloadHost ─────────────────────────

/** Timers driven by a virtual clock: add it to the clock as a member. */
export class VirtualTimers implements Scheduler, Pollable {
  private readonly queue = new TimerQueue<{ fn: () => void; cancelled: boolean }>();
  /** Callbacks run so far (a driver turns Node's event loop when it changes). */
  fired = 0;

  constructor(private readonly clock: { readonly now: number }) {}

  now(): number {
    return this.clock.now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const t = { fn, cancelled: false };
    this.queue.push(this.clock.now + Math.max(0, ms), t);
    return t;
  }

  clearTimeout(handle: unknown): void {
    if (handle !== undefined && handle !== null) (handle as { cancelled: boolean }).cancelled = true;
  }

  poll(now: number): void {
    for (let t = this.queue.popDue(now); t !== undefined; t = this.queue.popDue(now)) if (!t.cancelled) {
        this.fired++;
        t.fn();
      }
  }

  pollAt(): number | undefined {
    return this.queue.peekTime();
  }
}

/** A WorkloadHost over an Ipv4Stack. */
export function stackHost(stack: Ipv4Stack, timers: Scheduler, name = stack.name): WorkloadHost {
  const pings = new Map<number, { done: (rtt: number | undefined) => void; sent: number; timer: unknown }>();
  const ident = 0x4253; // 'BS'
  stack.onEchoReply = (r) => {
    if (r.identifier !== ident) return;
    const p = pings.get(r.sequence);
    if (p === undefined) return;
    pings.delete(r.sequence);
    timers.clearTimeout(p.timer);
    p.done(r.time - p.sent);
  };
  return {
    name,
    address: ipv4ToString(stack.address),
    timers,
    net: {
      createServer: (onConnection) => createServer(stack, onConnection) as unknown as ServerLike,
      connect: (options, onConnect) => connect(stack, { host: options.host, port: options.port }, onConnect),
      createSocket: () => createSocket(stack, 'udp4') as unknown as DatagramSocket,
    },
    ping(address, sequence, timeoutMs, done) {
      const dst = ipv4FromString(address);
      if (dst === undefined) return done(undefined);
      const timer = timers.setTimeout(() => {
        if (pings.delete(sequence)) done(undefined);
      }, timeoutMs);
      pings.set(sequence, { done, sent: timers.now(), timer });
      stack.ping(dst, ident, sequence, new Uint8Array(56));
    },
  };
}

// ───────────────────────── helpers ─────────────────────────

/** Deterministic bytes from a seed. */
export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  const r = new SeededRng(seed);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE(r.nextU32(), i);
  for (; i < n; i++) b[i] = r.nextU32() & 0xff;
  return b;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes `data` in chunks, waiting for 'drain' when write() says so; then ends the socket when told. */
export function writeAll(s: Duplex, data: Uint8Array, end: boolean, chunk = 64 * 1024): void {
  let off = 0;
  const pump = (): void => {
    while (off < data.length) {
      const stop = Math.min(off + chunk, data.length);
      const ok = s.write(data.subarray(off, stop));
      off = stop;
      if (!ok) {
        s.once('drain', pump);
        return;
      }
    }
    if (end) s.end();
  };
  pump();
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Base for workload runs: errors collected, done/verified flags. */
export class RunState implements WorkloadRun {
  done = false;
  verified = false;
  readonly errors: string[] = [];

  constructor(
    readonly name: string,
    private readonly describe: (r: RunState) => string,
  ) {}

  fail(what: string): void {
    if (this.errors.length < 20) this.errors.push(what);
  }

  finish(verified: boolean): void {
    if (this.done) return;
    this.done = true;
    this.verified = verified && this.errors.length === 0;
  }

  summary(): string {
    const state = !this.done ? 'running' : this.verified ? 'ok' : 'FAILED';
    const errs = this.errors.length > 0 ? ` (${this.errors[0]}${this.errors.length > 1 ? `, +${this.errors.length - 1} more` : ''})` : '';
    return `${this.name}: ${state}, ${this.describe(this)}${errs}`;
  }
}
