// Two stacks on a simulated 1 Gbit/s, 1 ms link move 16 MiB each way at once, through the socket
// API, under loss, reordering, duplication and corruption: the bytes must arrive intact, within a
// bounded virtual time, and the goodput-versus-loss table must match its snapshot
// (test/fixtures/stack-throughput.json; regenerate with UPDATE_SNAPSHOTS=1).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Impairments } from '../../../engine/backends/impair';
import { connect, createServer, type Socket } from '../../../engine/stack/net';
import { addr, collect, net2, payload, sendAll, sha256 } from './support';

const SIZE = 16 << 20;
const VIRTUAL_BOUND_MS = 120_000;
const SNAPSHOT = join(__dirname, '../../fixtures/stack-throughput.json');

interface Row {
  scenario: string;
  loss: number;
  virtualMs: number;
  goodputMbitEachWay: number;
  framesSent: number;
  tcpSegments: number;
  sackTrimmed: number;
}

const up = payload(SIZE, 101);
const down = payload(SIZE, 202);
const upHash = sha256(up);
const downHash = sha256(down);
const rows: Row[] = [];

async function transfer(scenario: string, impair: Impairments): Promise<void> {
  const { net, a, b } = net2([{ impair }, {}], { latencyMs: 1, rateBps: 1e9 }, 20261124);
  let serverIn: ReturnType<typeof collect> | undefined;
  let serverSock: Socket | undefined;
  createServer(b, { allowHalfOpen: true }, (s) => {
    serverSock = s;
    serverIn = collect(s);
    sendAll(s, down);
  }).listen(9000);
  const c = connect(a, { host: addr(b), port: 9000, allowHalfOpen: true });
  const clientIn = collect(c);
  const errors: string[] = [];
  c.on('error', (e) => errors.push(`client: ${e.message}`));
  sendAll(c, up);
  const done = await net.run(() => clientIn.ended() && serverIn?.ended() === true, VIRTUAL_BOUND_MS);
  serverSock?.on('error', (e) => errors.push(`server: ${e.message}`));
  assert.deepEqual(errors, [], `errors: got ${errors.join('; ')}, want none`);
  assert.ok(done, `${scenario}: transfer finished by ${VIRTUAL_BOUND_MS} ms virtual: got client ${clientIn.bytes()} and server ${serverIn?.bytes()} bytes of ${SIZE} at ${net.now} ms`);
  assert.equal(serverIn!.bytes(), SIZE, `server received ${serverIn!.bytes()} bytes, want ${SIZE}`);
  assert.equal(clientIn.bytes(), SIZE, `client received ${clientIn.bytes()} bytes, want ${SIZE}`);
  assert.equal(serverIn!.digest(), upHash, `SHA-256 of the client→server stream: got ${serverIn!.digest()}, want ${upHash}`);
  assert.equal(clientIn.digest(), downHash, `SHA-256 of the server→client stream: got ${clientIn.digest()}, want ${downHash}`);
  rows.push({
    scenario,
    loss: impair.loss ?? 0,
    virtualMs: Math.round(net.now * 1000) / 1000,
    goodputMbitEachWay: Math.round(((SIZE * 8) / net.now / 1000) * 10) / 10,
    framesSent: a.counters.eth.out + b.counters.eth.out,
    tcpSegments: a.counters.tcp.out + b.counters.tcp.out,
    sackTrimmed: a.counters.sackTrimmed + b.counters.sackTrimmed,
  });
}

describe('two stacks moving 16 MiB each way concurrently', () => {
  for (const loss of [0, 0.01, 0.05, 0.1]) {
    it(`delivers both streams intact with ${loss * 100}% loss`, async () => {
      await transfer(`loss ${loss * 100}%`, { loss });
    });
  }

  it('delivers both streams intact with 1% loss, 2% reordering, 1% duplication, 1% corruption and jitter', async () => {
    await transfer('mixed impairments', { loss: 0.01, reorder: 0.02, reorderGapMs: 2, duplicate: 0.01, corrupt: 0.01, jitterMs: 0.2 });
  });

  it('gives the same goodput-versus-loss table as the snapshot (deterministic by seed)', () => {
    assert.equal(rows.length, 5, `rows: got ${rows.length}, want 5 (an earlier transfer failed)`);
    if (process.env.UPDATE_SNAPSHOTS === '1') {
      writeFileSync(SNAPSHOT, JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    assert.ok(existsSync(SNAPSHOT), `${SNAPSHOT} is missing (UPDATE_SNAPSHOTS=1 writes it)`);
    const want = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as Row[];
    assert.deepEqual(rows, want, `throughput table: got ${JSON.stringify(rows)}, want ${JSON.stringify(want)} (UPDATE_SNAPSHOTS=1 regenerates it)`);
  });

  after(() => {
    if (rows.length > 0) console.log(rows.map((r) => `${r.scenario.padEnd(20)} ${String(r.virtualMs).padStart(10)} ms virtual  ${String(r.goodputMbitEachWay).padStart(7)} Mbit/s each way`).join('\n'));
  });
});
