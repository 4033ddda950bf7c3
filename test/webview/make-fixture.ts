// test/webview: records the webview tests' trace — a real sim capture (scenario mixed, seed 7), run
// in-process, with its TraceBatches, connections and stats saved as JSON (records in base64).
// Run: npx tsx test/webview/make-fixture.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureSession } from '../../engine/capture/session';
import { parseRules } from '../../engine/steer/rules';
import type { ConnectionInfo, TraceBatch, TraceStats } from '../../engine/trace/schema';

const root = join(__dirname, '..', '..');
const out = join(root, 'test', 'fixtures', 'webview', 'trace.json');

async function main(): Promise<void> {
  const rulesText = readFileSync(join(root, 'examples', 'routing.bypass'), 'utf8');
  const session = new CaptureSession({ rules: parseRules(rulesText), scenario: 'mixed', seed: 7, statsIntervalMs: 50, impairments: { loss: 0.01, corrupt: 0.002, delayMs: 0.05, jitterMs: 0.02 } });
  const batches: TraceBatch[] = [];
  const stats: TraceStats[] = [];
  const connections: ConnectionInfo[] = [];
  session.onBatches.push((b) => batches.push(...b.map((x) => ({ ...x, records: x.records.slice() }))));
  session.onStats.push((s) => stats.push(s));
  session.onConnection.push((c) => connections.push(c));
  const reason = await session.run({ durationMs: 1500 });
  const json = {
    about: 'recorded by test/webview/make-fixture.ts: sim capture, scenario mixed, seed 7, 1% loss, 0.2% corruption, examples/routing.bypass',
    rules: rulesText,
    stopReason: reason,
    connections,
    stats,
    batches: batches.map((b) => ({ ...b, records: Buffer.from(b.records).toString('base64') })),
  };
  writeFileSync(out, JSON.stringify(json));
  console.log(`${out}: ${batches.length} batches, ${session.packets} packets, ${session.transitions} transitions, ${connections.length} connections, ${stats.length} stats`);
}

void main();
