// engine/main over real IPC: starting and stopping a capture, the trace it streams, its order, and
// the errors `start` answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../../engine/client';
import { engine, packets, stopped, transitions, until, waitFor } from './support';

describe('engine process: start and stop', () => {
  it('says hello, starts a live sim capture, streams trace batches, and stops with a summary', async () => {
    const { client, got } = await engine();
    try {
      assert.equal(client.hello.pid, client.child.pid);
      assert.equal(client.hello.protocol, 1);
      // tap needs koffi (native/), which loads here; lab needs a private network namespace, which this engine is not in.
      assert.deepEqual(client.hello.backends, ['sim', 'pcap', 'tap', 'afpacket'], 'the backends this engine really has');
      const started = await client.start({ backend: 'sim', scenario: 'mixed' });
      assert.equal(started.backend, 'sim');
      assert.equal(started.scenario, 'mixed');
      await until('a first trace batch at real-time pace', () => got.batches.length > 0);
      const summary = await client.stop();
      assert.ok(summary !== undefined);
      assert.equal(summary.reason, 'stopped', `got stop reason ${summary.reason}, want stopped (the capture runs about 90 s at real time)`);
      const states = got.notes.filter((n) => n.type === 'state').map((n) => (n.type === 'state' ? n.state : ''));
      assert.deepEqual(states, ['running', 'stopped']);
      // Everything recorded was sent before the answer to stop, and the consumer saw it all.
      await until('the last batch to be consumed', () => got.batches.at(-1)?.seq === summary.lastSeq);
      // A consumer that fell behind (a busy machine) costs sampled records, each counted.
      assert.equal(packets(got.records).length + summary.recordsDropped, summary.packets);
      assert.equal(transitions(got.records).length, summary.transitions);
    } finally {
      await client.dispose();
    }
  });

  it('streams batches that decode into packet records on both paths and TCP transitions', async () => {
    const { client, got } = await engine();
    try {
      await client.start({ backend: 'sim', scenario: 'mixed', speed: 'max' });
      const end = await waitFor(client, got, stopped);
      assert.equal(end.summary?.reason, 'idle');
      await until('every batch to be consumed', () => got.batches.at(-1)?.seq === end.summary?.lastSeq);
      const pk = packets(got.records);
      const paths = new Set(pk.map((p) => p.path));
      assert.ok(paths.has('bypass') && paths.has('kernel'), `got paths ${[...paths].join(', ')}, want bypass and kernel`);
      assert.ok(pk.every((p) => p.hops.length > 0), 'every packet record has hops');
      assert.ok(transitions(got.records).some((t) => t.to === 'ESTABLISHED'), 'want a transition to ESTABLISHED');
      assert.ok(got.notes.some((n) => n.type === 'connection'), 'want connection notifications');
      assert.ok(got.notes.some((n) => n.type === 'stats'), 'want a stats notification');
    } finally {
      await client.dispose();
    }
  });

  it('keeps order: batch seqs count up from 1, packet ids come out as the engine numbers them, transitions name delivered packets', async () => {
    const { client, got } = await engine();
    try {
      await client.start({ backend: 'sim', scenario: 'mixed', speed: 'max', lossless: true });
      const end = await waitFor(client, got, stopped);
      await until('every batch to be consumed', () => got.batches.at(-1)?.seq === end.summary?.lastSeq);
      assert.deepEqual(
        got.batches.map((b) => b.seq),
        got.batches.map((_, i) => i + 1),
      );
      const ids = packets(got.records).map((p) => p.packetId);
      // Ids are given when a frame arrives and a record is written when the packet's journey ends, so a
      // packet that causes others (a segment and the ACK it triggers) closes after them: ids run in
      // order except for such nesting, which is shallow.
      assert.equal(new Set(ids).size, ids.length, 'packet ids are unique');
      assert.deepEqual([...ids].sort((a, b) => a - b), ids.map((_, i) => i + 1), 'packet ids are 1..N with no gaps');
      let highest = 0;
      let deepest = 0;
      for (const id of ids) {
        deepest = Math.max(deepest, highest - id);
        highest = Math.max(highest, id);
      }
      assert.ok(deepest <= 8, `got a packet id ${deepest} behind the highest before it, want at most 8 (the recorder's nesting depth)`);
      const known = new Set(ids);
      for (const t of transitions(got.records)) {
        assert.ok(t.packetId === 0 || known.has(t.packetId), `transition ${t.from} → ${t.to} names packet ${t.packetId}, which was never delivered`);
      }
    } finally {
      await client.dispose();
    }
  });
});

describe('engine process: start errors', () => {
  it('answers a backend started without what it needs with an error naming what is missing', async () => {
    const { client } = await engine();
    try {
      // The lab needs the engine started in a private network namespace (EngineClient's privateNetworkNamespace); this one is not.
      await assert.rejects(client.start({ backend: 'lab' }), (e: unknown) => e instanceof EngineError && /backend 'lab' needs the engine in a private network namespace.*privateNetworkNamespace/.test(e.message));
      await assert.rejects(client.start({ backend: 'tap' }), /tap: name a TAP device you own/);
      await assert.rejects(client.start({ backend: 'afpacket', device: 'lo' }), /afpacket: the bypass stack's address wants A.B.C.D\/N/);
      await assert.rejects(client.start({ backend: 'afpacket', device: 'no-such-if0', address: '198.18.0.9/24' }), /afpacket: .*no-such-if0/);
      await assert.rejects(client.start({ backend: 'pcap' }), /backend 'pcap' wants file/);
      await assert.rejects(client.start({ backend: 'bogus' as never }), /unknown backend 'bogus' \(want one of sim, lab, tap, afpacket, pcap\)/);
      // The engine is still there and can start a sim capture after the errors.
      await client.start({ backend: 'sim', scenario: 'idle', durationSec: 1, speed: 'max' });
      await client.stop();
    } finally {
      await client.dispose();
    }
  });

  it('answers rules with errors, an unknown scenario and a second start with errors', async () => {
    const { client, got } = await engine();
    try {
      await assert.rejects(client.start({ backend: 'sim', rules: { text: 'default kernel\nbypass tcp port 99999\n', source: 'bad.bypass' } }), /^EngineError: bad\.bypass:2:/);
      const rules = got.notes.find((n) => n.type === 'rules');
      assert.ok(rules !== undefined && rules.type === 'rules' && !rules.applied && rules.diagnostics.some((d) => d.line === 2));
      await assert.rejects(client.start({ backend: 'sim', scenario: 'nope' }), /unknown scenario 'nope'/);
      await client.start({ backend: 'sim', scenario: 'mixed' });
      await assert.rejects(client.start({ backend: 'sim' }), /capture 1 is still running: stop it first/);
      await client.stop();
      await assert.rejects(client.pause(), /no capture is running/);
    } finally {
      await client.dispose();
    }
  });
});
