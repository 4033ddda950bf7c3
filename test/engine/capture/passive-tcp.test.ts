// The passive TCP observer: segment by segment against RFC 9293's diagram (handshake, simultaneous
// close, resets, a capture joined mid-way, retransmissions, a reused tuple), and against our own
// stacks — a sim capture written to a file and replayed must show, for every host-side endpoint, the
// states its stack went through.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcapBackend } from '../../../engine/backends/pcap';
import type { StackPath } from '../../../engine/capture/nic';
import { PassiveTcp } from '../../../engine/capture/passive-tcp';
import { CaptureSession } from '../../../engine/capture/session';
import { parseRules } from '../../../engine/steer/rules';
import { createCaptureWriter } from '../../../engine/trace/capture-file';
import { LinkType } from '../../../engine/trace/capture-format';
import type { ConnectionInfo } from '../../../engine/trace/schema';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpOption, type TcpPacket } from '../../../engine/wire/tcp';
import { legalTransition, ROUTING } from './support';

const A = 0x0a000001; // 10.0.0.1, the client
const B = 0x0a000002; // 10.0.0.2, the server

interface Seen {
  conns: (Omit<ConnectionInfo, 'connId'> & { connId: number })[];
  moves: { conn: number; from: string; to: string; event: string; packet: number }[];
}

function observer(): { o: PassiveTcp; seen: Seen; send: (from: 'a' | 'b', flags: number, seq: number, ack: number, len?: number, options?: TcpOption[]) => number } {
  const seen: Seen = { conns: [], moves: [] };
  const o = new PassiveTcp({
    connection: (info) => {
      const connId = seen.conns.length + 1;
      seen.conns.push({ ...info, connId });
      return connId;
    },
    transition: (_path: StackPath, conn, from, to, event, packet) => seen.moves.push({ conn, from, to, event, packet }),
  });
  let packet = 0;
  const send = (from: 'a' | 'b', flags: number, seq: number, ack: number, len = 0, options: TcpOption[] = []): number => {
    const seg = { srcPort: from === 'a' ? 40000 : 80, dstPort: from === 'a' ? 80 : 40000, seq: seq >>> 0, ack: ack >>> 0, flags, window: 1000, urgent: 0, options, payload: new Uint8Array(0), headerLen: 20, checksum: 0, checksumValid: true, checksumPartial: false, reserved: 0 } as TcpPacket;
    return o.segment('bypass', from === 'a' ? A : B, from === 'a' ? B : A, seg, len, ++packet, packet);
  };
  return { o, seen, send };
}

/** Each connection's states in order, `to@packet`, once the capture has ended (the observer flushed). */
function lines(seen: Seen, o?: PassiveTcp): string[][] {
  o?.flush();
  return seen.conns.map((c) => seen.moves.filter((m) => m.conn === c.connId).map((m) => `${m.to}@${m.packet}`));
}

function checkDiagram(seen: Seen): void {
  for (const c of seen.conns) {
    const list = seen.moves.filter((m) => m.conn === c.connId);
    list.forEach((m, i) => {
      assert.ok(legalTransition(m.from, m.to), `conn ${c.connId}: ${m.from} → ${m.to} is not an edge of the diagram`);
      if (i > 0) assert.equal(m.from, list[i - 1].to, `conn ${c.connId}: transition ${i} starts in ${m.from}`);
    });
  }
}

const S = TCP_SYN;
const SA = TCP_SYN | TCP_ACK;
const AK = TCP_ACK;
const FA = TCP_FIN | TCP_ACK;
const R = TCP_RST;

function handshake(send: ReturnType<typeof observer>['send']): void {
  send('a', S, 100, 0);
  send('b', SA, 500, 101);
  send('a', AK, 101, 501);
}

describe('the passive TCP observer, segment by segment', () => {
  it('follows a handshake and an orderly close on both sides', () => {
    const { seen, send } = observer();
    handshake(send);
    send('a', AK, 101, 501, 10); // data
    send('b', FA, 501, 111);
    send('a', AK, 111, 502);
    send('a', FA, 111, 502);
    send('b', AK, 502, 112);
    assert.deepEqual(lines(seen), [
      ['SYN-SENT@1', 'ESTABLISHED@2', 'CLOSE-WAIT@5', 'LAST-ACK@7', 'CLOSED@8'],
      ['LISTEN@0', 'SYN-RECEIVED@1', 'ESTABLISHED@3', 'FIN-WAIT-1@5', 'FIN-WAIT-2@6', 'TIME-WAIT@7'],
    ]);
    assert.deepEqual(seen.conns.map((c) => [c.open, c.localPort, c.remotePort, c.observed]), [
      ['active', 40000, 80, true],
      ['passive', 80, 40000, true],
    ]);
    checkDiagram(seen);
  });

  it('takes both sides of a simultaneous close through CLOSING to TIME-WAIT', () => {
    const { seen, send } = observer();
    handshake(send);
    send('a', FA, 101, 501);
    send('b', FA, 501, 101); // crosses a's FIN: does not ack it, so b sent it before taking a's
    send('a', AK, 102, 502);
    send('b', AK, 502, 102);
    // b took a's FIN (packet 4) after sending its own (5): FIN-WAIT-1, then CLOSING because of packet 4.
    assert.deepEqual(lines(seen), [
      ['SYN-SENT@1', 'ESTABLISHED@2', 'FIN-WAIT-1@4', 'CLOSING@5', 'TIME-WAIT@7'],
      ['LISTEN@0', 'SYN-RECEIVED@1', 'ESTABLISHED@3', 'FIN-WAIT-1@5', 'CLOSING@4', 'TIME-WAIT@6'],
    ]);
    checkDiagram(seen);
  });

  it('returns a passively opened side to LISTEN on a reset in SYN-RECEIVED (RFC 9293 §3.10.7.4), and closes both on a reset when established', () => {
    const first = observer();
    first.send('a', S, 100, 0);
    first.send('b', SA, 500, 101);
    first.send('a', R, 101, 0);
    assert.deepEqual(lines(first.seen), [
      ['SYN-SENT@1', 'ESTABLISHED@2', 'CLOSED@3'],
      ['LISTEN@0', 'SYN-RECEIVED@1', 'LISTEN@3'],
    ]);
    const second = observer();
    handshake(second.send);
    second.send('b', R | TCP_ACK, 501, 101);
    assert.deepEqual(lines(second.seen).map((l) => l.at(-1)), ['CLOSED@4', 'CLOSED@4']);
    checkDiagram(first.seen);
    checkDiagram(second.seen);
  });

  it('ignores retransmitted SYNs and FINs, and takes a FIN still unanswered when the capture ends as arrived', () => {
    const { o, seen, send } = observer();
    send('a', S, 100, 0);
    send('a', S, 100, 0);
    send('b', SA, 500, 101);
    send('b', SA, 500, 101);
    send('a', AK, 101, 501);
    send('a', FA, 101, 501);
    send('a', FA, 101, 501);
    assert.deepEqual(lines(seen, o), [
      ['SYN-SENT@1', 'ESTABLISHED@3', 'FIN-WAIT-1@6'],
      ['LISTEN@0', 'SYN-RECEIVED@1', 'ESTABLISHED@5', 'CLOSE-WAIT@6'],
    ]);
  });

  it('joins a connection seen mid-way in ESTABLISHED, and one whose SYN it missed at SYN,ACK', () => {
    const mid = observer();
    mid.send('a', AK, 1000, 2000, 100);
    mid.send('b', FA, 2000, 1100);
    assert.deepEqual(lines(mid.seen, mid.o), [['CLOSE-WAIT@2'], ['FIN-WAIT-1@2']]);
    const late = observer();
    late.send('b', SA, 500, 101);
    late.send('a', AK, 101, 501);
    assert.deepEqual(lines(late.seen), [
      ['SYN-SENT@0', 'ESTABLISHED@1'],
      ['LISTEN@0', 'SYN-RECEIVED@0', 'ESTABLISHED@2'],
    ]);
    assert.equal(late.seen.conns[0].localPort, 40000, 'the side that received the SYN,ACK opened it');
    assert.ok(late.seen.moves.filter((m) => m.packet === 0).every((m) => /inferred|not in the capture/.test(m.event)), 'inferred transitions say so');
  });

  it('starts a new connection when a closed tuple is opened again with a new SYN (RFC 6191)', () => {
    const { seen, send } = observer();
    handshake(send);
    send('a', FA, 101, 501);
    send('b', FA, 501, 102);
    send('a', AK, 102, 502);
    send('a', S, 9000, 0, 0, [{ kind: 'wscale', shift: 7 }]);
    assert.equal(seen.conns.length, 4, 'a second pair of endpoints');
    assert.deepEqual(lines(seen)[0].at(-1), 'CLOSED@7', 'the old TIME-WAIT side is closed by the new SYN');
    assert.deepEqual(lines(seen).slice(2), [['SYN-SENT@7'], ['LISTEN@0', 'SYN-RECEIVED@7']]);
  });

  it('gives a segment to the endpoint it was sent to', () => {
    const { send } = observer();
    assert.equal(send('a', S, 100, 0), 2, 'the SYN drives the server side');
    assert.equal(send('b', SA, 500, 101), 1, 'the SYN,ACK drives the client side');
  });
});

describe('the passive TCP observer against our stacks', () => {
  it('infers, for every host-side endpoint of a replayed sim capture, the states its stack went through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bypass-scope-passive-'));
    try {
      // The live capture: our stacks' own transitions, and the frames that crossed the wire, to a file.
      const file = join(dir, 'mixed.pcapng');
      const live = new CaptureSession({ rules: parseRules(ROUTING), scenario: 'mixed', seed: 5 });
      const w = createCaptureWriter(file, 'pcapng');
      w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 1e9 });
      const stackMoves: { conn: number; to: string }[] = [];
      live.onTransition.push((t) => stackMoves.push({ conn: t.connId, to: t.to }));
      live.onPacket.push((p) => {
        if (p.frame.length === 0) return;
        const t = Math.round(p.timeNs);
        w.writePacket({ interfaceId: 0, tsSec: Math.floor(t / 1e9), tsNsec: t % 1e9, data: p.frame });
      });
      await live.run({ durationMs: 5000 });
      w.close();
      // The replay: the observer's view of both endpoints.
      const replay = new CaptureSession({ rules: parseRules(ROUTING), backend: pcapBackend({ file }) });
      const seenMoves: { conn: number; to: string }[] = [];
      replay.onTransition.push((t) => seenMoves.push({ conn: t.connId, to: t.to }));
      await replay.run({});
      const key = (c: ConnectionInfo) => `${c.localAddress}:${c.localPort}>${c.remoteAddress}:${c.remotePort}`;
      assert.ok(live.connections.length >= 4, `live connections: ${live.connections.length}`);
      for (const c of live.connections) {
        const twin = replay.connections.find((r) => key(r) === key(c));
        assert.ok(twin, `the replay follows ${key(c)}`);
        // The stack's states, from the first the wire shows (a listener's child starts in LISTEN).
        const ours = stackMoves.filter((m) => m.conn === c.connId).map((m) => m.to);
        const theirs = seenMoves.filter((m) => m.conn === twin.connId).map((m) => m.to);
        const want = ours.filter((s) => s !== 'LISTEN');
        const got = theirs.filter((s) => s !== 'LISTEN');
        assert.deepEqual(got, want, `${c.stack} ${key(c)}: observed ${theirs.join('→')}, the stack went ${ours.join('→')}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
