// UDP sockets shaped like Node's dgram.Socket, between two simulated stacks.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from '../../../engine/stack/udp';
import { addr, eq, net2, payload } from './support';

describe('UDP sockets', () => {
  it('sends and receives datagrams with the sender in rinfo, and replies to it', async () => {
    const { net, a, b } = net2();
    const server = createSocket(b);
    server.on('message', (msg: Buffer, rinfo: RemoteInfo) => server.send(Buffer.concat([Buffer.from('echo: '), msg]), rinfo.port, rinfo.address));
    let listening = false;
    server.bind(5353, () => (listening = true));
    const client = createSocket(a);
    const got: [string, RemoteInfo][] = [];
    client.on('message', (m: Buffer, r: RemoteInfo) => got.push([m.toString(), r]));
    let sentBytes = -1;
    client.send('ping', 5353, addr(b), (err: Error | null, n: number) => {
      assert.equal(err, null);
      sentBytes = n;
    });
    await net.run(() => got.length === 1, 1_000);
    eq(listening, true, 'listening');
    eq(sentBytes, 4, 'bytes sent');
    eq(got[0][0], 'echo: ping', 'reply');
    eq(got[0][1], { address: addr(b), family: 'IPv4', port: 5353, size: 10 }, 'rinfo');
    const port = client.address().port;
    assert.ok(port >= 32768 && port <= 60999, `implicitly bound port ${port}, want an ephemeral one`);
  });

  it('fragments and reassembles a 20000-byte datagram between stacks', async () => {
    const { net, a, b } = net2();
    const body = payload(20_000, 3);
    let got: Buffer | undefined;
    createSocket(b, 'udp4', (m) => (got = m)).bind(6000);
    createSocket(a).send(body, 6000, addr(b));
    await net.run(() => got !== undefined, 1_000);
    assert.ok(got?.equals(body), 'datagram intact');
    eq(b.counters.ip.reassembled, 1, 'reassembled');
    eq(a.counters.ip.fragmentsOut, 14, 'fragments sent');
  });

  it('emits EADDRINUSE when the port is taken', async () => {
    const { net, a } = net2();
    createSocket(a).bind(7000);
    const s = createSocket(a);
    let err: NodeJS.ErrnoException | undefined;
    s.on('error', (e: NodeJS.ErrnoException) => (err = e));
    s.bind(7000);
    await net.run(() => err !== undefined, 100);
    eq(err?.code, 'EADDRINUSE', 'err.code');
    eq(err?.syscall, 'bind', 'err.syscall');
  });

  it('fails a datagram over 65507 bytes with EMSGSIZE', async () => {
    const { net, a, b } = net2();
    let err: NodeJS.ErrnoException | null | undefined;
    createSocket(a).send(new Uint8Array(65508), 6000, addr(b), (e: Error | null) => (err = e as NodeJS.ErrnoException | null));
    await net.run(() => err !== undefined, 100);
    eq(err?.code, 'EMSGSIZE', 'err.code');
  });

  it('reports ECONNREFUSED on a connected socket when the peer port is closed (ICMP port unreachable)', async () => {
    const { net, a, b } = net2();
    const s = createSocket(a);
    let err: NodeJS.ErrnoException | undefined;
    s.on('error', (e: NodeJS.ErrnoException) => (err = e));
    s.connect(6001, addr(b), () => s.send('anyone?'));
    await net.run(() => err !== undefined, 1_000);
    eq(err?.code, 'ECONNREFUSED', 'err.code');
    eq(b.counters.rxDrops['udp-no-socket'], 1, 'datagrams for no socket at the peer');
  });

  it('reports nothing on an unconnected socket for the same ICMP error (as Linux without IP_RECVERR)', async () => {
    const { net, a, b } = net2();
    const s = createSocket(a);
    let err: Error | undefined;
    s.on('error', (e) => (err = e));
    s.send('anyone?', 6001, addr(b));
    await net.run(() => false, 1_000);
    eq(err, undefined, 'error');
    eq(a.counters.icmp.in, 1, 'ICMP errors received');
  });

  it('on a connected socket, receives only from the connected peer', async () => {
    const net = (await import('../../../engine/backends/sim-network')).SimNetwork;
    const n = new net({ seed: 2, hosts: 3, wire: { latencyMs: 1 } });
    const [a, b, c] = n.stacks;
    const got: string[] = [];
    const s = createSocket(a, 'udp4', (m) => got.push(m.toString()));
    s.bind(7100);
    s.connect(7200, addr(b));
    const fromB = createSocket(b);
    fromB.bind(7200);
    fromB.send('from b', 7100, addr(a));
    createSocket(c).send('from c', 7100, addr(a));
    await n.run(() => false, 1_000);
    eq(got, ['from b'], 'messages');
    eq(a.counters.rxDrops['udp-wrong-peer'], 1, 'datagrams from another peer');
  });

  it('drops datagrams beyond the receive buffer, counted, and delivers the rest', async () => {
    const { net, a, b } = net2();
    const got: number[] = [];
    createSocket(b, { recvBufferSize: 3000 }, (m) => got.push(m.length)).bind(7300);
    const s = createSocket(a);
    for (let i = 0; i < 5; i++) s.send(new Uint8Array(1000), 7300, addr(b));
    await net.run(() => false, 1_000);
    eq(got, [1000, 1000, 1000], 'delivered');
    eq(b.counters.rxDrops['udp-rcvbuf-full'], 2, 'dropped');
  });

  it('closes: no more messages, the port is free again, and close fires', async () => {
    const { net, a, b } = net2();
    let closed = false;
    const got: string[] = [];
    const s = createSocket(b, 'udp4', (m) => got.push(m.toString()));
    s.bind(7400);
    s.close(() => (closed = true));
    createSocket(a).send('late', 7400, addr(b));
    await net.run(() => false, 1_000);
    eq([closed, got], [true, []], 'closed and messages');
    const again = createSocket(b);
    let listening = false;
    again.bind(7400, () => (listening = true));
    await net.run(() => listening, 1_100);
    eq(listening, true, 'rebound');
  });
});
