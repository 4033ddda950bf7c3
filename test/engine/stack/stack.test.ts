// The stack as a whole: observer hops and TCP transitions, counters, poll/pollAt driving, the
// demultiplexing table under many connections, re-entrancy, and loopback to our own address.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from '../../../engine/stack/net';
import type { TcpTransition } from '../../../engine/tcp/index';
import { TcpTable } from '../../../engine/stack/tcp-table';
import { Ipv4Stack, trimSack, type LinkDevice } from '../../../engine/stack/stack';
import type { TcpEntry, TcpOwner } from '../../../engine/stack/tcp-table';
import { simMac } from '../../../engine/backends/sim-network';
import { SeededRng } from '../../../engine/tcp/rng';
import { tcpBufferLen, type TcpRepr } from '../../../engine/wire/tcp';
import { A, addr, collect, eq, net2, ok, payload, sha256 } from './support';

describe('the stack', () => {
  it('reports a received SYN hop by hop under one packet id, and the transition it caused with that id', async () => {
    const { net, a, b } = net2();
    const hops: { layer: string; dir: string; verdict: string; id: number }[] = [];
    const transitions: TcpTransition[] = [];
    b.observer = { hop: (layer, dir, verdict, id) => hops.push({ layer, dir, verdict, id }), transition: (t) => transitions.push(t) };
    createServer(b).listen(80);
    connect(a, { host: addr(b), port: 80 });
    await net.run(() => transitions.length >= 2, 1_000);
    const toSynReceived = transitions.find((t) => t.to === 'SYN-RECEIVED');
    assert.ok(toSynReceived !== undefined, `transitions: ${transitions.map((t) => `${t.from}→${t.to}`).join(', ')}`);
    eq([toSynReceived.from, toSynReceived.event], ['LISTEN', 'rcv SYN'], 'transition');
    const id = toSynReceived.packetId!;
    eq(hops.filter((h) => h.id === id).map((h) => `${h.layer} ${h.dir} ${h.verdict}`), ['bypass.eth rx pass', 'bypass.ip rx pass', 'bypass.tcp rx deliver'], 'hops of the SYN');
    const synAck = hops.find((h) => h.layer === 'bypass.tcp' && h.dir === 'tx');
    assert.ok(synAck !== undefined, 'a TCP segment went out');
    eq(hops.filter((h) => h.id === synAck.id).map((h) => `${h.layer} ${h.dir} ${h.verdict}`), ['bypass.tcp tx pass', 'bypass.ip tx pass', 'bypass.eth tx pass'], 'hops of the SYN,ACK');
    const established = transitions.find((t) => t.to === 'ESTABLISHED');
    eq(established?.event, 'rcv ACK of SYN', 'server side established by');
  });

  it('follows a data segment up to the socket: eth, ip, tcp, then socket', async () => {
    const { net, a, b } = net2();
    const hops = new Map<number, string[]>();
    b.observer = { hop: (layer, dir, verdict, id) => hops.set(id, [...(hops.get(id) ?? []), `${layer} ${dir} ${verdict}`]) };
    let got = '';
    createServer(b, (s) => s.on('data', (d: Buffer) => (got += d.toString()))).listen(80);
    connect(a, { host: addr(b), port: 80 }).end('payload');
    await net.run(() => got === 'payload', 1_000);
    const paths = [...hops.values()].map((h) => h.join(' > '));
    assert.ok(
      paths.includes('bypass.eth rx pass > bypass.ip rx pass > bypass.tcp rx deliver > bypass.socket rx deliver'),
      `paths: got ${JSON.stringify(paths)}, want one ending at bypass.socket`,
    );
  });

  it('counts packets in and out at each layer', async () => {
    const { net, a, b } = net2();
    createServer(b, (s) => s.pipe(s)).listen(7);
    const c = connect(a, { host: addr(b), port: 7 });
    const got = collect(c);
    c.end('0123456789');
    await net.run(() => got.ended(), 5_000);
    eq(got.text(), '0123456789', 'echo');
    const ca = a.counters;
    assert.ok(ca.tcp.out >= 3 && ca.tcp.in >= 3, `TCP segments out ${ca.tcp.out}, in ${ca.tcp.in}: want at least 3 each`);
    eq(ca.ip.out, ca.tcp.out, 'IP datagrams out (TCP only)');
    eq(ca.eth.out, ca.ip.out + ca.arp.out, 'frames out = IP + ARP');
    eq(ca.eth.in, ca.rx.frames, 'frames in');
    eq(ca.socket.in, 1, 'data deliveries to the socket');
  });

  it('reports the earliest deadline through pollAt and does nothing before it', () => {
    const { net, a, b } = net2();
    net.runSync(10);
    eq(a.pollAt(), undefined, 'pollAt with nothing pending');
    // A SYN to a port on a peer that drops everything: the retransmission timer is the only deadline.
    net.ports[1].onReceive = undefined;
    const e = a.tcpConnect(b.address, 9, { onTcpEvent: () => {} });
    assert.ok(typeof e !== 'string');
    eq(a.pollAt(), a.now, 'pollAt right after connect() (SYN to send)');
    a.poll(net.now);
    const rto = a.pollAt();
    eq(rto, net.now + 1_000, 'pollAt after the SYN (initial RTO, RFC 6298 §2.1)');
    const sent = a.counters.tcp.out;
    a.poll(net.now + 999);
    eq(a.counters.tcp.out, sent, 'segments sent before the deadline');
    a.poll(rto!);
    eq(a.counters.tcp.out, sent + 1, 'segments sent at the deadline (the retransmitted SYN)');
  });

  it('keeps 100 concurrent connections apart through the 4-tuple table', async () => {
    const { net, a, b } = net2();
    createServer(b, (s) => s.pipe(s)).listen(7);
    const clients: { c: Socket; got: ReturnType<typeof collect>; want: string }[] = [];
    for (let i = 0; i < 100; i++) {
      const c = connect(a, { host: addr(b), port: 7 });
      const data = payload(3000 + i, i);
      clients.push({ c, got: collect(c), want: sha256(data) });
      c.end(data);
    }
    const done = await net.run(() => clients.every((x) => x.got.ended()), 60_000);
    assert.ok(done, `all echoed by ${net.now} ms: ${clients.filter((x) => x.got.ended()).length} of 100`);
    for (const [i, x] of clients.entries()) eq(x.got.digest(), x.want, `connection ${i}`);
    eq(new Set(clients.map((x) => x.c.localPort)).size, 100, 'distinct ephemeral ports');
  });

  it('grows its hash table and still finds every entry', () => {
    const t = new TcpTable(4);
    const fake = (p: number) => ({ tuple: { localAddr: A, localPort: 80, remoteAddr: 0xc6120002, remotePort: p } }) as never;
    const entries = Array.from({ length: 500 }, (_, i) => t.insert(fake(1000 + i)));
    eq(t.size, 500, 'size');
    for (let i = 0; i < 500; i++) assert.equal(t.lookup(A, 80, 0xc6120002, 1000 + i), entries[i], `entry ${i}`);
    t.remove(entries[7]);
    eq([t.lookup(A, 80, 0xc6120002, 1007), t.size], [undefined, 499], 'after removal');
  });

  it('never runs application callbacks while it processes a packet, so writes from them are safe', async () => {
    const { net, a, b } = net2();
    const inside: boolean[] = [];
    createServer(b, (s) => {
      s.on('data', (d: Buffer) => {
        inside.push(b.processing);
        s.write(d);
        if (inside.length === 3) s.destroy();
      });
    }).listen(7);
    const c = connect(a, { host: addr(b), port: 7 });
    c.on('error', () => {});
    c.on('data', () => c.write('more'));
    c.write('start');
    await net.run(() => inside.length >= 3, 5_000);
    eq(inside, [false, false, false], 'stack processing during data callbacks');
    await net.run(() => c.destroyed, 5_000);
    eq(a.tcpConnections + b.tcpConnections, 0, 'connections left');
  });

  it('connects to its own address through loopback', async () => {
    const { net, a } = net2();
    createServer(a, (s) => s.pipe(s)).listen(7);
    const c = connect(a, { host: addr(a), port: 7 });
    const got = collect(c);
    c.end('to myself');
    await net.run(() => got.ended(), 1_000);
    eq(got.text(), 'to myself', 'echo over loopback');
    eq(a.counters.eth.out, 1, 'frames on the wire (the announcement only)');
  });

  it('replays a run exactly from the same seed, and differs with another seed', async () => {
    async function trace(seed: number): Promise<string[]> {
      const { net, a, b } = net2([{ impair: { loss: 0.05, reorder: 0.05, jitterMs: 0.3 } }, {}], { latencyMs: 1 }, seed);
      const out: string[] = [];
      for (const s of [a, b]) s.observer = { hop: (layer, dir, verdict, id, now) => out.push(`${now.toFixed(6)} ${s.name} ${id} ${layer} ${dir} ${verdict}`), transition: (t) => out.push(`${t.time} ${t.connId} ${t.from}>${t.to} ${t.vars.sndUna}`) };
      createServer(b, (s) => s.pipe(s)).listen(7);
      const c = connect(a, { host: addr(b), port: 7 });
      const got = collect(c);
      c.end(payload(100_000, 1));
      await net.run(() => got.ended(), 60_000);
      return out;
    }
    const first = await trace(11);
    const again = await trace(11);
    const other = await trace(12);
    assert.ok(first.length > 100, `trace lines: got ${first.length}, want over 100`);
    eq(again.length, first.length, 'trace length with the same seed');
    assert.deepEqual(again, first, 'same seed, same trace');
    assert.notDeepEqual(other, first, 'another seed, another trace');
  });

  it('cuts SACK blocks, never data, from a segment whose options would exceed the MTU', () => {
    const nop = { kind: 'nop' } as const;
    const seg: TcpRepr = {
      srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: 0x10, window: 0, urgent: 0, payload: new Uint8Array(1448),
      options: [nop, nop, { kind: 'timestamps', tsVal: 1, tsEcr: 2 }, nop, nop, { kind: 'sack', blocks: [{ left: 1, right: 2 }, { left: 3, right: 4 }, { left: 5, right: 6 }] }],
    };
    const over = tcpBufferLen(seg) + 20 - 1500;
    eq(over, 28, 'bytes over a 1500-byte MTU');
    const one = trimSack(seg, 12);
    eq(one.options.length, 6, 'options after cutting 12 bytes');
    eq([tcpBufferLen(one), one.payload.length], [tcpBufferLen(seg) - 16, 1448], 'length and payload after cutting 12 bytes (two blocks)');
    const none = trimSack(seg, over);
    eq(none.options.map((o) => o.kind), ['nop', 'nop', 'timestamps'], 'options after cutting all blocks');
    eq(tcpBufferLen(none) + 20, 1500, 'IP length after cutting (exactly the MTU)');
  });
});

describe('deferred tasks', () => {
  const task = (order: string[], name: string, then?: () => void) => ({
    runDeferred: () => {
      order.push(name);
      then?.();
    },
  });

  it('run at the end of the poll in the order queued, and what they queue in a later round of the same poll', () => {
    const { net, a } = net2();
    const order: string[] = [];
    a.defer(task(order, 'one', () => a.defer(task(order, 'three'))));
    a.defer(task(order, 'two'));
    a.poll(net.now);
    eq(order, ['one', 'two', 'three'], 'tasks run');
    a.poll(net.now);
    eq(order, ['one', 'two', 'three'], 'tasks run after a second poll');
  });

  it('after one that throws, wait for the next poll, ahead of tasks queued since', () => {
    const { net, a } = net2();
    const order: string[] = [];
    a.defer(task(order, 'one', () => a.defer(task(order, 'four'))));
    a.defer(task(order, 'two', () => {
      throw new Error('boom');
    }));
    a.defer(task(order, 'three'));
    assert.throws(() => a.poll(net.now), /boom/);
    eq(order, ['one', 'two'], 'tasks run before the throw');
    a.defer(task(order, 'five'));
    a.poll(net.now);
    eq(order, ['one', 'two', 'three', 'four', 'five'], 'tasks run by the next poll');
  });

  it('queued by a task that polls the stack itself run in that poll, and the outer round still finishes', () => {
    const { net, a } = net2();
    const order: string[] = [];
    const inner = task(order, 'inner', () => {
      a.defer(task(order, 'x'));
      a.defer(task(order, 'y'));
    });
    a.defer(task(order, 'one', () => {
      a.defer(inner);
      a.poll(net.now);
    }));
    a.defer(task(order, 'two'));
    a.poll(net.now);
    eq(order, ['one', 'inner', 'x', 'y', 'two'], 'tasks run');
    a.defer(task(order, 'later'));
    a.poll(net.now);
    eq(order, ['one', 'inner', 'x', 'y', 'two', 'later'], 'tasks run by the next poll');
  });
});

/**
 * Two link ends that hand each frame to the other end during transmit: a frame sent while another
 * is being delivered waits until that delivery returns, and is then delivered, still inside the
 * first transmit. So a stack receives its peer's answer while it is in the middle of sending.
 */
class SyncWire {
  readonly ends = [new SyncEnd(this, 'a'), new SyncEnd(this, 'b')];
  private delivering = false;
  private readonly waiting: { to: SyncEnd; frame: Uint8Array }[] = [];
  /** Frames a stack received while it was itself transmitting. */
  reentered = 0;

  carry(from: SyncEnd, frame: Uint8Array, now: number): void {
    const to = this.ends[0] === from ? this.ends[1] : this.ends[0];
    this.waiting.push({ to, frame: frame.slice() });
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let w = this.waiting.shift(); w !== undefined; w = this.waiting.shift()) {
        if (w.to.sending > 0) this.reentered++;
        w.to.onReceive?.(w.frame, now);
      }
    } finally {
      this.delivering = false;
    }
  }
}

class SyncEnd implements LinkDevice {
  readonly mtu = 1500;
  onReceive: LinkDevice['onReceive'] = undefined;
  sending = 0;
  constructor(
    private readonly wire: SyncWire,
    readonly name: string,
  ) {}
  transmit(frame: Uint8Array, now: number): void {
    this.sending++;
    try {
      this.wire.carry(this, frame, now);
    } finally {
      this.sending--;
    }
  }
  poll(): void {}
  pollAt(): number | undefined {
    return undefined;
  }
}

/** A stack-interface application that reads everything and, as the echo side, writes it back. */
class Endpoint implements TcpOwner {
  entry: TcpEntry | undefined;
  received: number[] = [];
  constructor(
    readonly stack: Ipv4Stack,
    readonly echo: boolean,
  ) {}
  onTcpEvent(_e: TcpEntry, kind: string): void {
    if (kind === 'readable') this.stack.defer(this);
  }
  runDeferred(): void {
    const c = this.entry!.conn;
    const buf = new Uint8Array(3000);
    for (let n = c.recvInto(buf); n > 0; n = c.recvInto(buf)) {
      this.received.push(...buf.subarray(0, n));
      if (this.echo) assert.equal(c.send(buf.subarray(0, n), this.stack.now), n);
    }
  }
}

describe('a link that delivers during transmit', () => {
  it('carries an echo both ways intact while each stack is re-entered in the middle of sending', () => {
    const wire = new SyncWire();
    const [la, lb] = wire.ends;
    const a = new Ipv4Stack(la, { mac: simMac(0), address: A, prefixLength: 24, rng: new SeededRng(1), tcp: { delayedAckTimeout: 0, noDelay: true } });
    const b = new Ipv4Stack(lb, { mac: simMac(1), address: A + 1, prefixLength: 24, rng: new SeededRng(2), tcp: { delayedAckTimeout: 0, noDelay: true } });
    const client = new Endpoint(a, false);
    const server = new Endpoint(b, true);
    const l = b.tcpListen(7, 8, () => {
      const conn = typeof l === 'string' ? undefined : l.accept();
      if (conn === undefined) return;
      server.entry = b.tcpEntry(conn)!;
      server.entry.owner = server;
    });
    const e = a.tcpConnect(A + 1, 7, client);
    assert.ok(typeof e !== 'string');
    client.entry = e;
    const data = [...payload(50_000, 3)];
    let sent = 0;
    for (let t = 0; t < 2000 && client.received.length < data.length; t++) {
      if (e.conn.state === 'ESTABLISHED' && sent < data.length) sent += e.conn.send(Uint8Array.from(data.slice(sent, sent + 7000)), t);
      a.poll(t);
      b.poll(t);
    }
    ok(wire.reentered >= 10, `frames received by a stack in the middle of sending: got ${wire.reentered}, want 10 or more`);
    eq(server.received.length, data.length, 'bytes the server received');
    ok(server.received.every((x, i) => x === data[i]), 'the server received the bytes sent');
    eq(client.received.length, data.length, 'bytes echoed back');
    ok(client.received.every((x, i) => x === data[i]), 'the echo is the bytes sent');
  });
});
