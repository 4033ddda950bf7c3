// The Node-style TCP socket API over two simulated stacks: connect/accept, echo, half-close, errors
// with Node's codes, and backpressure in both directions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from '../../../engine/stack/net';
import { addr, collect, eq, net2, payload, sendAll, sha256 } from './support';

describe('TCP sockets through the stack', () => {
  it('connects, accepts, and echoes what the client writes, including writes made from a data handler', async () => {
    const { net, a, b } = net2();
    const server = createServer(b, (s) => {
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
    });
    let listening = false;
    server.listen(7, () => (listening = true));
    let connected = false;
    const c = connect(a, { host: addr(b), port: 7 }, () => (connected = true));
    const got = collect(c);
    const data = payload(200_000, 5);
    sendAll(c, data);
    const done = await net.run(() => got.ended() && c.destroyed, 60_000);
    assert.ok(done, `echo finished: got ${got.bytes()} bytes back by ${net.now} ms, want ${data.length}`);
    assert.ok(listening && connected, `listening ${listening}, connected ${connected}: want both`);
    eq(got.bytes(), data.length, 'bytes echoed');
    eq(got.digest(), sha256(data), 'SHA-256 of the echo');
    eq(server.address()?.port, 7, 'server port');
    eq(c.remotePort, 7, 'client remotePort');
    assert.ok(c.localPort !== undefined && c.localPort >= 32768 && c.localPort <= 60999, `ephemeral port ${c.localPort}, want 32768–60999`);
  });

  it('half-closes: after the client ends, the server still sends, and the client reads it before its own end', async () => {
    const { net, a, b } = net2();
    let serverGotEnd = false;
    createServer(b, { allowHalfOpen: true }, (s) => {
      s.resume();
      s.on('end', () => {
        serverGotEnd = true;
        // Our FIN arrived: the peer may keep writing to us (RFC 9293 §3.6, CLOSE-WAIT).
        s.write('after your FIN ');
        s.end('bye');
      });
    }).listen(8);
    const c = connect(a, { host: addr(b), port: 8, allowHalfOpen: true });
    const got = collect(c);
    c.end('hello');
    let stateAfterEnd = '';
    const done = await net.run(() => {
      if (serverGotEnd && stateAfterEnd === '') stateAfterEnd = c.tcpState;
      return got.ended();
    }, 10_000);
    assert.ok(done, `client saw end by ${net.now} ms`);
    eq(serverGotEnd, true, 'server saw end');
    eq(got.text(), 'after your FIN bye', 'data after the half-close');
    assert.ok(['FIN-WAIT-1', 'FIN-WAIT-2'].includes(stateAfterEnd), `client state while half-closed: got ${stateAfterEnd}, want FIN-WAIT-1 or FIN-WAIT-2`);
  });

  it('fails with ECONNREFUSED when the port is closed (the peer answers the SYN with RST)', async () => {
    const { net, a, b } = net2();
    const c = connect(a, { host: addr(b), port: 9 });
    let err: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (err = e));
    await net.run(() => err !== undefined, 10_000);
    eq(err?.code, 'ECONNREFUSED', 'err.code');
    eq(err?.syscall, 'connect', 'err.syscall');
    eq(err?.message, `connect ECONNREFUSED ${addr(b)}:9`, 'err.message');
    eq(b.counters.rxDrops['tcp-no-socket'], 1, 'segments for no socket at the server');
  });

  it('fails with ETIMEDOUT when the peer stops answering, after a bounded number of retransmissions in virtual time', async () => {
    const { net, a, b } = net2();
    let server: Socket | undefined;
    createServer(b, (s) => {
      server = s;
      s.resume();
    }).listen(10);
    const c = connect(a, { host: addr(b), port: 10 });
    c.on('error', () => {});
    await net.run(() => server !== undefined, 10_000);
    // The peer's TCP is gone (a firewall drops everything), but its ARP still answers: only the
    // retransmission limit can end the connection.
    const hear = net.ports[1].onReceive!;
    net.ports[1].onReceive = (f, now) => {
      if (f[12] === 0x08 && f[13] === 0x06) hear(f, now);
    };
    const t0 = net.now;
    let err: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (err = e));
    c.write('anyone there?');
    const done = await net.run(() => err !== undefined, t0 + 3_600_000);
    assert.ok(done, `ETIMEDOUT by an hour of virtual time: got none at ${net.now} ms`);
    eq(err?.code, 'ETIMEDOUT', 'err.code');
    // Linux defaults: 15 retransmissions, RTO from 200 ms doubling to a 60 s ceiling: about 15 minutes.
    const took = net.now - t0;
    assert.ok(took > 300_000 && took < 1_200_000, `time to ETIMEDOUT: got ${took} ms, want between 5 and 20 minutes`);
  });

  it('fails with EHOSTUNREACH when nobody answers ARP for the destination (as Linux reports it)', async () => {
    const { net, a } = net2();
    const c = connect(a, { host: '198.18.0.77', port: 80 });
    let err: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (err = e));
    await net.run(() => err !== undefined, 60_000);
    eq(err?.code, 'EHOSTUNREACH', 'err.code');
    assert.ok(net.now < 5_000, `gave up after ${net.now} ms, want about 3 s (3 ARP requests, 1 s apart)`);
    // The SYN and its retransmission 1 s later waited in the queue; both are dropped.
    eq(a.counters.txDrops['arp-resolution-failed'], 2, 'packets dropped for failed resolution');
  });

  it('fails an established connection with EHOSTUNREACH when the peer vanishes from the link (ARP probes fail)', async () => {
    const { net, a, b } = net2();
    let server: Socket | undefined;
    createServer(b, (s) => {
      server = s;
      s.resume();
    }).listen(10);
    const c = connect(a, { host: addr(b), port: 10 });
    await net.run(() => server !== undefined, 10_000);
    net.ports[1].onReceive = undefined;
    let err: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (err = e));
    c.write('anyone there?');
    await net.run(() => err !== undefined, 3_600_000);
    // Linux's tcp_write_err reports the soft error (sk_err_soft) left by the failed neighbour instead of ETIMEDOUT.
    eq(err?.code, 'EHOSTUNREACH', 'err.code');
  });

  it('gives the other side ECONNRESET when one side destroys the socket (RST)', async () => {
    const { net, a, b } = net2();
    let server: Socket | undefined;
    createServer(b, (s) => {
      server = s;
      s.resume();
    }).listen(11);
    const c = connect(a, { host: addr(b), port: 11 });
    c.resume();
    let err: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (err = e));
    await net.run(() => server !== undefined, 10_000);
    server!.destroy();
    await net.run(() => err !== undefined, 10_000);
    eq(err?.code, 'ECONNRESET', 'err.code');
    eq(c.destroyed, true, 'client destroyed');
    eq(a.tcpConnections + b.tcpConnections, 0, 'connections left');
  });

  it('applies backpressure: a reader that stops stalls the writer with bounded buffers, and reading again drains it', async () => {
    const buf = 64 * 1024;
    const tcp = { sendBufferSize: buf, recvBufferSize: buf };
    const { net, a, b } = net2([{ tcp }, { tcp }]);
    let server: Socket | undefined;
    createServer(b, (s) => {
      server = s;
      s.pause();
    }).listen(12);
    const c = connect(a, { host: addr(b), port: 12 });
    const data = payload(4 << 20, 9);
    const w = sendAll(c, data);
    await net.run(() => false, 5_000);
    const stalledAt = w.written();
    // Everything written is in a bounded place: the stream's buffer, our send buffer, the peer's
    // receive buffer and its readable stream (high-water marks of 16 KiB each).
    const inFlight = stalledAt - (server?.bytesRead ?? 0);
    assert.ok(stalledAt < 1 << 20, `writer stalled after ${stalledAt} bytes, want well under 1 MiB of 4 MiB`);
    assert.ok(inFlight <= 2 * buf + 4 * 64 * 1024, `bytes between the apps: got ${inFlight}, want at most the buffers`);
    eq(c.writableNeedDrain, true, 'writer waiting for drain');
    const got = collect(server!);
    server!.resume();
    const done = await net.run(() => got.ended(), 600_000);
    assert.ok(done, `transfer finished after the reader resumed: got ${got.bytes()} of ${data.length} bytes at ${net.now} ms`);
    eq(got.digest(), sha256(data), 'SHA-256 after the stall');
    assert.ok(w.drains() > 0, `drain events: got ${w.drains()}, want some`);
  });

  it('reports EADDRINUSE when a second server listens on the same port', async () => {
    const { net, b } = net2();
    createServer(b).listen(13);
    const second = createServer(b);
    let err: NodeJS.ErrnoException | undefined;
    second.on('error', (e: NodeJS.ErrnoException) => (err = e));
    second.listen(13);
    await net.run(() => err !== undefined, 1_000);
    eq(err?.code, 'EADDRINUSE', 'err.code');
  });

  it('closes a server: new connections are refused and close fires once the accepted ones are gone', async () => {
    const { net, a, b } = net2();
    let accepted = 0;
    const server = createServer(b, (s) => {
      accepted++;
      s.resume();
    }).listen(14);
    const c1 = connect(a, { host: addr(b), port: 14 });
    c1.resume();
    await net.run(() => accepted === 1, 10_000);
    let closed = false;
    server.close(() => (closed = true));
    const c2 = connect(a, { host: addr(b), port: 14 });
    let err: NodeJS.ErrnoException | undefined;
    c2.on('error', (e) => (err = e));
    await net.run(() => err !== undefined, 10_000);
    eq(err?.code, 'ECONNREFUSED', 'second connection after close');
    eq(closed, false, 'server closed while a connection is open');
    c1.end();
    await net.run(() => closed, 10_000);
    eq(closed, true, 'server closed after its last connection ended');
  });

  it("accepts Node's other call shapes: listen(port, host, cb) and connect(port, host, cb)", async () => {
    const { net, a, b } = net2();
    let listening = false;
    createServer(b, (s) => s.end('hi')).listen(15, '0.0.0.0', () => (listening = true));
    let connected = false;
    const c = connect(a, 15, addr(b), () => (connected = true));
    const got = collect(c);
    await net.run(() => got.ended(), 5_000);
    eq([listening, connected, got.text()], [true, true, 'hi'], 'listening, connected, data');
  });
});
