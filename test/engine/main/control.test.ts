// engine/main: pausing, stepping and resuming the simulated network over IPC, and reloading rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { engine, packets, stopped, until, waitFor } from './support';

describe('engine process: pause, step, resume', () => {
  it('pause stops the network, step advances it one record at a time, resume lets it run again', async () => {
    const { client, got } = await engine();
    try {
      await client.start({ backend: 'sim', scenario: 'mixed' });
      await until('some packets at real-time pace', () => packets(got.records).length > 0);
      const paused = await client.pause();
      const before = (await client.stats()).flow.packets;
      assert.ok(got.notes.some((n) => n.type === 'state' && n.state === 'paused'));
      // Let the engine's event loop turn many times: a paused network makes no packets.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const still = await client.stats();
      assert.equal(still.flow.packets, before, 'no packets while paused');
      assert.equal(still.stats.timeNs, paused.timeNs, 'virtual time stands still while paused');

      const s1 = await client.step('packet');
      assert.equal(s1.advanced, true);
      assert.equal((await client.stats()).flow.packets, before + 1, 'a packet step releases exactly one packet record');
      await until('the stepped packet to arrive', () => packets(got.records).length === before + 1);
      const s2 = await client.step('transition');
      assert.equal(s2.advanced, true);
      assert.ok(s2.timeNs >= s1.timeNs);

      await client.resume();
      assert.ok(got.notes.some((n) => n.type === 'state' && n.state === 'running' && n.timeNs > 0));
      const resumedAt = (await client.stats()).flow.packets;
      await until('packets after resume', () => packets(got.records).length > resumedAt);
      await client.stop();
    } finally {
      await client.dispose();
    }
  });
});

describe('engine process: reloadRules', () => {
  it('applies good rules to new flows and reports the flows pinned to the old ones', async () => {
    const { client, got } = await engine();
    try {
      await client.start({ backend: 'sim', scenario: 'mixed' });
      await until('some packets', () => packets(got.records).length > 20);
      const r = await client.reloadRules('default bypass\nkernel tcp port 7\n', 'new.bypass');
      assert.equal(r.applied, true);
      assert.equal(r.ruleCount, 1);
      assert.deepEqual(r.diagnostics, []);
      assert.ok(r.pinnedToOldRules > 0, `got ${r.pinnedToOldRules} flows pinned to the old rules, want some (flows were live)`);
      const note = got.notes.find((n) => n.type === 'rules');
      assert.ok(note !== undefined && note.type === 'rules' && note.applied && note.pinnedToOldRules === r.pinnedToOldRules);
      await client.stop();
    } finally {
      await client.dispose();
    }
  });

  it('refuses rules with errors, keeps the old rules, and gives each diagnostic its line and column', async () => {
    const { client, got } = await engine();
    try {
      await client.start({ backend: 'sim', scenario: 'mixed' });
      const r = await client.reloadRules('default kernel\nbypass tcp port 99999\nfrobnicate udp\n', 'bad.bypass');
      assert.equal(r.applied, false);
      assert.equal(r.ruleCount, 5, 'the five rules of the start are still in force');
      const errors = r.diagnostics.filter((d) => d.severity === 'error');
      assert.ok(errors.length >= 2, `got ${errors.length} errors, want one for each bad line`);
      assert.deepEqual(errors.map((d) => d.line).sort(), [2, 3]);
      for (const d of errors) {
        assert.ok(d.column >= 1 && (d.endLine > d.line || d.endColumn > d.column), `diagnostic ${JSON.stringify(d)} has an empty range`);
      }
      const note = got.notes.find((n) => n.type === 'rules');
      assert.ok(note !== undefined && note.type === 'rules' && !note.applied);
      await client.stop();
    } finally {
      await client.dispose();
    }
  });
});

describe('engine process: per-rule hits in stats', () => {
  it('counts packets, bytes and flows per rule and the default, as the records say, and starts again with new rules', async () => {
    const { client, got } = await engine();
    try {
      await client.start({ backend: 'sim', scenario: 'mixed', speed: 'max', durationSec: 0.5, lossless: true });
      const end = await waitFor(client, got, stopped);
      await until('every batch consumed', () => got.batches.at(-1)?.seq === end.summary?.lastSeq);
      const last = got.notes.filter((n) => n.type === 'stats').at(-1);
      assert.ok(last !== undefined && last.type === 'stats' && last.stats.rules !== undefined, 'a final stats notification with rules');
      const { rules } = last.stats;
      assert.equal(rules.packets.length, 6, 'five rules of examples/routing.bypass and the default');
      const steered = packets(got.records).filter((p) => p.direction === 'rx' && p.path !== 'none' && p.rule >= -1);
      for (let slot = 0; slot < 6; slot++) {
        const rule = slot === 5 ? -1 : slot;
        const mine = steered.filter((p) => p.rule === rule);
        assert.equal(rules.packets[slot], mine.length, `rule slot ${slot} packets: got ${rules.packets[slot]}, want ${mine.length} records`);
        assert.equal(rules.bytes[slot], mine.reduce((n, p) => n + p.wireLen, 0), `rule slot ${slot} bytes`);
        assert.equal(rules.flows[slot] > 0, mine.length > 0, `rule slot ${slot}: flows ${rules.flows[slot]} for ${mine.length} packets`);
      }
      assert.ok(rules.packets[0] > 0 && rules.packets[5] > 0, 'the market-data rule and the default both hit');

      await client.start({ backend: 'sim', scenario: 'mixed' });
      await until('some packets', () => got.notes.filter((n) => n.type === 'trace').length > 2);
      await client.reloadRules('default bypass\nkernel tcp port 7\n', 'new.bypass');
      const after = await client.stats();
      assert.deepEqual([after.stats.rules?.packets.length, after.stats.rules?.flows.length], [2, 2], 'one slot for the new rule and one for the default');
      await client.stop();
    } finally {
      await client.dispose();
    }
  });
});
