// test/webview: records the webview tests' traces.
//  - trace.json: a real sim capture (scenario mixed, seed 7, impairments), run in-process, with its
//    TraceBatches, connections and stats saved as JSON (records in base64). Its hop times are what
//    the engine measured (in the sim, the stacks' costs in virtual time).
//  - trace-lab-shaped.json: the same packets with SYNTHETIC hop timing, for the views' handling of
//    non-zero costs and of span hops, which a sim capture never has: every hop gets a duration drawn
//    from a seeded per-layer cost model (log-normal, 100 ns to milliseconds), and the kernel path
//    takes the shape the lab backend gives it (the real kernel's insides between driver and socket
//    as one `kernel.stack` span; driver, syscall and app measured). Statistics are recomputed from
//    those hops by the engine's own CaptureStats. The file's `about` says all this.
// Run: npx tsx test/webview/make-fixture.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PacketTrace } from '../../engine/capture/nic';
import { CaptureSession } from '../../engine/capture/session';
import { CaptureStats } from '../../engine/capture/stats';
import type { Steering } from '../../engine/steer/steering';
import { parseRules } from '../../engine/steer/rules';
import { SeededRng } from '../../engine/tcp/rng';
import { StringTable, decodeBatch } from '../../engine/trace/codec';
import { TraceRecorder } from '../../engine/trace/recorder';
import type { ConnectionInfo, HopKind, LayerName, PacketRecord, TraceBatch, TraceStats, TransitionRecord, Verdict } from '../../engine/trace/schema';

const root = join(__dirname, '..', '..');
const dir = join(root, 'test', 'fixtures', 'webview');

interface Recorded {
  readonly rulesText: string;
  readonly reason: string;
  readonly batches: TraceBatch[];
  readonly stats: TraceStats[];
  readonly connections: ConnectionInfo[];
  readonly packets: number;
  readonly transitions: number;
}

async function record(): Promise<Recorded> {
  const rulesText = readFileSync(join(root, 'examples', 'routing.bypass'), 'utf8');
  const session = new CaptureSession({ rules: parseRules(rulesText), scenario: 'mixed', seed: 7, statsIntervalMs: 50, impairments: { loss: 0.01, corrupt: 0.002, delayMs: 0.05, jitterMs: 0.02 } });
  const batches: TraceBatch[] = [];
  const stats: TraceStats[] = [];
  const connections: ConnectionInfo[] = [];
  session.onBatches.push((b) => batches.push(...b.map((x) => ({ ...x, records: x.records.slice() }))));
  session.onStats.push((s) => stats.push(s));
  session.onConnection.push((c) => connections.push(c));
  const reason = await session.run({ durationMs: 1500 });
  return { rulesText, reason, batches, stats, connections, packets: session.packets, transitions: session.transitions };
}

function save(name: string, about: string, r: Recorded, batches: readonly TraceBatch[], stats: readonly TraceStats[]): void {
  const json = {
    about,
    rules: r.rulesText,
    stopReason: r.reason,
    connections: r.connections,
    stats,
    batches: batches.map((b) => ({ ...b, records: Buffer.from(b.records).toString('base64') })),
  };
  const out = join(dir, name);
  writeFileSync(out, JSON.stringify(json));
  console.log(`${out}: ${batches.length} batches, ${r.packets} packets, ${r.transitions} transitions, ${r.connections.length} connections, ${stats.length} stats`);
}

// ---- the lab-shaped timing model (synthetic; see the header)

/** Median and spread (the log-normal's sigma) of each layer's processing cost, in nanoseconds. */
const COST: Partial<Record<LayerName, readonly [number, number]>> = {
  steer: [90, 0.4],
  'bypass.eth': [60, 0.3],
  'bypass.ip': [110, 0.35],
  'bypass.tcp': [420, 0.5],
  'bypass.udp': [160, 0.4],
  'bypass.icmp': [200, 0.4],
  'bypass.socket': [250, 0.6],
  'kernel.driver': [1800, 0.5],
  'kernel.stack': [14000, 0.7],
  'kernel.syscall': [3500, 0.6],
  'kernel.ip': [900, 0.5],
  'kernel.tcp': [2600, 0.6],
  'kernel.udp': [1400, 0.5],
  'kernel.icmp': [1200, 0.5],
  'kernel.socket': [1500, 0.6],
  'nic.tx': [300, 0.3],
};

class CostModel {
  private readonly rng = new SeededRng(11);

  private uniform(): number {
    return (this.rng.nextU32() + 0.5) / 2 ** 32;
  }

  /** One layer's cost: log-normal around its median; one hop in 400 also waits 0.3–3 ms (a preempted thread). */
  cost(layer: LayerName): number {
    const [median, sigma] = COST[layer] ?? [200, 0.4];
    const z = Math.sqrt(-2 * Math.log(this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
    let ns = median * Math.exp(sigma * z);
    if (this.uniform() < 1 / 400) ns += 3e5 * 10 ** this.uniform();
    return Math.max(40, Math.round(ns));
  }

  /** The kernel waking a blocked application: a few microseconds, now and then tens. */
  wait(): number {
    const z = Math.sqrt(-2 * Math.log(this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
    return Math.round(6000 * Math.exp(0.8 * z));
  }
}

/** Layers that take no time (schema.ts "Time"): the NIC's receive, the application, the wire. */
const INSTANTS = new Set<LayerName>(['nic.rx', 'app', 'wire']);

const KERNEL_INSIDES = new Set<LayerName>(['kernel.ip', 'kernel.tcp', 'kernel.udp', 'kernel.icmp', 'kernel.socket']);

interface ShapedHop {
  readonly layer: LayerName;
  readonly kind: HopKind;
  readonly verdict: Verdict;
  readonly reason: string | undefined;
}

/** The hops the lab backend would report for this packet: the kernel's insides folded into one span. */
function labShape(p: PacketRecord): ShapedHop[] {
  const out: ShapedHop[] = [];
  for (const h of p.hops) {
    const kernel = h.layer.startsWith('kernel.');
    if (kernel && KERNEL_INSIDES.has(h.layer)) {
      const last = out[out.length - 1];
      // A drop inside the kernel is seen only as the span's verdict.
      if (last?.layer === 'kernel.stack') {
        if (h.verdict === 'drop') out[out.length - 1] = { ...last, verdict: 'drop', reason: h.reason };
        continue;
      }
      out.push({ layer: 'kernel.stack', kind: 'span', verdict: h.verdict === 'drop' ? 'drop' : 'pass', reason: h.verdict === 'drop' ? h.reason : undefined });
      continue;
    }
    out.push({ layer: h.layer, kind: kernel || (h.layer === 'app' && p.path === 'kernel') ? 'measured' : h.kind, verdict: h.verdict, reason: h.reason });
  }
  return out;
}

function labShaped(r: Recorded): { batches: TraceBatch[]; stats: TraceStats[] } {
  const strings = new StringTable();
  const records: (PacketRecord | TransitionRecord)[] = [];
  for (const b of r.batches) decodeBatch(b, strings, (rec) => records.push(rec));
  const model = new CostModel();
  const recorder = new TraceRecorder({ level: 'full', snapLen: 256, batchBytes: 1 << 16 });
  const stats = new CaptureStats();
  // What steering counted is the recorded run's: only the timing is made up.
  const steering = (s: TraceStats) => ({
    flows: { size: s.flows.live, counters: { evicted: s.flows.evicted } },
    pinnedToEarlierRules: () => s.flows.pinnedToOldRules,
    counters: { packets: s.rules?.packets ?? [], bytes: s.rules?.bytes ?? [], flows: s.rules?.flows ?? [] },
  }) as unknown as Steering;
  const snapshots: TraceStats[] = [];
  let next = 0;
  const trace = new PacketTrace();
  for (const rec of records) {
    if (rec.type === 'transition') {
      recorder.transition(rec.stack, rec.connId, rec.from, rec.to, rec.event, rec.packetId, rec.timeNs, rec.vars);
      continue;
    }
    while (next < r.stats.length && r.stats[next].timeNs < rec.timeNs) {
      snapshots.push(stats.snapshot(r.stats[next].timeNs, 0, steering(r.stats[next])));
      next++;
    }
    recorder.beginPacket(rec.direction, rec.interface, rec.timeNs, rec.bytes, rec.wireLen, rec.packetId);
    if (rec.path !== 'none') recorder.steered(rec.path, rec.rule, rec.flowId);
    if (rec.connId) recorder.connection(rec.connId);
    if (rec.flags) recorder.flag(rec.flags);
    trace.reset(rec.packetId, rec.direction, rec.timeNs);
    trace.path = rec.path;
    trace.wireLen = rec.wireLen;
    // Offsets from the packet's time: each hop starts where the one before it ended, plus, on the
    // kernel path, the wait for the kernel to wake the application (a gap, as real devices show).
    let offset = 0;
    for (const h of labShape(rec)) {
      if (h.layer === 'kernel.syscall') offset += model.wait();
      const d = INSTANTS.has(h.layer) ? 0 : model.cost(h.layer);
      recorder.hop(h.layer, h.kind, h.verdict, offset, d, h.reason);
      trace.addHop(h.layer, h.kind, h.verdict, offset, d, h.reason);
      offset += d;
    }
    recorder.endPacket();
    stats.add(trace);
  }
  while (next < r.stats.length) {
    snapshots.push(stats.snapshot(r.stats[next].timeNs, 0, steering(r.stats[next])));
    next++;
  }
  return { batches: recorder.takeBatches(), stats: snapshots };
}

async function main(): Promise<void> {
  const r = await record();
  save('trace.json', 'recorded by test/webview/make-fixture.ts: sim capture, scenario mixed, seed 7, 1% loss, 0.2% corruption, examples/routing.bypass', r, r.batches, r.stats);
  const shaped = labShaped(r);
  save('trace-lab-shaped.json',
    'made by test/webview/make-fixture.ts from the same sim capture: the packets, paths and transitions are recorded; the hop TIMING IS SYNTHETIC ' +
    '(a seeded per-layer log-normal cost model, 40 ns to a few ms) and the kernel path is folded into the lab backend\'s shape ' +
    '(driver, one kernel.stack span, syscall, app measured), to test the views on non-zero costs and span hops; stats recomputed by CaptureStats',
    r, shaped.batches, shaped.stats);
}

void main();
