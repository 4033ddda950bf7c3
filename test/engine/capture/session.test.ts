// The capture session on the sim topology: every packet's hops form a valid path, both paths carry
// traffic with examples/routing.bypass, TCP transitions follow the RFC diagram and name real packets,
// counters add up, and pause/step/resume really stop and advance virtual time.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { CaptureSession } from '../../../engine/capture/session';
import { RULE_DEFAULT } from '../../../engine/steer/steering';
import type { TraceRecord } from '../../../engine/trace/schema';
import { legalTransition, packets, pathProblem, session, transitions } from './support';

describe('a mixed sim capture with examples/routing.bypass', () => {
  let s: CaptureSession;
  let records: TraceRecord[];
  before(async () => {
    ({ s, records } = session());
    // Past TIME-WAIT (2·MSL = 60 s with Linux's defaults), so active closes reach CLOSED.
    await s.run({ durationMs: 65_000 });
  });

  it('completes and verifies every workload', () => {
    for (const w of s.workloads) assert.ok(w.done && w.verified, `workload: got ${w.summary()}, want ok`);
  });

  it('gives every packet record a valid path of the hop vocabulary', () => {
    const ps = packets(records);
    assert.ok(ps.length > 1000, `packet records: got ${ps.length}, want > 1000`);
    const bad = ps.map((p) => [p, pathProblem(p)] as const).filter(([, why]) => why !== undefined);
    assert.deepEqual(
      bad.slice(0, 3).map(([p, why]) => `#${p.packetId} ${p.direction} ${p.path} ${p.hops.map((h) => `${h.layer}:${h.verdict}`).join(' ')}: ${why}`),
      [],
      `invalid paths: got ${bad.length}, want 0`,
    );
  });

  it('labels kernel hops emulated and bypass and NIC hops measured', () => {
    for (const p of packets(records)) {
      for (const h of p.hops) {
        const want = h.layer.startsWith('kernel.') || (h.layer === 'app' && p.path === 'kernel') ? 'emulated' : 'measured';
        assert.equal(h.kind, want, `packet ${p.packetId} hop ${h.layer}: got ${h.kind}, want ${want}`);
      }
    }
  });

  it('carries traffic on both paths, each delivering to applications', () => {
    const ps = packets(records);
    for (const path of ['bypass', 'kernel'] as const) {
      const rx = ps.filter((p) => p.direction === 'rx' && p.path === path);
      const tx = ps.filter((p) => p.direction === 'tx' && p.path === path);
      const app = rx.filter((p) => p.hops[p.hops.length - 1].layer === 'app');
      assert.ok(rx.length > 50 && tx.length > 50 && app.length > 10, `${path}: got rx ${rx.length}, tx ${tx.length}, to app ${app.length}; want each > 50, 50, 10`);
    }
  });

  it('gives packet ids once each', () => {
    const ids = packets(records).map((p) => p.packetId);
    assert.equal(new Set(ids).size, ids.length, `distinct ids: got ${new Set(ids).size}, want ${ids.length}`);
  });

  it('records transitions that follow the RFC 9293 diagram and name packets that exist', () => {
    const ids = new Set(packets(records).map((p) => p.packetId));
    const ts = transitions(records);
    assert.ok(ts.length >= 20, `transitions: got ${ts.length}, want ≥ 20`);
    const byConn = new Map<number, typeof ts>();
    for (const t of ts) byConn.set(t.connId, [...(byConn.get(t.connId) ?? []), t]);
    for (const [conn, list] of byConn) {
      for (let i = 0; i < list.length; i++) {
        const t = list[i];
        assert.ok(legalTransition(t.from, t.to), `conn ${conn}: ${t.from} → ${t.to} (${t.event}) is not an edge of the diagram`);
        if (i > 0) assert.equal(t.from, list[i - 1].to, `conn ${conn}: transition ${i} starts in ${t.from}, want ${list[i - 1].to}`);
        if (t.packetId !== 0) assert.ok(ids.has(t.packetId), `conn ${conn}: ${t.from} → ${t.to} names packet ${t.packetId}, which has no record`);
      }
    }
  });

  it('takes the bypass stack\'s rr client through an active open and close to CLOSED', () => {
    const rrConn = s.connections.find((c) => c.stack === 'bypass' && c.remotePort === 9000);
    assert.ok(rrConn, 'a bypass connection to port 9000');
    const states = transitions(records)
      .filter((t) => t.connId === rrConn.connId)
      .map((t) => t.to);
    const path = ['CLOSED', ...states].join('→');
    assert.match(path, /^CLOSED→SYN-SENT→ESTABLISHED→FIN-WAIT-1→(FIN-WAIT-2→)?TIME-WAIT→CLOSED$/, `rr client states: got ${path}`);
    const established = transitions(records).find((t) => t.connId === rrConn.connId && t.to === 'ESTABLISHED')!;
    const cause = packets(records).find((p) => p.packetId === established.packetId);
    assert.ok(cause && cause.direction === 'rx' && cause.connId === rrConn.connId, `ESTABLISHED is caused by a received packet of the connection: got ${JSON.stringify(cause && { dir: cause.direction, conn: cause.connId })}`);
  });

  it('takes the bypass http server through a passive open and close', () => {
    const conn = s.connections.find((c) => c.stack === 'bypass' && c.localPort === 8080);
    assert.ok(conn, 'a bypass connection on port 8080');
    const path = transitions(records)
      .filter((t) => t.connId === conn.connId)
      .map((t) => `${t.from}→${t.to}`);
    assert.equal(path[0], 'LISTEN→SYN-RECEIVED', `first transition: got ${path[0]}`);
    assert.equal(path.at(-1)?.endsWith('CLOSED'), true, `last transition: got ${path.at(-1)}`);
  });

  it('adds up: per-path packets sum to all packets, per-rule counters match the records', () => {
    const ps = packets(records);
    const st = s.snapshot();
    const sum = st.packets.bypass + st.packets.kernel + st.packets.drop + st.packets.none;
    assert.equal(sum, ps.length, `Σ per-path packets: got ${sum}, want ${ps.length} records`);
    assert.equal(s.packets, ps.length, `session packet count: got ${s.packets}, want ${ps.length}`);
    const c = s.steering.counters;
    for (let rule = -1; rule < s.steering.rules.rules.length; rule++) {
      const slot = rule === RULE_DEFAULT ? c.packets.length - 1 : rule;
      const got = ps.filter((p) => p.direction === 'rx' && p.path !== 'none' && p.rule === rule).length;
      assert.equal(got, c.packets[slot], `rule ${rule}: records ${got}, counter ${c.packets[slot]}`);
    }
    assert.ok(c.packets[0] > 0 && c.packets[c.packets.length - 1] > 0, 'the market-data rule and the default both steered packets');
  });
});

describe('a capture with 5% loss and reordering', () => {
  it('still completes every workload and records wire drops with their reason', async () => {
    const { s, records } = session({ impairments: { loss: 0.05, reorder: 0.05, reorderGapMs: 1 }, seed: 3 });
    await s.run({ durationMs: 30_000, untilWorkloadsDone: true });
    for (const w of s.workloads) assert.ok(w.done && w.verified, `workload: got ${w.summary()}, want ok`);
    const ps = packets(records);
    const lost = ps.filter((p) => p.hops.some((h) => h.layer === 'wire' && h.verdict === 'drop' && h.reason === 'loss'));
    assert.ok(lost.length > 0, 'some packets show a wire hop dropping them for loss');
    assert.ok(lost.some((p) => p.direction === 'rx') && lost.some((p) => p.direction === 'tx'), 'losses recorded both ways');
    const bad = ps.filter((p) => pathProblem(p) !== undefined);
    assert.equal(bad.length, 0, `invalid paths: got ${bad.length} (first: ${bad[0] && pathProblem(bad[0])})`);
  });
});

describe('pause, step and resume', () => {
  it('stops virtual time while paused', async () => {
    const { s } = session();
    const running = s.run({ durationMs: 2000 });
    await new Promise((r) => setImmediate(r));
    s.pause();
    await new Promise((r) => setTimeout(r, 20));
    const t = s.now;
    const n = s.packets;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.now, t, `virtual time while paused: got ${s.now}, want ${t}`);
    assert.equal(s.packets, n, `packets while paused: got ${s.packets}, want ${n}`);
    s.resume();
    assert.equal(await running, 'duration');
    assert.equal(s.now, 2000);
  });

  it("step('packet') produces exactly one more packet record each time", async () => {
    const { s } = session();
    s.pause();
    for (let i = 1; i <= 40; i++) {
      assert.equal(await s.step('packet'), true);
      assert.equal(s.packets, i, `after step ${i}: got ${s.packets} packet records, want ${i}`);
    }
    const t = s.now;
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.now, t, 'time stands still between steps');
  });

  it("step('transition') produces exactly one more transition each time", async () => {
    const { s } = session();
    s.pause();
    for (let i = 1; i <= 8; i++) {
      assert.equal(await s.step('transition'), true);
      assert.equal(s.transitions, i, `after step ${i}: got ${s.transitions} transitions, want ${i}`);
    }
  });

  it('gives the same records stepped as run straight through', async () => {
    const a = session();
    await a.s.run({ durationMs: 5 });
    const b = session();
    b.s.pause();
    while (b.s.packets < a.s.packets) assert.ok(await b.s.step('packet', 5));
    b.s.resume();
    await b.s.run({ durationMs: 5 });
    const ids = (rs: TraceRecord[]) => packets(rs).map((p) => `${p.packetId}:${p.timeNs}`).sort().join(',');
    assert.equal(ids(b.records), ids(a.records));
  });
});

describe('reloading rules', () => {
  it('steers new flows by the new rules and counts flows pinned to the old ones', async () => {
    const { s } = session();
    await s.run({ durationMs: 50 });
    const r = s.reloadRules('default bypass\n');
    assert.equal(r.applied, true);
    assert.ok(r.pinnedToOldRules > 0, `pinned to old rules: got ${r.pinnedToOldRules}, want > 0`);
    const bad = s.reloadRules('default sideways\n');
    assert.equal(bad.applied, false);
    assert.ok(bad.diagnostics.some((d) => d.severity === 'error'));
  });
});

describe('steering at the NIC', () => {
  it('drops at steer, with the rule as the reason, what a drop rule matches', async () => {
    const { s, records } = session({ rules: 'default kernel\ndrop icmp\n', scenario: 'ping' });
    await s.run({ durationMs: 3000 });
    const icmp = packets(records).filter((p) => p.direction === 'rx' && p.bytes[12] === 0x08 && p.bytes[13] === 0x00 && p.bytes[23] === 1);
    assert.equal(icmp.length, 5, `echo requests received: got ${icmp.length}, want 5`);
    for (const p of icmp) {
      assert.equal(p.path, 'drop');
      assert.equal(p.rule, 0);
      assert.deepEqual(p.hops.map((h) => `${h.layer}:${h.verdict}:${h.reason ?? ''}`), ['nic.rx:pass:', 'steer:drop:rule 0']);
    }
    assert.equal(s.workloads[0].verified, false, 'the pings went unanswered');
    assert.equal(s.snapshot().drops['steer: rule 0'], 5);
  });

  it('hands ARP replies to both stacks, unsteered', async () => {
    const { s, records } = session();
    await s.run({ durationMs: 10 });
    const replies = packets(records).filter((p) => p.direction === 'rx' && p.bytes[12] === 0x08 && p.bytes[13] === 0x06 && p.bytes[21] === 2);
    assert.ok(replies.length > 0, 'ARP replies from the peer');
    for (const p of replies) {
      assert.equal(p.path, 'none');
      assert.deepEqual(p.hops.map((h) => h.layer), ['nic.rx', 'steer', 'bypass.eth', 'kernel.driver']);
    }
  });

  it('gives the same trace paced against wall time as run as fast as possible', async () => {
    const a = session();
    await a.s.run({ durationMs: 20 });
    const b = session();
    await b.s.run({ durationMs: 20, speed: 1 });
    const key = (rs: TraceRecord[]) => packets(rs).map((p) => `${p.packetId}:${p.timeNs}:${p.path}`).join(',');
    assert.equal(key(b.records), key(a.records));
  });
});

describe('what each layer cost', () => {
  it('gives stack layers a measured duration, instants none, and offsets that add up in virtual time', async () => {
    const { s, records } = session();
    await s.run({ durationMs: 200 });
    const ps = packets(records).filter((p) => p.hops[0].layer !== 'wire');
    const stackHops = ps.flatMap((p) => p.hops.filter((h) => /^(bypass|kernel)\.(ip|tcp|udp)$/.test(h.layer)));
    const timed = stackHops.filter((h) => h.durationNs > 0);
    // Not a speed threshold: a layer that ran code took some time on a nanosecond clock.
    assert.ok(timed.length > 0.9 * stackHops.length, `stack hops with a duration: got ${timed.length} of ${stackHops.length}, want nearly all`);
    for (const p of ps) {
      for (let i = 0; i < p.hops.length; i++) {
        const h = p.hops[i];
        if (h.layer === 'nic.rx' || h.layer === 'app' || h.layer === 'kernel.syscall') assert.equal(h.durationNs, 0, `packet ${p.packetId}: ${h.layer} is an instant, got ${h.durationNs} ns`);
        if (i > 0) {
          const want = p.hops[i - 1].offsetNs + p.hops[i - 1].durationNs;
          assert.ok(Math.abs(h.offsetNs - want) <= 1, `packet ${p.packetId} hop ${i} (${h.layer}): offset ${h.offsetNs}, want ${want}`);
        }
      }
    }
    const st = s.snapshot();
    for (const path of ['bypass', 'kernel'] as const) assert.ok((st.perPath[path]?.p50Ns ?? 0) > 0, `${path} p50: got ${st.perPath[path]?.p50Ns}, want > 0`);
    assert.ok(st.perLayer['bypass.tcp'].latency.p50Ns > 0 && st.perLayer['kernel.tcp'].latency.p50Ns > 0, 'per-layer p50 of both TCPs');
  });

  it('reads no clock for hops at trace level off', async () => {
    const real = performance.now.bind(performance);
    let reads = 0;
    const count = () => {
      reads++;
      return real();
    };
    const { s } = session({ traceLevel: 'off' });
    performance.now = count;
    try {
      await s.run({ durationMs: 200 });
    } finally {
      performance.now = real;
    }
    assert.ok(s.packets > 500, `packets: got ${s.packets}`);
    // The run loop reads the clock once when it starts (for pacing); the NIC reads none.
    assert.ok(reads <= 2, `clock reads at level off: got ${reads} for ${s.packets} packets, want ≤ 2`);
    const h = s.snapshot().perLayer['bypass.tcp'].latency;
    assert.equal(h.p99Ns, 0, 'no durations at level off');
  });
});
