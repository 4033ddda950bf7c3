// test/engine/native: checks that need a namespace of their own (native.test.ts starts this script in
// one): `tap-batch` and `afpacket` in a private user + network namespace with full capabilities,
// `no-caps` in a user namespace whose process has none, `no-koffi` with koffi made unloadable.
// Prints ONE JSON line.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { AfPacketDevice } from '../../../engine/backends/afpacket';
import { waitForCarrier } from '../../../engine/backends/lab-topology';
import { afpacketFilter } from '../../../engine/backends/afpacket-filter';
import { RealtimeDriver, type WaitMode } from '../../../engine/backends/realtime';
import { TapDevice } from '../../../engine/backends/tap';
import { createServer, Ipv4Stack } from '../../../engine/stack/index';
import { parseRules } from '../../../engine/steer/rules';
import { SeededRng } from '../../../engine/tcp/rng';
import { libc, openTap, PacketSocket, Poller } from '../../../native/index';

function sh(script: string): void {
  const r = spawnSync('sh', ['-ec', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr}`);
}

const errorOf = (f: () => unknown): string => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
};

/** A flood from the kernel side of a TAP, read by the driver: no step reads more than its batch, every frame is read, one wait at a time. */
async function tapBatch(): Promise<unknown> {
  sh(`ip link set lo up
ip tuntap add dev bsn0 mode tap
echo 1 > /proc/sys/net/ipv6/conf/bsn0/disable_ipv6
ip addr add 198.18.0.1/24 dev bsn0
ip link set bsn0 up
ip neigh add 198.18.0.2 lladdr 02:00:00:00:00:02 dev bsn0`);
  const dev = TapDevice.open('bsn0');
  await waitForCarrier(undefined, 'bsn0');
  const driver = new RealtimeDriver({ batch: 16, mode: 'async' });
  let udp = 0;
  dev.onReceive = (f) => {
    if (f[23] === 17) udp++;
  };
  driver.addSource(dev);
  const sock = dgram.createSocket('udp4');
  const N = 300;
  await new Promise<void>((resolve) => sock.bind(0, '198.18.0.1', () => resolve()));
  let sent = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < N; i++) sock.send(Buffer.alloc(32, i), 9, '198.18.0.2', () => ++sent === N && resolve());
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const perStep: number[] = [];
  for (let i = 0; i < 100 && udp < N; i++) {
    const before = driver.counters.framesRead;
    driver.step();
    perStep.push(driver.counters.framesRead - before);
  }
  // Two waits asked for at once share the one epoll wait in flight.
  driver.step();
  const w1 = driver.waitForWork(driver.now + 50);
  const w2 = driver.waitForWork(driver.now + 50);
  await Promise.all([w1, w2]);
  const waits = driver.counters.waits;
  await driver.stop();
  dev.close();
  sock.close();
  return { counters: dev.counters, sent: N, udp, perStep: perStep.filter((n) => n > 0), maxPerStep: Math.max(...perStep), batch: 16, waits };
}

/** Our stack on an AF_PACKET socket on a veth whose peer is Linux in another namespace, behind the rules' cBPF. */
async function afpacket(): Promise<unknown> {
  const holder = spawn('unshare', ['-n', '--', 'sh', '-c', 'echo ready; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
  const peer = `nsenter --net=/proc/${holder.pid}/ns/net`;
  try {
    sh(`ip link set lo up
ip link add bsv0 type veth peer name bsv1
ip link set bsv1 netns ${holder.pid}
ip link set bsv0 up
${peer} sh -ec 'ip link set lo up; ip addr add 198.18.1.1/24 dev bsv1; ip link set bsv1 up'`);
    const rules = parseRules('bypass tcp port 7300\ndefault kernel\n');
    const address = 0xc6120102;
    await waitForCarrier(undefined, 'bsv0');
    const dev = new AfPacketDevice('bsv0', { filter: afpacketFilter(rules, address, [32768, 60999]), promiscuous: true });
    const driver = new RealtimeDriver();
    const stack = new Ipv4Stack(dev, { mac: new Uint8Array([2, 0, 0, 0, 1, 2]), address, prefixLength: 24, rng: new SeededRng(3) });
    let udpSeen = 0;
    const inner = dev.onReceive!;
    dev.onReceive = (f, now) => {
      if (f[23] === 17) udpSeen++;
      inner(f, now);
    };
    driver.addSource(dev);
    driver.add(stack);
    driver.start();
    const h = createHash('sha256');
    let got = 0;
    createServer(stack, (s) => {
      s.on('data', (d: Buffer) => {
        got += d.length;
        h.update(d);
        s.write(d);
      });
      s.on('end', () => s.end());
    }).listen(7300);
    const client = `const net = require('net'), crypto = require('crypto'); const dgram = require('dgram');
      const u = dgram.createSocket('udp4'); for (let i = 0; i < 50; i++) u.send(Buffer.alloc(20), 7301, '198.18.1.2');
      const data = crypto.randomBytes(1 << 20); const s = net.connect(7300, '198.18.1.2'); const h = crypto.createHash('sha256'); let n = 0;
      s.on('connect', () => s.end(data)); s.on('data', (d) => { n += d.length; h.update(d); });
      s.on('close', () => { console.log(JSON.stringify({ sent: crypto.createHash('sha256').update(data).digest('hex'), echoed: h.digest('hex'), n })); u.close(); });
      s.on('error', (e) => { console.error(e.message); process.exit(1); });`;
    // Not spawnSync: the driver must run (answer ARP, serve TCP) while the client does.
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      const c = spawn('nsenter', [`--net=/proc/${holder.pid}/ns/net`, process.execPath, '-e', client], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
      c.on('close', () => {
        clearTimeout(timer);
        resolve({ stdout, stderr });
      });
    });
    await driver.stop();
    const linux = JSON.parse(out.stdout.trim() || '{}') as { sent?: string; echoed?: string; n?: number };
    const r = { linux, received: h.digest('hex'), got, udpSeen, checksumsCompleted: dev.counters.checksumsCompleted, truncated: dev.counters.truncated, txDropped: dev.txDropped, stackTcpBadChecksum: stack.counters.rxDrops['tcp-bad-checksum'] ?? 0, err: out.stderr };
    dev.close();
    return r;
  } finally {
    holder.kill('SIGKILL');
  }
}

/** A TAP whose kernel side is 198.18.0.1 (the Linux host) and our stack at 198.18.0.2 behind it. */
function tapWithKernelSide(name: string): void {
  sh(`ip link set lo up
ip tuntap add dev ${name} mode tap
echo 1 > /proc/sys/net/ipv6/conf/${name}/disable_ipv6
ip addr add 198.18.0.1/24 dev ${name}
ip link set ${name} up`);
}

function patternOf(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * Our stack on a TAP with the virtio-net offloads and Linux's TCP behind it, both ways: Linux (Node's
 * net, on the kernel's sockets) sends 8 MiB to our server, which answers with 8 MiB of its own; both
 * SHA-256 digests, and the device's counts of GSO frames read, TSO frames written and partial checksums.
 */
async function tapOffload(): Promise<unknown> {
  tapWithKernelSide('bsn2');
  const dev = TapDevice.open('bsn2', { offloads: true });
  await waitForCarrier(undefined, 'bsn2');
  const driver = new RealtimeDriver();
  const stack = new Ipv4Stack(dev, { mac: new Uint8Array([2, 0, 0, 0, 0, 2]), address: 0xc6120002, prefixLength: 24, rng: new SeededRng(5), coalesceAcks: true });
  driver.addSource(dev);
  driver.add(stack);
  driver.start();
  const N = 8 << 20;
  const up = patternOf(N, 1);
  const down = patternOf(N, 2);
  const ours = createHash('sha256');
  let oursGot = 0;
  createServer(stack, (s) => {
    s.on('data', (d: Buffer) => {
      oursGot += d.length;
      ours.update(d);
    });
    s.on('end', () => s.end(down));
  }).listen(7400);
  const linux = createHash('sha256');
  let linuxGot = 0;
  const closed = await new Promise<boolean>((resolve) => {
    const c = net.connect(7400, '198.18.0.2', () => c.end(up));
    c.on('data', (d: Buffer) => {
      linuxGot += d.length;
      linux.update(d);
    });
    c.on('close', () => resolve(true));
    c.on('error', () => resolve(false));
    setTimeout(() => {
      c.destroy();
      resolve(false);
    }, 60_000);
  });
  await driver.stop();
  const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const r = {
    closed,
    upWant: hex(up),
    upGot: ours.digest('hex'),
    oursGot,
    downWant: hex(down),
    downGot: linux.digest('hex'),
    linuxGot,
    counters: dev.counters,
    tsoSegments: stack.counters.tsoSegments,
    badChecksum: stack.counters.rxDrops['tcp-bad-checksum'] ?? 0,
  };
  dev.close();
  return r;
}

/** Each way the driver waits (async, sync, poll, spin) serves an echo to Linux over a TAP; what each waited with. */
async function driverModes(): Promise<unknown> {
  tapWithKernelSide('bsn3');
  const out: Record<string, unknown> = {};
  for (const mode of ['async', 'sync', 'poll', 'spin'] as WaitMode[]) {
    const dev = TapDevice.open('bsn3');
    await waitForCarrier(undefined, 'bsn3');
    const driver = new RealtimeDriver({ mode });
    const stack = new Ipv4Stack(dev, { mac: new Uint8Array([2, 0, 0, 0, 0, 2]), address: 0xc6120002, prefixLength: 24, rng: new SeededRng(6), coalesceAcks: true });
    driver.addSource(dev);
    driver.add(stack);
    driver.start();
    const server = createServer(stack, (s) => {
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
    });
    server.listen(7401);
    const data = patternOf(256 * 1024, 3);
    const h = createHash('sha256');
    let n = 0;
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(7401, '198.18.0.2', () => c.end(data));
      c.on('data', (d: Buffer) => {
        n += d.length;
        h.update(d);
      });
      c.on('close', () => resolve(true));
      c.on('error', () => resolve(false));
      setTimeout(() => {
        c.destroy();
        resolve(false);
      }, 30_000);
    });
    // Idle past the park time: a sync, poll or spin driver then sleeps on the pool thread, and a frame wakes it.
    await new Promise((r) => setTimeout(r, driver.parkAfterMs + 50));
    // Not spawnSync: the driver must run (answer ARP and the echo request) while ping waits.
    const ping = await new Promise<{ status: number | null; out: string }>((resolve) => {
      const p = spawn('ping', ['-c', '1', '-W', '2', '198.18.0.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.stderr.on('data', (d: Buffer) => (text += d.toString()));
      p.on('error', (e) => resolve({ status: null, out: e.message }));
      p.on('close', (code) => resolve({ status: code, out: text }));
    });
    server.close();
    await driver.stop();
    dev.close();
    out[mode] = {
      closed: ok,
      echoed: n,
      want: data.length,
      match: h.digest('hex') === createHash('sha256').update(data).digest('hex'),
      pingAfterIdle: ping.status === 0 || /ENOENT/.test(ping.out) ? 'ok' : `failed: ${ping.out}`,
      counters: driver.counters,
    };
  }
  return out;
}

/** What the native layer says without capabilities. */
function noCaps(): unknown {
  return {
    createTap: errorOf(() => openTap('bsnocap0', { create: true })),
    attachMissing: errorOf(() => openTap('bsmissing0')),
    packetSocket: errorOf(() => new PacketSocket({ ifname: 'lo' })),
  };
}

/** What the native layer says when koffi cannot load, and that the rest of the engine does not care. */
async function noKoffi(): Promise<unknown> {
  const { CaptureSession } = await import('../../../engine/capture/session');
  const session = new CaptureSession({ rules: parseRules('default kernel\n'), scenario: 'ping' });
  const reason = await session.run({ durationMs: 2000, untilWorkloadsDone: true });
  return {
    error: errorOf(() => libc()),
    poller: errorOf(() => new Poller()),
    simRan: reason,
    simVerified: session.workloads.every((w) => w.verified),
  };
}

/**
 * Sparse traffic in sync mode: a lone frame is read by a full batch read (one frame, then EAGAIN);
 * the next lone frame by a one-frame read (the wait, not a failing read, says the queue is empty);
 * a flood that follows is read to the last frame, no step past the batch.
 */
async function tapSparse(): Promise<unknown> {
  sh(`ip link set lo up
ip tuntap add dev bsn2 mode tap
echo 1 > /proc/sys/net/ipv6/conf/bsn2/disable_ipv6
ip addr add 198.18.0.1/24 dev bsn2
ip link set bsn2 up
ip neigh add 198.18.0.2 lladdr 02:00:00:00:00:02 dev bsn2`);
  const dev = TapDevice.open('bsn2');
  await waitForCarrier(undefined, 'bsn2');
  const driver = new RealtimeDriver({ batch: 16, mode: 'sync' });
  let udp = 0;
  dev.onReceive = (f) => {
    if (f[23] === 17) udp++;
  };
  driver.addSource(dev);
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '198.18.0.1', () => resolve()));
  const send = (n: number): Promise<void> =>
    new Promise<void>((resolve) => {
      let sent = 0;
      for (let i = 0; i < n; i++) sock.send(Buffer.alloc(32, i), 9, '198.18.0.2', () => ++sent === n && resolve());
    });
  const settle = (): Promise<unknown> => new Promise((r) => setTimeout(r, 100));
  // Frames the kernel sends unasked (none with IPv6 off and the neighbour set) would only add reads.
  const lone: { udp: number; sparseReads: number }[] = [];
  for (let k = 0; k < 2; k++) {
    await send(1);
    await settle();
    for (let i = 0; i < 5 && udp < k + 1; i++) driver.step();
    lone.push({ udp, sparseReads: driver.counters.sparseReads });
  }
  const N = 200;
  await send(N);
  await settle();
  const perStep: number[] = [];
  for (let i = 0; i < 2 * N && udp < N + 2; i++) {
    const before = driver.counters.framesRead;
    driver.step();
    perStep.push(driver.counters.framesRead - before);
  }
  await driver.stop();
  dev.close();
  sock.close();
  return { lone, udp, want: N + 2, maxPerStep: Math.max(...perStep), batch: 16, counters: driver.counters };
}

const CASES: Record<string, () => unknown> = { 'tap-sparse': tapSparse, 'tap-batch': tapBatch, 'tap-offload': tapOffload, 'driver-modes': driverModes, afpacket, 'no-caps': noCaps, 'no-koffi': noKoffi };

async function main(): Promise<void> {
  const name = process.argv[2];
  const fn = CASES[name];
  if (fn === undefined) throw new Error(`unknown case '${name}'`);
  process.stdout.write(`${JSON.stringify({ result: await fn() })}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) })}\n`);
  process.exit(1);
});
