// bench/trace: the trace pipe and what tracing costs the engine. (a) Trace records per second that
// reach a parent process over IPC from the built engine (out/engine/main.js, 'advanced'
// serialization, flow control on, a fast consumer that acks each batch on arrival — and one that
// also decodes every record), fed by the engine's synthetic source (`test:synthesize`: full-level
// records of trace schema 2 with 8 hops and a 128-byte frame, 296 bytes each, written the way the
// NIC writes them), with the CPU the engine and the parent spent per record (the rest of the wall
// time, on a busy machine, is waiting to be scheduled). (b) Engine packets per second on a `bulk`
// workload in sim, with tracing off, summary and full, interleaved in the same run; the cost of full tracing is
// (off − full) / off, by wall time and by CPU time. Both parts run from an esbuild bundle (the form
// the engine and the extension's client ship in) in a child process.
// Prints one JSON line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureSession } from '../engine/capture/session';
import { EngineClient } from '../engine/client';
import { parseRules } from '../engine/steer/rules';
import { StringTable, decodeBatch } from '../engine/trace/codec';
import type { TraceLevel } from '../engine/trace/recorder';
import { SamplingRecorder } from '../engine/trace/sampling';
import { bulk } from '../engine/workloads/bulk';
import type { Scenario } from '../engine/workloads/mixed';

const root = process.env.TRACE_BENCH_ROOT ?? join(__dirname, '..');
const IPC_RECORDS = Number(process.env.BENCH_TRACE_RECORDS ?? 2_000_000);
const BULK_BYTES = Number(process.env.BENCH_TRACE_BULK_BYTES ?? 32 << 20);
const ROUNDS = Number(process.env.BENCH_TRACE_ROUNDS ?? 5);

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ───────────────────────── (a) records over IPC ─────────────────────────

async function ipcRecords(decode: boolean): Promise<Record<string, unknown>> {
  const client = await EngineClient.start({ enginePath: join(root, 'out', 'engine', 'main.js'), env: { ...process.env, BYPASS_SCOPE_ENGINE_TEST_HOOKS: '1' } });
  try {
    let delivered = 0;
    let batches = 0;
    let bytes = 0;
    let lastAt = 0;
    const strings = new StringTable();
    client.setTraceConsumer((b) => {
      batches++;
      bytes += b.records.byteLength;
      if (decode) decodeBatch(b, strings, () => delivered++);
      else delivered += b.recordCount;
      lastAt = performance.now();
    });
    const t0 = performance.now();
    const parentCpu0 = process.cpuUsage();
    const r = await client.request<{ records: number; recordsDropped: number; lastSeq: number; engineMs: number; engineCpuMs: number }>({ type: 'test:synthesize', records: IPC_RECORDS }, 120_000);
    // The answer follows the last batch on the same channel; the consumer runs a microtask later.
    await new Promise((resolve) => setImmediate(resolve));
    const wallMs = lastAt - t0;
    const parentCpu = process.cpuUsage(parentCpu0);
    const parentCpuMs = (parentCpu.user + parentCpu.system) / 1000;
    return {
      records: IPC_RECORDS,
      delivered,
      dropped: r.recordsDropped,
      batches,
      mbytes: round(bytes / 1e6),
      wallMs: round(wallMs),
      recordsPerSecond: Math.round(delivered / (wallMs / 1000)),
      mbytesPerSecond: round(bytes / 1e6 / (wallMs / 1000)),
      engineRecordMs: round(r.engineMs),
      engineCpuNsPerRecord: round((r.engineCpuMs * 1e6) / IPC_RECORDS),
      parentCpuNsPerRecord: round((parentCpuMs * 1e6) / IPC_RECORDS),
      recordBytes: round((bytes / delivered) * 1, 1),
    };
  } finally {
    await client.dispose();
  }
}

// ───────────────────────── (b) engine packets per second ─────────────────────────

function bulkScenario(bytes: number): Scenario {
  return { name: 'bulk', description: `bulk ${bytes} bytes`, start: (h) => [bulk(h.kernel, h.peer, { bytes })] };
}

interface BulkRun {
  packets: number;
  wallMs: number;
  cpuMs: number;
  records: number;
}

async function bulkRun(level: TraceLevel, bytes: number): Promise<BulkRun> {
  const rules = parseRules(readFileSync(join(root, 'examples', 'routing.bypass'), 'utf8'));
  // The engine process's recorder (it can sample; here it never needs to), recycling its batch
  // buffers as the engine process does once a batch is sent.
  const recorder = new SamplingRecorder({ level, recycleBatches: true });
  const s = new CaptureSession({ rules, scenario: bulkScenario(bytes), recorder, seed: 1 });
  let records = 0;
  // Batches are taken as the engine process does, and given back here instead of being sent: their
  // cost is the recorder's, the IPC's is measured in (a).
  s.onBatches.push((b) => {
    for (const x of b) {
      records += x.recordCount;
      recorder.recycle(x);
    }
  });
  // Starting the workload makes its data and the data's SHA-256 up front: not the engine's work.
  s.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await s.run({ untilWorkloadsDone: true });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (!s.workloadsDone || s.workloads.some((w) => !w.verified)) throw new Error(`bulk did not finish verified at level ${level}`);
  return { packets: s.packets, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, records };
}

async function engineFigures(): Promise<Record<string, unknown>> {
  await bulkRun('full', 4 << 20); // warm-up: let the JIT settle
  await bulkRun('off', 4 << 20);
  const levels: TraceLevel[] = ['off', 'summary', 'full'];
  const runs: Record<string, BulkRun[]> = { off: [], summary: [], full: [] };
  // Interleaved, so that a busy moment on a shared machine hits every level alike; the fastest run
  // of each level is the one least disturbed.
  for (let i = 0; i < ROUNDS; i++) for (const level of levels) runs[level].push(await bulkRun(level, BULK_BYTES));
  const best = (l: string, k: 'wallMs' | 'cpuMs') => Math.min(...runs[l].map((r) => r[k]));
  const pps = (l: string) => runs[l][0].packets / (best(l, 'wallMs') / 1000);
  const cpuPps = (l: string) => runs[l][0].packets / (best(l, 'cpuMs') / 1000);
  const out: Record<string, unknown> = { bulkBytes: BULK_BYTES, rounds: ROUNDS };
  for (const l of levels) {
    out[l] = {
      packets: runs[l][0].packets,
      records: runs[l][0].records,
      wallMs: round(best(l, 'wallMs')),
      cpuMs: round(best(l, 'cpuMs')),
      packetsPerSecond: Math.round(pps(l)),
      packetsPerCpuSecond: Math.round(cpuPps(l)),
    };
  }
  out.fullTracingCostPercent = round(((pps('off') - pps('full')) / pps('off')) * 100);
  out.fullTracingCpuCostPercent = round(((cpuPps('off') - cpuPps('full')) / cpuPps('off')) * 100);
  out.summaryTracingCostPercent = round(((pps('off') - pps('summary')) / pps('off')) * 100);
  return out;
}

async function bundledFigures(part: 'ipc' | 'engine'): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'trace-bench-'));
  try {
    const esbuild = await import('esbuild');
    const outfile = join(dir, 'bench.cjs');
    esbuild.buildSync({ entryPoints: [__filename], bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile, logLevel: 'error' });
    const res = spawnSync(process.execPath, [outfile], { env: { ...process.env, TRACE_BENCH_CHILD: part, TRACE_BENCH_ROOT: root }, encoding: 'utf8', maxBuffer: 1 << 20, cwd: root });
    const line = res.stdout.trim().split('\n').find((l) => l.startsWith('{'));
    return line !== undefined ? (JSON.parse(line) as Record<string, unknown>) : { error: `exit ${res.status}: ${res.stderr.slice(0, 300)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.env.TRACE_BENCH_CHILD === 'ipc') {
    // Both sides of the pipe run bundled, as they ship (the extension host's client is bundled too).
    const fastConsumer = await ipcRecords(false);
    const decodingConsumer = await ipcRecords(true);
    console.log(JSON.stringify({ fastConsumer, decodingConsumer }));
    return;
  }
  if (process.env.TRACE_BENCH_CHILD === 'engine') {
    console.log(JSON.stringify(await engineFigures()));
    return;
  }
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error('build failed');
  // Each part in a fresh process, so that one's heap and compiled code do not weigh on the other.
  const ipc = await bundledFigures('ipc');
  const engine = await bundledFigures('engine');
  console.log(
    JSON.stringify({
      bench: 'trace',
      ipc: { ...ipc, target: { recordsPerSecond: 1_000_000 } },
      engine: { ...engine, target: { fullTracingCostPercent: 20 } },
      node: process.version,
    }),
  );
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
