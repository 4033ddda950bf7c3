// bench/sim-tcp: two userspace stacks in one process on a simulated wire (MTU 1500, checksums
// computed both ways, tracing off) — bulk goodput and 64-byte request/response rate, in wall-clock
// time (and in CPU time, since a shared machine steals wall time), both through the stack's own
// connection interface and through the Node-style socket API. The same measurements run a second
// time from an esbuild bundle, the form the engine ships in (tsx's per-module export getters cost
// a noticeable share on this hot path). The kernel's loopback TCP, driven by Node's `net` in this
// same process, is measured alongside as a reference. Prints one JSON line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as kernelServer, connect as kernelConnect, type Socket as KernelSocket } from 'node:net';
import { SimNetwork } from '../engine/backends/sim-network';
import type { Ipv4Stack, DeferredTask } from '../engine/stack/stack';
import type { TcpEntry, TcpOwner } from '../engine/stack/tcp-table';
import { openSimPair, SimEcho, SocketEcho } from './sim-pair';
import { connect, createServer, type Socket } from '../engine/stack/net';

const BULK_BYTES = Number(process.env.BENCH_BULK_BYTES ?? 256 << 20);
const RR_COUNT = Number(process.env.BENCH_RR_COUNT ?? 50_000);
const MSG = 64;

/** A minimal application on the stack's own interface: no streams, events handled at the end of poll. */
class App implements TcpOwner, DeferredTask {
  entry: TcpEntry | undefined;
  private queued = false;
  onEvent: (kind: string) => void = () => {};
  constructor(readonly stack: Ipv4Stack) {}
  /** The kinds of event since the last run, each once; two arrays taking turns, so that a run allocates nothing (a Set's clear() does). */
  private pending: string[] = [];
  private handled: string[] = [];
  onTcpEvent(_e: TcpEntry, kind: string): void {
    if (!this.pending.includes(kind)) this.pending.push(kind);
    if (!this.queued) {
      this.queued = true;
      this.stack.defer(this);
    }
  }
  runDeferred(): void {
    this.queued = false;
    const kinds = this.pending;
    this.pending = this.handled;
    this.handled = kinds;
    for (const k of kinds) this.onEvent(k);
    kinds.length = 0;
  }
}

function twoStacks(): { net: SimNetwork; a: Ipv4Stack; b: Ipv4Stack } {
  const net = new SimNetwork({ seed: 1, hosts: 2, wire: { latencyMs: 0.01 } });
  return { net, a: net.stacks[0], b: net.stacks[1] };
}

/** Connects client (a) to a listener on b through the stack interface. */
function openPair(net: SimNetwork, a: Ipv4Stack, b: Ipv4Stack): { client: App; server: App } {
  return openSimPair(net, a, b, new App(a), new App(b));
}

function bulkStack(bytes = BULK_BYTES): Record<string, number> {
  const BULK_BYTES = bytes;
  const { net, a, b } = twoStacks();
  const { client, server } = openPair(net, a, b);
  const chunk = new Uint8Array(256 * 1024).fill(0x5a);
  const sink = new Uint8Array(256 * 1024);
  let sent = 0;
  let received = 0;
  const fill = (): void => {
    const c = client.entry!.conn;
    while (sent < BULK_BYTES) {
      const n = c.send(chunk.subarray(0, Math.min(chunk.length, BULK_BYTES - sent)), a.now);
      sent += n;
      if (n < chunk.length) break;
    }
  };
  client.onEvent = (k) => {
    if (k === 'writable') fill();
  };
  server.onEvent = (k) => {
    if (k !== 'readable') return;
    const c = server.entry!.conn;
    for (let n = c.recvInto(sink); n > 0; n = c.recvInto(sink)) received += n;
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  fill();
  net.runSync(Infinity, () => received >= BULK_BYTES);
  const wallMs = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  return {
    bytes: received,
    wallMs: round(wallMs),
    cpuMs: round(cpuMs),
    goodputGbit: round((received * 8) / (wallMs / 1000) / 1e9, 3),
    cpuGoodputGbit: round((received * 8) / (cpuMs / 1000) / 1e9, 3),
    virtualMs: round(net.now),
    segments: a.counters.tcp.out + b.counters.tcp.out,
  };
}

function rrStack(): Record<string, number> {
  const { net, a, b } = twoStacks();
  const { client, server } = openPair(net, a, b);
  const rr = new SimEcho(a, b, client, server, MSG);
  server.onEvent = (k) => k === 'readable' && rr.serve();
  client.onEvent = (k) => k === 'readable' && rr.receive();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  rr.start(RR_COUNT);
  net.runSync(Infinity, () => rr.done >= RR_COUNT);
  const wallMs = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  return {
    transactions: rr.done,
    wallMs: round(wallMs),
    cpuMs: round(cpuMs),
    perSecond: Math.round(rr.done / (wallMs / 1000)),
    perCpuSecond: Math.round(rr.done / (cpuMs / 1000)),
    virtualMs: round(net.now),
  };
}

async function bulkSocket(): Promise<Record<string, number>> {
  const { net, a, b } = twoStacks();
  let received = 0;
  createServer(b, (s) => s.on('data', (d: Buffer) => (received += d.length))).listen(5002);
  const c = connect(a, { host: '198.18.0.2', port: 5002 });
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let sent = 0;
  const pump = (): void => {
    while (sent < BULK_BYTES) {
      sent += chunk.length;
      if (!c.write(chunk)) {
        c.once('drain', pump);
        return;
      }
    }
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  pump();
  await net.run(() => received >= BULK_BYTES, Infinity);
  const wallMs = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  return {
    bytes: received,
    wallMs: round(wallMs),
    cpuMs: round(cpuMs),
    goodputGbit: round((received * 8) / (wallMs / 1000) / 1e9, 3),
    cpuGoodputGbit: round((received * 8) / (cpuMs / 1000) / 1e9, 3),
  };
}

async function rrSocket(): Promise<Record<string, number>> {
  const { net, a, b } = twoStacks();
  createServer(b, (s) => s.on('data', (d: Buffer) => s.write(d))).listen(5003);
  const c = connect(a, { host: '198.18.0.2', port: 5003 });
  const count = Math.min(RR_COUNT, 20_000);
  const rr = new SocketEcho(c, MSG);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  rr.start(count);
  await net.run(() => rr.done >= count, Infinity);
  const wallMs = performance.now() - t0;
  const cpuMs = cpuSince(c0);
  return { transactions: rr.done, wallMs: round(wallMs), cpuMs: round(cpuMs), perSecond: Math.round(rr.done / (wallMs / 1000)), perCpuSecond: Math.round(rr.done / (cpuMs / 1000)) };
}

/** The kernel's loopback TCP through Node's net, for reference (127.0.0.1 only). */
async function kernelBulk(): Promise<Record<string, number>> {
  let received = 0;
  let resolveDone: () => void = () => {};
  const finished = new Promise<void>((r) => (resolveDone = r));
  const server = kernelServer((s) => {
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= BULK_BYTES) resolveDone();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const c: KernelSocket = kernelConnect(port, '127.0.0.1');
  await new Promise<void>((r) => c.once('connect', r));
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let sent = 0;
  const t0 = performance.now();
  const pump = (): void => {
    while (sent < BULK_BYTES) {
      sent += chunk.length;
      if (!c.write(chunk)) {
        c.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await finished;
  const wallMs = performance.now() - t0;
  c.destroy();
  server.close();
  return { bytes: received, wallMs: round(wallMs), goodputGbit: round((received * 8) / (wallMs / 1000) / 1e9, 3) };
}

async function kernelRr(): Promise<Record<string, number>> {
  const server = kernelServer((s) => s.on('data', (d: Buffer) => s.write(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const c: KernelSocket = kernelConnect(port, '127.0.0.1');
  c.setNoDelay(true);
  await new Promise<void>((r) => c.once('connect', r));
  const msg = Buffer.alloc(MSG, 1);
  const count = Math.min(RR_COUNT, 20_000);
  let done = 0;
  let got = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    c.on('data', (d: Buffer) => {
      got += d.length;
      while (got >= MSG) {
        got -= MSG;
        done++;
        if (done < count) c.write(msg);
        else resolve();
      }
    });
    c.write(msg);
  });
  const wallMs = performance.now() - t0;
  c.destroy();
  server.close();
  return { transactions: done, wallMs: round(wallMs), perSecond: Math.round(done / (wallMs / 1000)) };
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function stackFigures(): Promise<Record<string, unknown>> {
  // Warm-ups: let the JIT settle before measuring (a first rr run after the bulk ones is 25–35% slower).
  bulkStack(16 << 20);
  rrStack();
  return {
    bulk: bulkStack(),
    requestResponse: rrStack(),
    bulkSocketApi: await bulkSocket(),
    requestResponseSocketApi: await rrSocket(),
  };
}

/** The same stack measurements from an esbuild bundle of this file, in a child process. */
async function bundledFigures(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'sim-tcp-bench-'));
  try {
    const esbuild = await import('esbuild');
    const outfile = join(dir, 'bench.cjs');
    esbuild.buildSync({ entryPoints: [__filename], bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile, logLevel: 'error' });
    const res = spawnSync(process.execPath, [outfile], { env: { ...process.env, SIM_TCP_BENCH_CHILD: '1' }, encoding: 'utf8', maxBuffer: 1 << 20 });
    const line = res.stdout.trim().split('\n').find((l) => l.startsWith('{'));
    return line !== undefined ? (JSON.parse(line) as Record<string, unknown>) : { error: `exit ${res.status}: ${res.stderr.slice(0, 200)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.env.SIM_TCP_BENCH_CHILD === '1') {
    console.log(JSON.stringify(await stackFigures()));
    return;
  }
  const out = {
    bench: 'sim-tcp',
    mtu: 1500,
    checksums: true,
    tracing: false,
    bulkBytes: BULK_BYTES,
    messageBytes: MSG,
    tsx: await stackFigures(),
    bundled: await bundledFigures(),
    kernelLoopback: { bulk: await kernelBulk(), requestResponse: await kernelRr() },
    node: process.version,
  };
  console.log(JSON.stringify(out));
}

void main();
