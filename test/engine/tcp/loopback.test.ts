// engine/tcp: two stacks in one process over a seeded lossy, reordering virtual wire — bulk data both
// ways, every byte verified.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TcpRepr } from '../../../engine/wire/tcp';
import {
  LINUX_TCP_CONFIG,
  RFC_TCP_CONFIG,
  SeededRng,
  TcpConnection,
  TcpContext,
  TcpListener,
  tcpConfig,
  type TcpConfig,
  type TcpTransition,
} from '../../../engine/tcp/index';

const A = 0xc6120001;
const B = 0xc6120002;

/** The byte at stream offset i of direction `dir`: cheap to check, sensitive to shifts. */
function pattern(dir: number, i: number): number {
  return (Math.imul(i ^ (i >>> 11), 0x9e3779b1) >>> 24) ^ dir;
}

interface WireOptions {
  seed: number;
  loss: number;
  reorder: number;
  delay: number;
  /** Take each connection's output from `dispatchTo` (lent segments, copied here) instead of `dispatch`. */
  lend?: boolean;
}

/** A segment the wire can keep: its own options and payload. */
function copySegment(s: TcpRepr): TcpRepr {
  const options = s.options.map((o) => (o.kind === 'sack' ? { kind: 'sack' as const, blocks: o.blocks.map((b) => ({ ...b })) } : { ...o }));
  return { ...s, options, payload: s.payload.slice() };
}

interface InFlight {
  at: number;
  toB: boolean;
  seg: TcpRepr;
  order: number;
}

interface Endpoint {
  conn: TcpConnection | undefined;
  sent: number;
  received: number;
  ended: boolean;
  corrupt: number;
  dir: number;
}

function run(cfgA: TcpConfig, cfgB: TcpConfig, wire: WireOptions, total: number) {
  const rng = new SeededRng(wire.seed);
  const transitions: TcpTransition[] = [];
  const ctxA = new TcpContext(tcpConfig({ ...cfgA, onTransition: (t) => transitions.push(t) }), new SeededRng(wire.seed + 1));
  const ctxB = new TcpContext(tcpConfig({ ...cfgB, onTransition: (t) => transitions.push(t) }), new SeededRng(wire.seed + 2));
  const listener = new TcpListener(ctxB, B, 80, 4);
  const a: Endpoint = { conn: new TcpConnection(ctxA, { localAddr: A, localPort: 50000, remoteAddr: B, remotePort: 80 }), sent: 0, received: 0, ended: false, corrupt: 0, dir: 0 };
  const b: Endpoint = { conn: undefined, sent: 0, received: 0, ended: false, corrupt: 0, dir: 0x5a };
  let queue: InFlight[] = [];
  let order = 0;
  let now = 0;
  let drops = 0;
  const chunk = new Uint8Array(64 * 1024);
  const rbuf = new Uint8Array(64 * 1024);
  /** Every segment either side sent, in order, before the wire's loss. */
  const sent: TcpRepr[] = [];
  /** Per connection: the distinct records dispatchTo lent, and the most segments one dispatchTo made. */
  const lent = new Map<TcpConnection, { records: Set<TcpRepr>; burst: number }>();

  const output = (c: TcpConnection): readonly TcpRepr[] => {
    if (!wire.lend) return c.dispatch(now);
    const out: TcpRepr[] = [];
    const l = lent.get(c) ?? { records: new Set<TcpRepr>(), burst: 0 };
    lent.set(c, l);
    c.dispatchTo(now, {
      sendSegment: (s) => {
        l.records.add(s);
        out.push(copySegment(s));
      },
    });
    l.burst = Math.max(l.burst, out.length);
    return out;
  };

  const transmit = (segs: readonly TcpRepr[], toB: boolean): void => {
    for (const seg of segs) {
      sent.push(seg);
      if (rng.next() < wire.loss) {
        drops++;
        continue;
      }
      const extra = rng.next() < wire.reorder ? wire.delay * (1 + rng.next()) : 0;
      queue.push({ at: now + wire.delay + extra, toB, seg, order: order++ });
    }
  };

  const pumpApp = (e: Endpoint, peerDir: number): void => {
    const c = e.conn;
    if (c === undefined) return;
    if (c.state === 'ESTABLISHED' || c.state === 'CLOSE-WAIT') {
      while (e.sent < total && c.writable > 0) {
        const n = Math.min(chunk.length, total - e.sent, c.writable);
        for (let i = 0; i < n; i++) chunk[i] = pattern(e.dir, e.sent + i);
        const k = c.send(chunk.subarray(0, n), now);
        e.sent += k;
        if (k < n) break;
      }
      if (e.sent === total) c.shutdownWrite(now);
    }
    for (;;) {
      const n = c.recvInto(rbuf);
      if (n === 0) break;
      for (let i = 0; i < n; i++) if (rbuf[i] !== pattern(peerDir, e.received + i)) e.corrupt++;
      e.received += n;
    }
    if (c.peerFinished) e.ended = true;
  };

  a.conn!.connect(now);
  let steps = 0;
  while (steps++ < 2_000_000) {
    pumpApp(a, b.dir);
    pumpApp(b, a.dir);
    transmit(output(a.conn!), true);
    if (b.conn !== undefined) transmit(output(b.conn), false);
    const done =
      a.ended && b.ended && a.sent === total && b.sent === total &&
      (a.conn!.state === 'TIME-WAIT' || a.conn!.state === 'CLOSED') &&
      (b.conn?.state === 'TIME-WAIT' || b.conn?.state === 'CLOSED');
    if (done) break;
    // Next event: the earliest delivery or timer.
    let next = Infinity;
    for (const f of queue) if (f.at < next) next = f.at;
    const pa = a.conn!.pollAt();
    if (pa !== undefined) next = Math.min(next, Math.max(pa, now));
    const pb = b.conn?.pollAt();
    if (pb !== undefined) next = Math.min(next, Math.max(pb, now));
    if (next === Infinity) break;
    if (next > 3_600_000) break;
    now = next;
    const due = queue.filter((f) => f.at <= now).sort((x, y) => x.at - y.at || x.order - y.order);
    queue = queue.filter((f) => f.at > now);
    for (const f of due) {
      if (f.toB) {
        if (b.conn !== undefined && b.conn.accepts(f.seg, A, B)) b.conn.process(f.seg, now);
        else {
          const r = listener.process(f.seg, A, B, now);
          if (r.kind === 'spawned') {
            b.conn = r.conn;
          }
        }
      } else {
        a.conn!.process(f.seg, now);
      }
    }
    if (b.conn !== undefined && listener.pending > 0) listener.accept();
  }
  return { a, b, now, drops, transitions, steps, sent, lent };
}

function check(r: ReturnType<typeof run>, total: number): void {
  assert.equal(r.a.corrupt, 0, `corrupt bytes at B→A: got ${r.a.corrupt}, want 0`);
  assert.equal(r.b.corrupt, 0, `corrupt bytes at A→B: got ${r.b.corrupt}, want 0`);
  assert.equal(r.a.received, total, `bytes A received: got ${r.a.received}, want ${total}`);
  assert.equal(r.b.received, total, `bytes B received: got ${r.b.received}, want ${total}`);
  assert.ok(r.a.ended && r.b.ended, `both ends saw FIN: got a=${r.a.ended} b=${r.b.ended}`);
  const states = [r.a.conn!.state, r.b.conn!.state].sort();
  assert.ok(
    states.includes('TIME-WAIT') && (states.includes('CLOSED') || states.every((s) => s === 'TIME-WAIT')),
    `final states: got ${states}, want one TIME-WAIT and one CLOSED`,
  );
}

const MiB = 1024 * 1024;

describe('loopback over a virtual wire', () => {
  it('moves 3 MiB each way with SACK, timestamps and window scaling over 1% loss and 2% reordering (NewReno)', () => {
    const cfg = tcpConfig({ minRto: 200, congestion: 'newreno' }, RFC_TCP_CONFIG);
    const r = run(cfg, cfg, { seed: 11, loss: 0.01, reorder: 0.02, delay: 5 }, 3 * MiB);
    check(r, 3 * MiB);
    assert.ok(r.drops > 0, 'the wire should have dropped some segments');
  });

  it('moves 3 MiB each way with SACK and CUBIC between two Linux-profile stacks', () => {
    const r = run(LINUX_TCP_CONFIG, LINUX_TCP_CONFIG, { seed: 12, loss: 0.01, reorder: 0.02, delay: 2 }, 3 * MiB);
    check(r, 3 * MiB);
  });

  it('moves 2 MiB each way with no options at all (no SACK, timestamps or scaling) over 2% loss', () => {
    const cfg = tcpConfig({ sack: false, timestamps: false, windowScaling: false, minRto: 200, recvBufferSize: 64 * 1024 });
    const r = run(cfg, cfg, { seed: 13, loss: 0.02, reorder: 0.01, delay: 3 }, 2 * MiB);
    check(r, 2 * MiB);
  });

  it('works between an RFC-profile stack and a Linux-profile stack with small buffers', () => {
    const small = tcpConfig({ sendBufferSize: 16 * 1024, recvBufferSize: 8 * 1024, minRto: 200 });
    const r = run(small, LINUX_TCP_CONFIG, { seed: 14, loss: 0.005, reorder: 0.05, delay: 1 }, 1 * MiB);
    check(r, 1 * MiB);
  });

  it('replays exactly: the same seed gives the same transitions at the same times', () => {
    const cfg = tcpConfig({ minRto: 200 });
    const one = run(cfg, cfg, { seed: 21, loss: 0.02, reorder: 0.02, delay: 5 }, 256 * 1024);
    const two = run(cfg, cfg, { seed: 21, loss: 0.02, reorder: 0.02, delay: 5 }, 256 * 1024);
    assert.deepEqual(
      two.transitions.map((t) => [t.connId, t.from, t.to, t.event, t.time]),
      one.transitions.map((t) => [t.connId, t.from, t.to, t.event, t.time]),
    );
    assert.equal(two.now, one.now);
  });
});

describe('loopback with lent segments', () => {
  it('sends, through dispatchTo, exactly the segments dispatch returns: the same seeded run segment for segment', () => {
    for (const [cfg, seed] of [[tcpConfig({ minRto: 200 }, RFC_TCP_CONFIG), 31], [LINUX_TCP_CONFIG, 32], [tcpConfig({ sack: false, timestamps: false, minRto: 200 }), 33]] as const) {
      const wire = { seed, loss: 0.03, reorder: 0.05, delay: 2 };
      const owned = run(cfg, cfg, wire, 256 * 1024);
      const lent = run(cfg, cfg, { ...wire, lend: true }, 256 * 1024);
      check(lent, 256 * 1024);
      assert.ok(owned.drops > 0, `seed ${seed}: the wire should have dropped some segments`);
      assert.equal(lent.sent.length, owned.sent.length, `seed ${seed}: segments sent`);
      for (let i = 0; i < owned.sent.length; i++) assert.deepEqual(lent.sent[i], owned.sent[i], `seed ${seed}, segment ${i}`);
    }
  });

  it('lends the same few records over and over: no more per connection than its largest burst, and its control segments', () => {
    const r = run(LINUX_TCP_CONFIG, LINUX_TCP_CONFIG, { seed: 34, loss: 0.01, reorder: 0.02, delay: 2, lend: true }, 256 * 1024);
    check(r, 256 * 1024);
    assert.equal(r.lent.size, 2);
    for (const [c, l] of r.lent) {
      const most = l.burst + c.stats.challengeAcks;
      assert.ok(l.records.size <= most, `records lent by connection ${c.id}: got ${l.records.size}, want at most ${most} (of ${c.stats.segmentsSent} segments)`);
    }
  });
});

describe('loopback under heavy loss', () => {
  it('completes 128 KiB each way, handshake and close included, over 15% loss for 20 seeds', () => {
    const cfg = tcpConfig({ minRto: 200, maxRetries: 30, synRetries: 30, synAckRetries: 30 });
    const linux = tcpConfig({ maxRetries: 30, synRetries: 30, synAckRetries: 30 }, LINUX_TCP_CONFIG);
    const plain = tcpConfig({ sack: false, timestamps: false, windowScaling: false, minRto: 200, maxRetries: 30, synRetries: 30, synAckRetries: 30 });
    const failures: string[] = [];
    for (let seed = 100; seed < 120; seed++) {
      const pick = [cfg, linux, plain][seed % 3]!;
      const r = run(pick, pick, { seed, loss: 0.15, reorder: 0.1, delay: 3 }, 128 * 1024);
      try {
        check(r, 128 * 1024);
      } catch (e) {
        failures.push(`seed ${seed}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});

describe('loopback across configurations', () => {
  it('completes transfers for 60 seeds mixing options, buffers, MSS and congestion control on each side', () => {
    const R = { maxRetries: 40, synRetries: 40, synAckRetries: 40 };
    const cfgs = [
      tcpConfig({ minRto: 200, ...R }),
      tcpConfig({ ...R }, LINUX_TCP_CONFIG),
      tcpConfig({ sack: false, timestamps: false, windowScaling: false, minRto: 200, ...R }),
      tcpConfig({ timestamps: false, recvBufferSize: 20_000, sendBufferSize: 30_000, noDelay: true, minRto: 200, ...R }),
      tcpConfig({ sack: false, congestion: 'cubic', recvBufferSize: 5000, mss: 536, minRto: 200, ...R }),
    ];
    const failures: string[] = [];
    for (let seed = 1; seed <= 60; seed++) {
      const ca = cfgs[seed % cfgs.length]!;
      const cb = cfgs[Math.floor(seed / 5) % cfgs.length]!;
      const loss = [0, 0.01, 0.05, 0.15][seed % 4]!;
      const reorder = [0, 0.05, 0.3][seed % 3]!;
      const total = [1000, 50_000, 200_000][seed % 3]!;
      const r = run(ca, cb, { seed, loss, reorder, delay: 1 + (seed % 7) }, total);
      try {
        check(r, total);
      } catch (e) {
        failures.push(`seed ${seed} (loss ${loss}, reorder ${reorder}): ${(e as Error).message.split('\n')[0]}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
