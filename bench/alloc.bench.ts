// bench/alloc: bytes allocated per 64-byte request/response transaction (one outstanding) between two
// sim stacks — through the stack's own connection interface and through the Node-style socket API —
// from an esbuild bundle (tsx adds allocations of its own). The figure is V8's sampling heap
// profiler over a window of transactions after a warm-up, counting the objects minor and major GCs
// already collected too: sampled bytes / transactions. A transaction is the work of both stacks (a
// request and a reply, each sent by one and received by the other) and of the sim clock driving
// them; `simClockBytesPerTransaction` is the part allocated in the clock's own (compiled) frames.
// CPU per transaction (process.cpuUsage, sampler off) is printed beside it for orientation only.
// Prints one JSON line.
//
//   BENCH_ALLOC_WARMUP / BENCH_ALLOC_TRANSACTIONS   transactions before and in the window
//   ALLOC_SITES=N                                   also print the N largest sites of each run to stderr
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { SimNetwork } from '../engine/backends/sim-network';
import { BYPASS_TCP_CONFIG } from '../engine/capture/session';
import type { DeferredTask, Ipv4Stack, StackOptions } from '../engine/stack/stack';
import type { TcpEntry, TcpOwner } from '../engine/stack/tcp-table';
import { openSimPair, SimEcho, SocketEcho } from './sim-pair';
import type { TcpConfig } from '../engine/tcp/config';
import { connect, createServer } from '../engine/stack/net';

const MSG = 64;
const WARMUP = Number(process.env.BENCH_ALLOC_WARMUP ?? 100_000);
const WINDOW = Number(process.env.BENCH_ALLOC_TRANSACTIONS ?? 50_000);
/** Bytes between samples: small enough for a steady estimate over the window. */
const SAMPLING_INTERVAL = 256;
const SITES = Number(process.env.ALLOC_SITES ?? 0);
/** The sim clock's functions (backends/sim.ts, sim-network.ts), whose frames the clock's share is counted in. */
const CLOCK_FRAMES = new Set(['step', 'nextDeadline', 'setNow', 'runUntil', 'runSync', 'run', 'turn']);

interface ProfileNode {
  callFrame: { functionName: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** The inspector's sampling heap profiler, in this process (its calls answer synchronously). */
class Sampler {
  private readonly session = new Session();
  constructor() {
    this.session.connect();
    this.post('HeapProfiler.enable');
  }
  start(): void {
    this.post('HeapProfiler.startSampling', { samplingInterval: SAMPLING_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  stop(): ProfileNode {
    return (this.post('HeapProfiler.stopSampling') as { profile: { head: ProfileNode } }).profile.head;
  }
  private post(method: string, params?: object): unknown {
    let out: unknown;
    let err: Error | null = null;
    let answered = false;
    this.session.post(method, params, (e: Error | null, r: unknown) => {
      err = e;
      out = r;
      answered = true;
    });
    if (!answered) throw new Error(`inspector ${method} did not answer synchronously`);
    if (err !== null) throw err;
    return out;
  }
}

interface Figures {
  transactions: number;
  bytesPerTransaction: number;
  simClockBytesPerTransaction: number;
  cpuUsPerTransaction: number;
}

/**
 * `step(n)` completes n more transactions: a warm-up, a window timed with the sampler off, then a
 * window sampled. Returns the figures (and prints the largest sites with ALLOC_SITES).
 */
async function measure(label: string, sampler: Sampler, step: (n: number) => void | Promise<void>): Promise<Figures> {
  await step(WARMUP);
  const c0 = process.cpuUsage();
  await step(WINDOW);
  const cpu = process.cpuUsage(c0);
  sampler.start();
  await step(WINDOW);
  const head = sampler.stop();
  const bySite = new Map<string, number>();
  let total = 0;
  let clock = 0;
  const walk = (n: ProfileNode, parents: string[]): void => {
    const chain = [`${n.callFrame.functionName || '(anon)'}:${n.callFrame.lineNumber + 1}`, ...parents].slice(0, 3);
    if (n.selfSize > 0) {
      total += n.selfSize;
      if (CLOCK_FRAMES.has(n.callFrame.functionName)) clock += n.selfSize;
      const k = chain.join(' < ');
      bySite.set(k, (bySite.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, chain);
  };
  walk(head, []);
  if (SITES > 0) {
    process.stderr.write(`alloc ${label}: ${Math.round(total / WINDOW)} B/transaction (bundle line numbers)\n`);
    for (const [k, v] of [...bySite.entries()].sort((a, b) => b[1] - a[1]).slice(0, SITES)) {
      process.stderr.write(`  ${((100 * v) / total).toFixed(1).padStart(5)}% ${Math.round(v / WINDOW).toString().padStart(5)} B  ${k}\n`);
    }
  }
  return {
    transactions: WINDOW,
    bytesPerTransaction: Math.round(total / WINDOW),
    simClockBytesPerTransaction: Math.round(clock / WINDOW),
    cpuUsPerTransaction: Math.round(((cpu.user + cpu.system) / WINDOW) * 100) / 100,
  };
}

/** An application on the stack's own interface that allocates nothing: 'readable' handled at the end of the poll. */
class App implements TcpOwner, DeferredTask {
  entry: TcpEntry | undefined;
  private queued = false;
  onReadable: () => void = () => {};
  constructor(readonly stack: Ipv4Stack) {}
  onTcpEvent(_e: TcpEntry, kind: string): void {
    if (kind !== 'readable' || this.queued) return;
    this.queued = true;
    this.stack.defer(this);
  }
  runDeferred(): void {
    this.queued = false;
    this.onReadable();
  }
}

function simNet(latencyMs: number, tcp: Partial<TcpConfig> | undefined, stack: Partial<StackOptions> | undefined): SimNetwork {
  return new SimNetwork({ seed: 1, hosts: [{ tcp, stack }, { tcp, stack }], wire: { latencyMs } });
}

/** Request/response through the stack interface: the client sends 64 bytes, the server echoes them. */
function stackRr(latencyMs: number, tcp?: Partial<TcpConfig>, stack?: Partial<StackOptions>): (n: number) => void {
  const net = simNet(latencyMs, tcp, stack);
  const [a, b] = net.stacks;
  const { client, server } = openSimPair(net, a, b, new App(a), new App(b));
  const rr = new SimEcho(a, b, client, server, MSG);
  server.onReadable = rr.serve;
  client.onReadable = rr.receive;
  const finished = (): boolean => rr.done >= rr.target;
  return (n) => {
    rr.start(n);
    net.runSync(Infinity, finished);
    if (rr.done !== rr.target) throw new Error(`request/response stopped after ${rr.done} of ${rr.target} transactions`);
  };
}

/** Request/response through the socket API (Duplex streams), as the sim-tcp bench's requestResponseSocketApi. */
async function socketRr(): Promise<(n: number) => Promise<void>> {
  const net = simNet(0.01, undefined, undefined);
  const [a, b] = net.stacks;
  createServer(b, (s) => s.on('data', (d: Buffer) => s.write(d))).listen(5003);
  const c = connect(a, { host: '198.18.0.2', port: 5003 });
  await net.run(() => c.readyState === 'open', Infinity);
  const rr = new SocketEcho(c, MSG);
  return async (n) => {
    rr.start(n);
    await net.run(() => rr.done >= rr.target, Infinity);
  };
}

async function figures(): Promise<Record<string, unknown>> {
  const sampler = new Sampler();
  return {
    // The sim-tcp bench's settings: the Linux profile (40 ms delayed ACK; the reply carries the ACK), a 10 µs wire.
    stackApi: await measure('stackApi', sampler, stackRr(0.01)),
    // The engine's bypass settings as a real-time driver runs them (the lab's stack): no delayed
    // ACK, no Nagle, the ACKs of a poll coalesced.
    stackApiBypass: await measure('stackApiBypass', sampler, stackRr(0.01, BYPASS_TCP_CONFIG, { coalesceAcks: true })),
    // stackApi on a 1 ms wire, where every time is a whole number of ms: what the stacks allocate
    // when no time needs a HeapNumber (V8 boxes a fractional number passed to a call it does not inline).
    stackApiWholeMsClock: await measure('stackApiWholeMsClock', sampler, stackRr(1)),
    socketApi: await measure('socketApi', sampler, await socketRr()),
  };
}

async function main(): Promise<void> {
  if (process.env.ALLOC_BENCH_CHILD === '1') {
    console.log(JSON.stringify(await figures()));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'alloc-bench-'));
  try {
    const esbuild = await import('esbuild');
    const outfile = join(dir, 'bench.cjs');
    esbuild.buildSync({ entryPoints: [__filename], bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile, logLevel: 'error' });
    const res = spawnSync(process.execPath, [outfile], { env: { ...process.env, ALLOC_BENCH_CHILD: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    const line = res.stdout.trim().split('\n').find((l) => l.startsWith('{'));
    const out = line !== undefined ? (JSON.parse(line) as Record<string, unknown>) : { error: `exit ${res.status}` };
    console.log(JSON.stringify({ bench: 'alloc', messageBytes: MSG, unit: 'bytes allocated per request/response transaction, both stacks', ...out, node: process.version }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
