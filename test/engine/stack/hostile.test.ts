// Hostile input: a stack with live TCP connections is fed over 100,000 random and mutated frames
// (bit flips, truncations, length-field lies, option garbage, fragments, forged segments). Nothing
// may throw, every frame must be accounted for as delivered, held or dropped with a reason, and the
// live connections must carry on and deliver their data intact.
//
// Mutations that keep a valid TCP checksum are only made on 4-tuples other than the live ones: an
// in-window forged segment with a valid checksum is indistinguishable from real data to any TCP
// (RFC 5961 narrows, but cannot close, that hole). Likewise ARP is unauthenticated (RFC 826), so the
// corpus does not forge ARP for the peer's address. Replays of captured segments are included.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../../../engine/tcp/rng';
import { internetChecksum } from '../../../engine/wire/checksum';
import { TcpHeaderView } from '../../../engine/wire/tcp';
import { connect, createServer, type Socket } from '../../../engine/stack/net';
import { createSocket } from '../../../engine/stack/udp';
import { ethernet, icmp, ipv4 } from '../../support/packet-builder';
import { A, B, MAC_A, MAC_B, addr, collect, eq, net2, payload, sendAll, sha256 } from './support';

const FRAMES = 100_000;
const SIZE = 2 << 20;
const LISTEN_PORT = 9000;
const UDP_PORT = 5353;

function fixIp(f: Uint8Array): void {
  if (f.length < 34) return;
  const hl = (f[14] & 15) * 4;
  if (hl < 20 || 14 + hl > f.length) return;
  f[24] = 0;
  f[25] = 0;
  const c = internetChecksum(f, 14, hl);
  f[24] = c >>> 8;
  f[25] = c & 0xff;
}

function ipv4Frame(f: Uint8Array): boolean {
  return f.length >= 34 && f[12] === 0x08 && f[13] === 0x00 && f[14] === 0x45;
}

describe('hostile input', () => {
  it('survives 100,000 random and mutated frames with live connections, accounts for each, and the connections carry on', async () => {
    // Small buffers, so the transfers are still under way during the barrage.
    const tcp = { sendBufferSize: 128 * 1024, recvBufferSize: 128 * 1024 };
    const { net, a, b } = net2([{ tcp }, { tcp }], { latencyMs: 1, rateBps: 1e9 }, 77);
    const rng = new SeededRng(4242);
    const livePorts = new Set<number>([LISTEN_PORT]);

    // Two live connections, each moving 2 MiB both ways, and a UDP socket. Connection i's client
    // sends payload 10 + i and its server payload 20 + i.
    const streams: { name: string; got: ReturnType<typeof collect>; want: string }[] = [];
    let accepted = 0;
    createServer(a, { allowHalfOpen: true }, (s: Socket) => {
      const i = accepted++;
      streams.push({ name: `server ${i}`, got: collect(s), want: sha256(payload(SIZE, 10 + i)) });
      sendAll(s, payload(SIZE, 20 + i), 16 * 1024);
    }).listen(LISTEN_PORT);
    const clients: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const c = connect(b, { host: addr(a), port: LISTEN_PORT, allowHalfOpen: true });
      c.on('connect', () => livePorts.add(c.localPort!));
      clients.push(c);
      streams.push({ name: `client ${i}`, got: collect(c), want: sha256(payload(SIZE, 20 + i)) });
      sendAll(c, payload(SIZE, 10 + i), 16 * 1024);
      await net.run(() => accepted === i + 1, 10_000);
    }
    const errors: string[] = [];
    for (const c of clients) c.on('error', (e) => errors.push(e.message));
    const udpGot: Buffer[] = [];
    createSocket(a, 'udp4', (m) => udpGot.push(m)).bind(UDP_PORT);

    // A corpus of real frames in both directions, captured from the wire.
    const corpus: Uint8Array[] = [];
    for (const port of net.ports) {
      const inner = port.transmit.bind(port);
      port.transmit = (f, now) => {
        if (corpus.length < 4000 && !(f[12] === 0x08 && f[13] === 0x06)) corpus.push(f.slice());
        inner(f, now);
      };
    }
    const udpSender = createSocket(b);
    for (let i = 0; i < 20; i++) udpSender.send(payload(i % 2 === 0 ? 100 : 3000, i), UDP_PORT, addr(a));
    b.ping(A, 1, 1, payload(2000, 3));
    await net.run(() => streams.every((s) => s.got.bytes() > SIZE / 4), 60_000);
    assert.ok(corpus.length > 1000, `captured ${corpus.length} frames, want over 1000`);
    const statesBefore = clients.map((c) => c.tcpState);
    eq(statesBefore, ['ESTABLISHED', 'ESTABLISHED'], 'client states before the barrage');

    const randomBytes = (n: number): Uint8Array => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = rng.nextU32() & 0xff;
      return out;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rng.below(xs.length)];
    const freePort = (): number => {
      for (;;) {
        const p = pick([LISTEN_PORT, UDP_PORT, 1, 80, 1234, 0, 65535, 1024 + rng.below(64000)]);
        if (p === LISTEN_PORT || !livePorts.has(p)) return p;
      }
    };
    /** Retargets a TCP/UDP frame at a non-live 4-tuple and makes every checksum valid again. */
    const forge = (f: Uint8Array): void => {
      if (!ipv4Frame(f)) return;
      const proto = f[23];
      const l4 = 34;
      if (proto === 6 && f.length >= l4 + 20) {
        // Source port never a live one: the segment can only reach a listener, a new child or nobody.
        let sport = 1024 + rng.below(64000);
        while (livePorts.has(sport)) sport++;
        f[l4] = sport >>> 8;
        f[l4 + 1] = sport & 0xff;
        const dport = freePort();
        f[l4 + 2] = dport >>> 8;
        f[l4 + 3] = dport & 0xff;
        if (rng.chance(0.5)) f[l4 + 13] = rng.nextU32() & 0xff; // flags
        if (rng.chance(0.3)) f[l4 + 12] = (rng.nextU32() & 0xf0) | (f[l4 + 12] & 0x0f); // data offset
        if (rng.chance(0.3)) for (let i = l4 + 20; i < Math.min(f.length, l4 + 60); i++) if (rng.chance(0.3)) f[i] = rng.nextU32() & 0xff; // options
        if (rng.chance(0.3)) for (let i = l4 + 4; i < l4 + 12; i++) f[i] = rng.nextU32() & 0xff; // seq, ack
        const totalLen = Math.min(f.length - 14, (f[16] << 8) | f[17]);
        if (totalLen > 20 + 20) new TcpHeaderView(f, l4).fillChecksum({ version: 4, src: (f[26] << 24 | f[27] << 16 | f[28] << 8 | f[29]) >>> 0, dst: (f[30] << 24 | f[31] << 16 | f[32] << 8 | f[33]) >>> 0 }, Math.min(totalLen - 20, f.length - l4));
      } else if (proto === 17 && f.length >= l4 + 8) {
        const dport = pick([UDP_PORT, 7, 1234, 65535]);
        f[l4 + 2] = dport >>> 8;
        f[l4 + 3] = dport & 0xff;
        if (rng.chance(0.5)) {
          const len = rng.below(2000);
          f[l4 + 4] = len >>> 8;
          f[l4 + 5] = len & 0xff;
        }
        f[l4 + 6] = 0; // no checksum (RFC 768 allows it on IPv4)
        f[l4 + 7] = 0;
      }
      fixIp(f);
    };

    const kinds = [
      'random', 'bit-flips', 'truncate', 'extend', 'ip-length-lie', 'ip-field', 'ip-options', 'forged-l4', 'fragments', 'icmp-error', 'replay',
    ] as const;
    const tally: Record<string, number> = {};
    const feed = (f: Uint8Array): void => {
      a.receive(f, net.now);
    };
    const framesBefore = a.counters.rx.frames;
    let fed = 0;
    while (fed < FRAMES) {
      const kind = pick(kinds);
      tally[kind] = (tally[kind] ?? 0) + 1;
      const base = pick(corpus);
      switch (kind) {
        case 'random': {
          const f = randomBytes(rng.below(1600));
          if (f.length >= 14 && rng.chance(0.7)) {
            f.set(MAC_A, 0);
            f[12] = 0x08;
            f[13] = rng.chance(0.9) ? 0x00 : 0x06;
            if (f.length > 14 && rng.chance(0.8)) f[14] = 0x45;
          }
          if (f.length >= 42 && f[13] === 0x06) f.set([0, 1, 8, 0, 6, 4], 14); // ARP with random addresses
          if (f.length >= 42 && f[13] === 0x06 && (f[28] << 24 | f[29] << 16 | f[30] << 8 | f[31]) >>> 0 === B) f[31] ^= 0x40;
          feed(f);
          fed++;
          break;
        }
        case 'bit-flips': {
          const f = base.slice();
          const n = 1 + rng.below(8);
          for (let i = 0; i < n; i++) {
            const bit = rng.below(f.length * 8);
            f[bit >> 3] ^= 0x80 >> (bit & 7);
          }
          feed(f);
          fed++;
          break;
        }
        case 'truncate':
          feed(base.slice(0, rng.below(base.length)));
          fed++;
          break;
        case 'extend': {
          const f = new Uint8Array(base.length + 1 + rng.below(200));
          f.set(base);
          f.set(randomBytes(f.length - base.length), base.length);
          feed(f);
          fed++;
          break;
        }
        case 'ip-length-lie': {
          const f = base.slice();
          if (ipv4Frame(f)) {
            const len = pick([0, 19, 20, 21, rng.below(65536), f.length - 14 - 1, f.length - 14 + 1 + rng.below(100)]);
            f[16] = (len >>> 8) & 0xff;
            f[17] = len & 0xff;
            if (rng.chance(0.8)) fixIp(f);
          }
          feed(f);
          fed++;
          break;
        }
        case 'ip-field': {
          const f = base.slice();
          if (ipv4Frame(f)) {
            const at = pick([14, 15, 18, 19, 20, 21, 22, 23, 26, 29, 30, 33]);
            f[at] = rng.nextU32() & 0xff;
            if (rng.chance(0.8)) fixIp(f);
          }
          feed(f);
          fed++;
          break;
        }
        case 'ip-options': {
          if (!ipv4Frame(base)) break;
          const optLen = 4 * (1 + rng.below(10));
          const f = new Uint8Array(base.length + optLen);
          f.set(base.subarray(0, 34));
          f.set(randomBytes(optLen), 34);
          if (rng.chance(0.3)) f.set([7, optLen, 4], 34); // a record-route option, maybe well-formed
          f.set(base.subarray(34), 34 + optLen);
          f[14] = 0x40 | (5 + optLen / 4);
          const total = ((base[16] << 8) | base[17]) + optLen;
          f[16] = (total >>> 8) & 0xff;
          f[17] = total & 0xff;
          fixIp(f);
          feed(f);
          fed++;
          break;
        }
        case 'forged-l4': {
          const f = base.slice();
          forge(f);
          feed(f);
          fed++;
          break;
        }
        case 'fragments': {
          if (!ipv4Frame(base)) break;
          const f = base.slice();
          if (rng.chance(0.5)) forge(f);
          const hl = 20;
          const total = Math.min(f.length - 14, (f[16] << 8) | f[17]);
          const body = f.subarray(14 + hl, 14 + Math.max(hl, total));
          const id = rng.below(65536);
          const pieces: Uint8Array[] = [];
          for (let off = 0; off < body.length; ) {
            let n = 8 * (1 + rng.below(40));
            if (rng.chance(0.1)) n += 1 + rng.below(7); // not a multiple of 8
            const start = rng.chance(0.1) ? Math.max(0, off - 8 * rng.below(4)) : off; // overlaps
            const part = body.subarray(start, Math.min(start + n, body.length));
            const more = start + part.length < body.length || rng.chance(0.05);
            pieces.push(ethernet(0x0800, ipv4({ src: (f[26] << 24 | f[27] << 16 | f[28] << 8 | f[29]) >>> 0, dst: A, protocol: f[23], identification: id, fragmentOffset: start, moreFragments: more }, part), { dst: MAC_A, src: MAC_B }));
            off = start + Math.max(part.length, 8);
          }
          if (rng.chance(0.3)) pieces.reverse();
          if (rng.chance(0.2)) pieces.pop(); // never completes: held until the timeout
          if (rng.chance(0.1) && pieces.length > 0) pieces.push(pieces[0]); // a duplicate
          for (const p of pieces) {
            if (fed >= FRAMES) break;
            feed(p);
            fed++;
          }
          tally['fragment frames'] = (tally['fragment frames'] ?? 0) + pieces.length;
          break;
        }
        case 'icmp-error': {
          // An ICMP error quoting a captured datagram (perhaps a live connection's: only a soft error then).
          if (!ipv4Frame(base)) break;
          const quote = base.slice(14, 14 + 20 + rng.below(40));
          const type = pick([3, 11, 5, 4, 12, 0, 8]);
          const msg = type === 3 || type === 11 ? icmp({ kind: type === 3 ? 'destinationUnreachable' : 'timeExceeded', code: rng.below(16), nextHopMtu: rng.below(1500), quote } as never) : icmp({ kind: 'unknown', type, code: rng.below(4), rest: randomBytes(4 + rng.below(40)) });
          if (rng.chance(0.2)) msg[2] ^= 0xff; // bad checksum
          feed(ethernet(0x0800, ipv4({ src: B, dst: A, protocol: 1 }, msg), { dst: MAC_A, src: MAC_B }));
          fed++;
          break;
        }
        case 'replay':
          feed(base.slice());
          fed++;
          break;
      }
      // Let virtual time pass now and then, so timers run and the connections keep moving meanwhile.
      if (fed % 500 === 0) await net.run(() => false, net.now + 0.5);
    }
    eq(a.counters.rx.frames - framesBefore >= FRAMES, true, `frames fed: got ${a.counters.rx.frames - framesBefore}, want at least ${FRAMES}`);

    // The connections carry on: everything arrives, intact.
    const done = await net.run(() => streams.every((s) => s.got.ended()), 600_000);
    assert.ok(done, `transfers finished: got ${streams.map((s) => `${s.name} ${s.got.bytes()}`).join(', ')} of ${SIZE} each, errors ${errors.join('; ')}`);
    for (const s of streams) eq(s.got.digest(), s.want, `${s.name}: SHA-256`);
    eq(errors, [], 'socket errors');
    await net.run(() => false, net.now + 60_000);

    // Every frame is accounted for.
    const c = a.counters;
    eq(c.rx.frames + c.ip.reassembled, c.rx.delivered + c.rx.held + c.rx.dropped, 'frames + reassembled = delivered + held + dropped');
    eq(c.rx.dropped, c.rxDropTotal(), 'dropped = Σ drops by reason');
    const reasons = Object.keys(c.rxDrops).length;
    assert.ok(reasons >= 25, `distinct drop reasons seen: got ${reasons} (${Object.keys(c.rxDrops).join(', ')}), want at least 25`);
    eq(a.reassembler.inProgress, 0, 'datagrams left in reassembly after the timeout');
    console.log(JSON.stringify({ tally, rx: c.rx, rxDrops: c.rxDrops, txDrops: c.txDrops, reassembled: c.ip.reassembled }));
  });
});
