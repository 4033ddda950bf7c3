// engine/main replaying a capture file over IPC: `start {backend: 'pcap', file}` streams the file's
// packets with their hops and the passive observer's transitions, paced or as fast as possible; a
// damaged file ends the replay with the byte offset in the summary; a bad file is one clear error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../../../engine/client';
import { engine, packets, root, stopped, transitions, until, waitFor } from './support';

const SAMPLE = join(root, 'examples', 'sample.pcapng');

describe('engine process: pcap replay', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'bypass-scope-engine-replay-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replays a file as fast as possible: every packet, observed transitions, and the time origin', async () => {
    const { client, got } = await engine();
    try {
      const started = await client.start({ backend: 'pcap', file: SAMPLE, speed: 'max' });
      assert.equal(started.backend, 'pcap');
      assert.deepEqual(started.timeOrigin, { sec: 1795557596, nsec: 192002561 });
      const end = await waitFor(client, got, stopped);
      assert.equal(end.summary?.reason, 'idle');
      assert.equal(end.summary?.problems, undefined);
      await until('every batch consumed', () => got.batches.at(-1)?.seq === end.summary?.lastSeq);
      const ps = packets(got.records);
      assert.equal(ps.length, 29);
      assert.ok(ps.every((p) => p.direction === 'rx'), 'nothing answered');
      const ts = transitions(got.records);
      assert.equal(ts.length, 11);
      assert.ok(ts.every((t) => t.observed === true));
      const conns = got.notes.filter((n) => n.type === 'connection');
      assert.equal(conns.length, 2);
      assert.ok(conns.every((n) => n.type === 'connection' && n.connection.observed === true));
    } finally {
      await client.dispose();
    }
  });

  it('paces a replay at the file\'s own times by default', async () => {
    const { client, got } = await engine();
    try {
      const t0 = performance.now();
      await client.start({ backend: 'pcap', file: SAMPLE });
      const end = await waitFor(client, got, stopped);
      // The file spans 0.995 s; paced, the replay cannot end before its last packet is due.
      assert.ok(performance.now() - t0 >= 990, `a paced replay of 0.995 s of capture took ${performance.now() - t0} ms`);
      assert.equal(end.summary?.packets, 29);
    } finally {
      await client.dispose();
    }
  });

  it('ends a damaged file at the damage, with every packet before it and the byte offset in the summary', async () => {
    const file = join(dir, 'cut.pcapng');
    const bytes = readFileSync(SAMPLE);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const { client, got } = await engine();
    try {
      await client.start({ backend: 'pcap', file, speed: 'max' });
      const end = await waitFor(client, got, stopped);
      const problems = end.summary?.problems ?? [];
      assert.equal(problems.length, 1);
      assert.match(problems[0], /cut\.pcapng: .*byte \d+/);
      await until('every batch consumed', () => got.batches.at(-1)?.seq === end.summary?.lastSeq);
      assert.ok(packets(got.records).length > 0 && packets(got.records).length < 29);
      assert.ok(got.notes.some((n) => n.type === 'log' && n.level === 'error' && /byte \d+/.test(n.message)), 'a log line says so too');
    } finally {
      await client.dispose();
    }
  });

  it('answers a missing or unreadable file with one clear error and stays up', async () => {
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'not a capture');
    const { client } = await engine();
    try {
      await assert.rejects(client.start({ backend: 'pcap', file: join(dir, 'missing.pcapng') }), (e: unknown) => e instanceof EngineError && /^capture file .*missing\.pcapng: no such file$/.test(e.message));
      await assert.rejects(client.start({ backend: 'pcap', file: junk }), /capture file .*junk\.pcap: /);
      await client.start({ backend: 'pcap', file: SAMPLE, speed: 'max' });
      await client.stop();
    } finally {
      await client.dispose();
    }
  });
});
