// test/interop: the lab cases, run INSIDE a private network namespace (lab-support.ts starts this
// script under `unshare`): each builds the lab (engine/backends/lab.ts), runs one case against real
// Linux programs in the peer namespace, prints ONE JSON line with what it saw, and tears down.
//   node --import tsx test/interop/lab-cases.ts CASE '{"json":"args"}'
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Lab } from '../../engine/backends/lab';
import type { Impairments } from '../../engine/backends/impair';
import { CaptureSession, HOST_ADDRESS, HOST_MAC, PEER_ADDRESS, PEER_MAC } from '../../engine/capture/session';
import type { PacketTrace } from '../../engine/capture/nic';
import { PacketFlag } from '../../engine/trace/schema';
import { extractFlowKey, KEY_WORDS } from '../../engine/steer/flow-key';
import { parseRules } from '../../engine/steer/rules';
import { dissect } from '../../engine/wire/dissect';
import { summarize } from '../../engine/wire/summary';

type Args = Record<string, unknown>;

// ───────────────────────── data ─────────────────────────

/** A deterministic byte stream (AES-128-CTR of zeros under a key from `seed`), made in chunks. */
export function byteStream(seed: number): (n: number) => Buffer {
  const key = createHash('sha256').update(`lab-stream-${seed}`).digest().subarray(0, 16);
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return (n) => c.update(Buffer.alloc(n));
}

/** Writes `bytes` of stream `seed` with backpressure, then ends; resolves with the SHA-256 of what was written. */
function sendStream(s: Duplex, bytes: number, seed: number): Promise<string> {
  const next = byteStream(seed);
  const h = createHash('sha256');
  let sent = 0;
  return new Promise((resolve, reject) => {
    s.on('error', reject);
    const pump = (): void => {
      while (sent < bytes) {
        const chunk = next(Math.min(256 * 1024, bytes - sent));
        sent += chunk.length;
        h.update(chunk);
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
      resolve(h.digest('hex'));
    };
    pump();
  });
}

/** Reads until EOF; resolves with the byte count and SHA-256. */
function receiveStream(s: Duplex): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    s.on('end', () => resolve({ bytes, sha: h.digest('hex') }));
    s.on('error', reject);
  });
}

/** The same helpers as a script for a Linux-side Node process in the peer namespace. */
const PEER_PRELUDE = `
const net = require('net'), crypto = require('crypto');
function stream(seed) { const key = crypto.createHash('sha256').update('lab-stream-' + seed).digest().subarray(0, 16);
  const c = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16)); return (n) => c.update(Buffer.alloc(n)); }
function send(s, bytes, seed, done) { const next = stream(seed), h = crypto.createHash('sha256'); let sent = 0;
  const pump = () => { while (sent < bytes) { const c = next(Math.min(262144, bytes - sent)); sent += c.length; h.update(c);
    if (!s.write(c)) return void s.once('drain', pump); } s.end(); done(h.digest('hex')); }; pump(); }
function receive(s, done) { const h = crypto.createHash('sha256'); let bytes = 0;
  s.on('data', (d) => { bytes += d.length; h.update(d); }); s.on('end', () => done(bytes, h.digest('hex'))); }
`;

// ───────────────────────── the lab ─────────────────────────

interface Running {
  readonly lab: Lab;
  readonly session: CaptureSession;
  readonly packets: PacketTrace[];
  stop(): Promise<void>;
  peer(code: string, args?: readonly string[]): ChildProcess;
  peerRun(program: string, args: readonly string[], timeoutMs?: number): Promise<{ code: number | null; out: string; err: string }>;
}

async function openLab(
  rules: string,
  options: { impairments?: Impairments; keepFrames?: (p: PacketTrace) => boolean; traceLevel?: 'off' | 'summary' | 'full'; seed?: number; offloads?: boolean } = {},
): Promise<Running> {
  const lab = await Lab.create({ hostAddress: HOST_ADDRESS, peerAddress: PEER_ADDRESS, prefixLength: 24, hostMac: HOST_MAC, peerMac: PEER_MAC, offloads: options.offloads });
  const set = parseRules(rules);
  if (!set.ok) throw new Error(`rules: ${set.diagnostics.map((d) => d.message).join('; ')}`);
  const session = new CaptureSession({
    backend: lab.backend(),
    kernel: lab.kernel(),
    rules: set,
    scenario: 'idle',
    traceLevel: options.traceLevel ?? 'off',
    impairments: options.impairments,
    seed: options.seed ?? 1,
  });
  const packets: PacketTrace[] = [];
  if (options.keepFrames !== undefined) {
    const keep = options.keepFrames;
    session.onPacket.push((p) => {
      if (!keep(p)) return;
      const c = Object.assign(Object.create(Object.getPrototypeOf(p)) as PacketTrace, p);
      (c as { frame: Uint8Array }).frame = p.frame.slice();
      packets.push(c);
    });
  }
  const run = session.run({});
  const children = new Set<ChildProcess>();
  const peer = (code: string, args: readonly string[] = []): ChildProcess => {
    const [cmd, argv] = lab.topology.peerCommand(process.execPath, ['-e', PEER_PRELUDE + code, ...args]);
    const child = spawn(cmd, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const peerRun = (program: string, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string; err: string }> => {
    const [cmd, argv] = lab.topology.peerCommand(program, args);
    const child = spawn(cmd, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    return collect(child, timeoutMs).finally(() => children.delete(child));
  };
  return {
    lab,
    session,
    packets,
    peer,
    peerRun,
    async stop() {
      for (const c of children) c.kill('SIGKILL');
      session.stop();
      await run;
      session.close();
      await lab.close();
    },
  };
}

function collect(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      err += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Waits for a line on a child's stdout (a Linux server saying it listens). */
function lineFrom(child: ChildProcess, want: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no '${want}' from the peer within ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(want)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms))]);
}

function impairmentsOf(a: Args): Impairments | undefined {
  const loss = Number(a.loss ?? 0);
  const reorder = Number(a.reorder ?? 0);
  if (loss === 0 && reorder === 0) return undefined;
  return { loss, reorder, reorderGapMs: 1 };
}

// ───────────────────────── cases ─────────────────────────

/** Linux (Node's net in the peer namespace) sends `bytes` of the seeded pattern to 198.18.0.2:`port`; its SHA-256 and how it exited. */
async function linuxSends(lab: Awaited<ReturnType<typeof openLab>>, port: number, bytes: number, seed: number): Promise<{ sent?: string; r: Awaited<ReturnType<Awaited<ReturnType<typeof openLab>>['peerRun']>> }> {
  const r = await lab.peerRun(process.execPath, ['-e', `${PEER_PRELUDE}
    const s = net.connect(${port}, '198.18.0.2'); let sent;
    s.on('connect', () => send(s, ${bytes}, ${seed}, (h) => (sent = h)));
    s.on('data', () => {}); s.on('close', () => console.log(JSON.stringify({ sent })));
    s.on('error', (e) => { console.error(e.message); process.exit(1); });`]);
  const said = JSON.parse(r.out.trim().split('\n').pop() || '{}') as { sent?: string };
  return { sent: said.sent, r };
}

/** Bulk transfer with SHA-256 both ends; `mode` says who is the Linux side and which way the data goes. */
async function bulk(a: Args): Promise<unknown> {
  const bytes = Number(a.bytes ?? 64 * 1024 * 1024);
  const mode = String(a.mode);
  const seed = 7;
  const lab = await openLab('bypass tcp port 5201 or tcp port 8080\ndefault kernel\n', { impairments: impairmentsOf(a), offloads: typeof a.offloads === 'boolean' ? a.offloads : undefined });
  // What the trace records: how many frames were flagged OFFLOAD, and the largest one.
  const trace = { offloadRecords: 0, largestFrame: 0 };
  lab.session.onPacket.push((p) => {
    if (p.flags & PacketFlag.OFFLOAD) trace.offloadRecords++;
    if (p.frame.length > trace.largestFrame) trace.largestFrame = p.frame.length;
  });
  const t0 = performance.now();
  try {
    const bypass = lab.session.host('bypass');
    const result = await withTimeout(
      (async () => {
        switch (mode) {
          case 'node-upload': {
            // Linux (Node's net in the peer namespace) → a server on the bypass stack.
            let got: Promise<{ bytes: number; sha: string }> | undefined;
            const srv = bypass.net.createServer((s) => {
              got = receiveStream(s);
            });
            srv.listen(5201);
            const { sent, r } = await linuxSends(lab, 5201, bytes, seed);
            const server = got === undefined ? undefined : await got;
            return { linuxSent: sent, bypassReceived: server?.sha, bypassBytes: server?.bytes, peerExit: r.code, peerErr: r.err.slice(0, 500) };
          }
          case 'curl-download': {
            // A bypass-stack HTTP server → curl in the peer namespace, hashed by sha256sum there.
            let sent: Promise<string> | undefined;
            const srv = bypass.net.createServer((s) => {
              let head = '';
              s.on('data', (d: Buffer) => {
                head += d.toString('latin1');
                if (sent === undefined && head.includes('\r\n\r\n')) {
                  s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n`);
                  sent = sendStream(s, bytes, seed);
                }
              });
            });
            srv.listen(8080);
            const r = await lab.peerRun('sh', ['-c', 'curl -sS --max-time 120 http://198.18.0.2:8080/blob | sha256sum']);
            return { bypassSent: sent === undefined ? undefined : await sent, curlReceived: r.out.trim().split(/\s+/)[0], peerExit: r.code, peerErr: r.err.slice(0, 500) };
          }
          case 'bypass-upload': {
            // A bypass-stack client → a Linux server (Node's net in the peer namespace).
            const server = lab.peer(`const srv = net.createServer((s) => receive(s, (bytes, sha) => { s.end(JSON.stringify({ bytes, sha })); srv.close(); }));
              srv.listen(5201, '198.18.0.1', () => console.log('listening'));`);
            const exited = collect(server, 120_000);
            await lineFrom(server, 'listening');
            const s = bypass.net.connect({ host: '198.18.0.1', port: 5201 });
            let reply = '';
            s.on('data', (d: Buffer) => (reply += d.toString()));
            const ended = new Promise<void>((resolve) => s.on('end', () => resolve()));
            const sent = await sendStream(s, bytes, seed);
            await ended;
            const linux = JSON.parse(reply || '{}') as { bytes?: number; sha?: string };
            await exited;
            return { bypassSent: sent, linuxReceived: linux.sha, linuxBytes: linux.bytes };
          }
          case 'bypass-download': {
            // A Linux server sends; a bypass-stack client hashes what arrives.
            const server = lab.peer(`const srv = net.createServer((s) => send(s, ${bytes}, ${seed}, (sha) => { console.log('sent ' + sha); srv.close(); }));
              srv.listen(5201, '198.18.0.1', () => console.log('listening'));`);
            const exited = collect(server, 120_000);
            await lineFrom(server, 'listening');
            const s = bypass.net.connect({ host: '198.18.0.1', port: 5201 });
            const got = await receiveStream(s);
            const out = await exited;
            return { linuxSent: /sent ([0-9a-f]{64})/.exec(out.out)?.[1], bypassReceived: got.sha, bypassBytes: got.bytes };
          }
          case 'kernel-upload': {
            // Linux in the peer namespace → a server on the host's kernel (the kernel path, port 5202 by the default rule).
            let got: Promise<{ bytes: number; sha: string }> | undefined;
            const srv = lab.session.host('kernel').net.createServer((s) => {
              got = receiveStream(s);
            });
            srv.listen(5202);
            await new Promise((r) => setTimeout(r, 200));
            const { sent, r } = await linuxSends(lab, 5202, bytes, seed);
            const server = got === undefined ? undefined : await got;
            srv.close();
            return { linuxSent: sent, kernelReceived: server?.sha, kernelBytes: server?.bytes, peerExit: r.code, peerErr: r.err.slice(0, 500) };
          }
          default:
            throw new Error(`unknown bulk mode ${mode}`);
        }
      })(),
      Number(a.timeoutMs ?? 150_000),
      `bulk ${mode}`,
    );
    const ms = performance.now() - t0;
    const im = lab.session.impaired?.counters;
    const taps = { wire: lab.lab.topology.wire.counters, host: lab.lab.topology.host.counters };
    return { ...result, bytes, ms: Math.round(ms), mbps: Math.round(((bytes * 8) / (ms * 1000)) * 10) / 10, impaired: im, bypassConnectionsLeft: lab.session.bypass!.tcpConnections, trace, taps };
  } finally {
    await lab.stop();
  }
}

/** Option kinds of a TCP segment in order (NOPs included: their places are part of a stack's layout), and its window. */
function tcpShape(f: Uint8Array): { window: number; options: number[]; flags: number; sport: number; dport: number } | undefined {
  if (f.length < 54 || f[12] !== 8 || f[13] !== 0 || f[23] !== 6) return undefined;
  const l4 = 14 + (f[14] & 15) * 4;
  const doff = (f[l4 + 12] >> 4) * 4;
  const options: number[] = [];
  for (let i = l4 + 20; i < l4 + doff && i < f.length; ) {
    const k = f[i];
    options.push(k);
    if (k === 0) break;
    i += k === 1 ? 1 : Math.max(2, f[i + 1]);
  }
  return { window: (f[l4 + 14] << 8) | f[l4 + 15], options, flags: f[l4 + 13], sport: (f[l4] << 8) | f[l4 + 1], dport: (f[l4 + 2] << 8) | f[l4 + 3] };
}

/** Which stack answers which flow, seen on the wire, and whether any RST went out on a bypass flow. */
async function steering(): Promise<unknown> {
  const isTcp = (p: PacketTrace) => tcpShape(p.frame) !== undefined;
  const lab = await openLab('bypass tcp port 7001\ndefault kernel\n', { keepFrames: isTcp, traceLevel: 'summary' });
  try {
    const echoOn = (net: { createServer: (f: (s: Duplex) => void) => { listen(p: number): unknown } }, port: number) =>
      net.createServer((s) => {
        s.on('data', (d: Buffer) => s.write(d));
        s.on('end', () => s.end());
      }).listen(port);
    echoOn(lab.session.host('bypass').net, 7001);
    echoOn(lab.session.host('kernel').net, 7002);
    // A Linux server in the peer namespace: its SYN-ACK is what Linux's looks like here.
    const control = lab.peer(`net.createServer((s) => { s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); }).listen(7003, '198.18.0.1', () => console.log('listening'));`);
    await lineFrom(control, 'listening');
    const kernelClient = lab.session.host('kernel').net.connect({ host: '198.18.0.1', port: 7003 });
    const controlEcho = await new Promise<string>((resolve, reject) => {
      let got = '';
      kernelClient.on('connect', () => kernelClient.end('control'));
      kernelClient.on('data', (d: Buffer) => (got += d.toString()));
      kernelClient.on('end', () => resolve(got));
      kernelClient.on('error', reject);
    });
    // Linux clients in the peer namespace: 20 connections to each path, each echoing a message.
    const r = await lab.peerRun(process.execPath, ['-e', `${PEER_PRELUDE}
      let left = 40, ok = { 7001: 0, 7002: 0 };
      for (let i = 0; i < 40; i++) { const port = i % 2 ? 7002 : 7001; const s = net.connect(port, '198.18.0.2'); let got = '';
        s.on('connect', () => s.end('hello ' + i)); s.on('data', (d) => (got += d));
        s.on('close', () => { if (got === 'hello ' + i) ok[port]++; if (--left === 0) console.log(JSON.stringify(ok)); });
        s.on('error', (e) => console.error(port, e.message)); }`]);
    control.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const shapes = lab.packets.map((p) => ({ p, t: tcpShape(p.frame)! }));
    const synAck = (port: number, dir: 'rx' | 'tx') => shapes.find((x) => x.p.direction === dir && (x.t.flags & 0x12) === 0x12 && x.t.sport === port);
    const describe = (x: ReturnType<typeof synAck>) => (x === undefined ? undefined : { path: x.p.path, lastPath: x.p.lastPath, window: x.t.window, options: x.t.options });
    const rsts = shapes.filter((x) => x.p.direction === 'tx' && x.t.flags & 0x04 && x.t.sport === 7001);
    const rstsOnBypassFlows = rsts.filter((x) => x.p.path === 'kernel' || x.p.lastPath === 'kernel').length;
    // The bypass stack's own resets (RFC 9293 §3.10.7.1: a segment for a connection it no longer has), with the flow's story.
    const bypassResets = rsts
      .filter((x) => x.p.path === 'bypass')
      .map((x) => shapes.filter((y) => y.t.sport + y.t.dport === x.t.sport + x.t.dport && (y.t.sport === x.t.dport || y.t.dport === x.t.dport)).map((y) => `${y.p.direction}:${y.t.flags.toString(16)}`).join(' '));
    const rstsOnWire = shapes.filter((x) => x.t.flags & 0x04).length;
    return {
      echoed: JSON.parse(r.out.trim() || '{}'),
      peerErr: r.err.slice(0, 500),
      controlEcho,
      bypassSynAck: describe(synAck(7001, 'tx')),
      kernelSynAck: describe(synAck(7002, 'tx')),
      linuxPeerSynAck: describe(synAck(7003, 'rx')),
      rstsOnBypassFlows,
      rstsOnWire,
      bypassResets,
      kernelSawBypassFlow: shapes.filter((x) => (x.p.path === 'kernel' || x.p.lastPath === 'kernel') && (x.t.sport === 7001 || x.t.dport === 7001)).length,
      kernelSawWhat: shapes.filter((x) => (x.p.path === 'kernel' || x.p.lastPath === 'kernel') && (x.t.sport === 7001 || x.t.dport === 7001)).map((x) => `${x.p.direction} ${x.p.path}/${x.p.lastPath} rule ${x.p.rule} ${x.t.sport}>${x.t.dport} flags ${x.t.flags.toString(16)}`),
      kernelPathTx: shapes.filter((x) => x.p.direction === 'tx' && x.t.sport === 7002).map((x) => x.p.path).filter((v, i, a) => a.indexOf(v) === i),
      bypassPathTx: shapes.filter((x) => x.p.direction === 'tx' && x.t.sport === 7001).map((x) => x.p.path).filter((v, i, a) => a.indexOf(v) === i),
    };
  } finally {
    await lab.stop();
  }
}

/** Ping and ARP to the shared address: answered by the kernel under the default rule, by the bypass stack under `bypass icmp`. */
async function pingArp(): Promise<unknown> {
  const isIcmpReply = (p: PacketTrace) => p.direction === 'tx' && p.frame.length >= 35 && p.frame[23] === 1 && p.frame[34] === 0;
  const isArpReply = (p: PacketTrace) => p.direction === 'tx' && p.frame.length >= 42 && p.frame[12] === 8 && p.frame[13] === 6 && p.frame[21] === 2;
  const lab = await openLab('default kernel\n', { keepFrames: (p) => isIcmpReply(p) || isArpReply(p), traceLevel: 'summary' });
  try {
    const kernel = await lab.peerRun('ping', ['-n', '-c', '5', '-i', '0.2', '-W', '2', '198.18.0.2']);
    const neigh = await lab.peerRun('ip', ['neigh', 'show', '198.18.0.2']);
    const kernelReplies = lab.packets.filter(isIcmpReply).map((p) => p.path);
    const arpReplies = lab.packets.filter(isArpReply).map((p) => p.path);
    const reload = lab.session.reloadRules('bypass icmp\ndefault kernel\n');
    lab.packets.length = 0;
    const bypass = await lab.peerRun('ping', ['-n', '-c', '5', '-i', '0.2', '-W', '2', '198.18.0.2']);
    const bypassReplies = lab.packets.filter(isIcmpReply).map((p) => p.path);
    const received = (out: string) => Number(/(\d+) received/.exec(out)?.[1] ?? -1);
    return {
      kernelPing: received(kernel.out),
      kernelReplies,
      arpReplies,
      neighbour: neigh.out.trim(),
      reloaded: reload.applied,
      bypassPing: received(bypass.out),
      bypassReplies,
    };
  } finally {
    await lab.stop();
  }
}

/** N concurrent connections opened, used and closed, both ways; then what is left in the stack and the flow table. */
async function connections(a: Args): Promise<unknown> {
  const n = Number(a.count ?? 1000);
  const lab = await openLab('bypass tcp port 7100 or tcp port 7101\ndefault kernel\n');
  // One SYN of each connection: after the run, its flow must be gone from the table.
  const synOf = new Map<number, Uint8Array>();
  lab.session.onPacket.push((p) => {
    const t = tcpShape(p.frame);
    if (t !== undefined && t.flags & 0x02 && !synOf.has(p.flowId)) synOf.set(p.flowId, p.frame.slice());
  });
  const leftovers = (): { summary: string; closeState: unknown }[] => {
    const key = new Uint32Array(KEY_WORDS);
    const info = { kind: 0, forward: true, tcpFlags: 0, opens: true };
    const left = [];
    for (const f of synOf.values()) {
      if (!extractFlowKey(f, key, info as never)) continue;
      const slot = lab.session.steering.flows.find(key);
      if (slot >= 0) left.push({ summary: summarize(dissect(f), f.length), closeState: lab.session.steering.flows.closeState(slot, lab.session.now) });
    }
    return left;
  };
  const tcpFlowsLeft = (): number => leftovers().length;
  try {
    const s = lab.session;
    const flowsBefore = s.steering.flows.size;
    const t0 = performance.now();
    let accepted = 0;
    let peakServer = 0;
    s.host('bypass').net.createServer((c) => {
      accepted++;
      peakServer = Math.max(peakServer, s.bypass!.tcpConnections);
      c.on('data', (d: Buffer) => c.write(d));
      c.on('end', () => c.end());
    }).listen(7100);
    // Linux opens all N, waits for every one to be established and echo, then closes them all.
    const linuxClients = await lab.peerRun(process.execPath, ['-e', `${PEER_PRELUDE}
      const n = ${n}; const socks = []; let echoed = 0, closed = 0, errors = 0;
      for (let i = 0; i < n; i++) { const c = net.connect(7100, '198.18.0.2'); socks.push(c);
        c.on('error', (e) => { errors++; if (errors < 5) console.error(e.message); });
        c.on('connect', () => c.write('ping ' + i));
        c.on('data', () => { if (++echoed === n) for (const x of socks) x.end(); });
        c.on('close', () => { if (++closed === n) console.log(JSON.stringify({ echoed, errors })); }); }`], 90_000);
    const afterLinux = { stackConnections: s.bypass!.tcpConnections, accepted, peakServer, ms: Math.round(performance.now() - t0) };
    // The bypass stack opens N to a Linux server, which echoes and closes each (so no TIME-WAIT is ours).
    const server = lab.peer(`let n = 0; const srv = net.createServer((c) => { c.on('data', (d) => c.end(d)); });
      srv.listen({ port: 7101, host: '198.18.0.1', backlog: 2048 }, () => console.log('listening'));`);
    await lineFrom(server, 'listening');
    let established = 0;
    let echoed = 0;
    let closed = 0;
    let errors = 0;
    let peakClient = 0;
    const done = new Promise<void>((resolve) => {
      for (let i = 0; i < n; i++) {
        const c = s.host('bypass').net.connect({ host: '198.18.0.1', port: 7101 });
        c.on('connect', () => {
          established++;
          peakClient = Math.max(peakClient, s.bypass!.tcpConnections);
          c.write(`hello ${i}`);
        });
        c.on('data', () => echoed++);
        c.on('error', () => errors++);
        c.on('close', () => {
          if (++closed === n) resolve();
        });
      }
    });
    await withTimeout(done, 90_000, 'bypass clients');
    const clientsMs = Math.round(performance.now() - t0);
    server.kill('SIGKILL');
    // Closed flows linger 1 s in the flow table (for the last ACKs), then the sweep forgets them;
    // the last FINs and ACKs may still be on their way: look for up to 5 s.
    for (let waited = 0; waited < 5000; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      s.steering.poll(s.now, 1 << 20);
      if (waited >= 1000 && tcpFlowsLeft() === 0 && s.bypass!.tcpConnections === 0) break;
    }
    return {
      linux: JSON.parse(linuxClients.out.trim().split('\n').pop() || '{}'),
      linuxErr: linuxClients.err.slice(0, 300),
      afterLinux,
      bypassClients: { established, echoed, errors, peakClient, ms: clientsMs },
      connectionFlows: synOf.size,
      tcpFlowsLeft: tcpFlowsLeft(),
      // What the flow table saw of the leftovers' close, so a failure says where the close stalled.
      leftovers: leftovers().slice(0, 8),
      stackConnections: s.bypass!.tcpConnections,
      flowsBefore,
      flowsAfter: s.steering.flows.size,
      flowCounters: s.steering.flows.counters,
    };
  } finally {
    await lab.stop();
  }
}

/** Every scenario of engine/workloads in the lab, with Linux programs as the peers. */
async function scenario(a: Args): Promise<unknown> {
  const { findScenario } = await import('../../engine/workloads/mixed');
  const { readFileSync } = await import('node:fs');
  const lab = await Lab.create({ hostAddress: HOST_ADDRESS, peerAddress: PEER_ADDRESS, prefixLength: 24, hostMac: HOST_MAC, peerMac: PEER_MAC });
  try {
    const session = new CaptureSession({
      backend: lab.backend(),
      kernel: lab.kernel(),
      rules: parseRules(readFileSync(new URL('../../examples/routing.bypass', import.meta.url), 'utf8')),
      scenario: findScenario(String(a.name))!,
      traceLevel: 'full',
    });
    const paths: Record<string, number> = {};
    const kinds: Record<string, number> = {};
    session.onPacket.push((p) => {
      paths[p.path] = (paths[p.path] ?? 0) + 1;
      for (let i = 0; i < p.hopCount; i++) if (p.layers[i].startsWith('kernel.')) kinds[`${p.layers[i]}:${p.kinds[i]}`] = (kinds[`${p.layers[i]}:${p.kinds[i]}`] ?? 0) + 1;
    });
    const reason = await session.run({ durationMs: 20_000, untilWorkloadsDone: true });
    session.close();
    return { reason, workloads: session.workloads.map((w) => ({ name: w.name, done: w.done, verified: w.verified, summary: w.summary() })), paths, kernelHops: kinds };
  } finally {
    await lab.close();
  }
}

const CASES: Record<string, (a: Args) => Promise<unknown>> = { bulk, steering, 'ping-arp': pingArp, connections, scenario };

async function main(): Promise<void> {
  const [name, json] = process.argv.slice(2);
  const fn = CASES[name];
  if (fn === undefined) throw new Error(`unknown case '${name}' (${Object.keys(CASES).join(', ')})`);
  const result = await fn(json === undefined ? {} : (JSON.parse(json) as Args));
  process.stdout.write(`${JSON.stringify({ case: name, result })}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) })}\n`);
  process.exit(1);
});
