// bench/steer: steering a 1M-packet capture by rule files of 10, 1,000 and 10,000 rules — the
// classifier alone, the real per-packet path (flow key, flow-table pin, counters), its hit and
// new-flow halves — beside tcpdump filtering the same file with one comparable expression, and the
// flow table's lookups and churn. Prints one JSON line.
//
// Run: node --import tsx bench/steer.bench.ts   (BENCH_STEER_PACKETS, BENCH_STEER_SECONDS to change)
// Targets: ≥ 5M packets/s classifying with 1,000 rules; at least tcpdump's rate on one expression.
//
// How frames are fed: as a backend hands them over, freshly read into a 1 MiB receive buffer
// (each chunk of the file is copied in, then its frames are steered from there), so that a frame
// is in cache when it is steered — as it is in the engine after read()/recvmmsg, and in tcpdump,
// which reads the file into its buffer before filtering. `*_cold_pps` runs the same code over the
// whole capture held in memory instead (463 MB: every frame's first byte is a cache miss), the
// worst case. Rates are packets per CPU second of this process (user + system), the median over
// passes, because the machine is shared; `wall_*` are the same passes by the clock. tcpdump is
// timed the same way, from its own CPU time (bash's `times`) and by the clock.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { compileBpf } from '../engine/steer/bpf';
import { KEY_WORDS, extractFlowKey, FlowKind, type KeyInfo } from '../engine/steer/flow-key';
import { FlowTable } from '../engine/steer/flow-table';
import { bpfToMatcher, createClassifier } from '../engine/steer/matcher';
import { parseFilter } from '../engine/steer/parser';
import { classifierFor, parseRules, type RuleSet } from '../engine/steer/rules';
import { Steering, SteeringBatch } from '../engine/steer/steering';
import { createCaptureWriter } from '../engine/trace/capture-file';
import { ethernet, icmp, ip4, ipv4, tcp4Frame, tcp6Frame, udp, ip6, ipv6, udp4Frame } from '../test/support/packet-builder';

const root = join(__dirname, '..');
const PACKETS = Number(process.env.BENCH_STEER_PACKETS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_STEER_SECONDS ?? 1.5);
const dataDir = join(root, 'bench', '.data');
const file = join(dataDir, `steer-${PACKETS}.pcap`);
const log = (s: string) => process.stderr.write(`steer bench: ${s}\n`);

// ---- the address plan shared by traffic and rules

const server = (k: number) => `198.18.${(k >> 8) & 15}.${k & 255}`;
const client = (c: number) => `10.${(c >> 16) & 255}.${(c >> 8) & 255}.${c & 255}`;
const server6 = (k: number) => `2001:db8:${(k & 255).toString(16)}::${(k + 1).toString(16)}`;
const SERVICES = 10_000;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- the capture

interface FlowSpec {
  kind: 'tcp4' | 'udp4' | 'tcp6' | 'udp6' | 'icmp' | 'arp' | 'vlan';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  left: number;
  sent: number;
}

function newFlow(r: () => number): FlowSpec {
  const x = r();
  const k = Math.floor(r() * SERVICES);
  const c = Math.floor(r() * 1_000_000);
  const eph = 32768 + Math.floor(r() * 28000);
  const randomPort = 1 + Math.floor(r() * 65534);
  const ruled = r() < 0.6;
  const left = 2 + Math.floor(r() * r() * 40);
  const base = { sport: eph, left, sent: 0 };
  if (x < 0.62) return { kind: 'tcp4', src: client(c), dst: ruled ? server(k % 4096) : server(Math.floor(r() * 4096)), dport: ruled ? 10_000 + k : randomPort, ...base };
  if (x < 0.8) return { kind: 'udp4', src: client(c), dst: server(Math.floor(r() * 4096)), dport: ruled ? 20_000 + k : randomPort, ...base };
  if (x < 0.85) return { kind: 'tcp6', src: `2001:db8:ffff::${(c & 0xffff).toString(16)}`, dst: server6(k), dport: ruled ? 30_000 + (k % 5000) : randomPort, ...base };
  if (x < 0.89) return { kind: 'udp6', src: `2001:db8:ffff::${(c & 0xffff).toString(16)}`, dst: server6(k), dport: ruled ? 30_000 + (k % 5000) : randomPort, ...base };
  if (x < 0.93) return { kind: 'icmp', src: client(c), dst: server(k % 4096), dport: 0, ...base, left: 2 + (left & 7) };
  if (x < 0.96) return { kind: 'arp', src: client(c), dst: server(k % 4096), dport: 0, ...base, left: 2 };
  return { kind: 'vlan', src: client(c), dst: server(k % 4096), dport: 10_000 + k, ...base };
}

function flowPacket(f: FlowSpec, r: () => number): Uint8Array {
  const reply = f.sent % 2 === 1;
  const first = f.sent === 0;
  const last = f.left === 1;
  const payload = new Uint8Array(r() < 0.3 ? 1200 + Math.floor(r() * 248) : Math.floor(r() * 120));
  switch (f.kind) {
    case 'tcp4':
    case 'vlan': {
      const flags = first ? 0x02 : last ? (r() < 0.2 ? 0x04 : 0x11) : 0x18;
      const seg = { srcPort: reply ? f.dport : f.sport, dstPort: reply ? f.sport : f.dport, seq: f.sent * 1000, ack: 1, flags, window: 501, payload: first ? new Uint8Array(0) : payload };
      const eth = f.kind === 'vlan' ? { vlans: [{ tpid: 0x8100, pcp: 0, dei: false, vid: 100 + (f.sport & 15) }] } : {};
      return tcp4Frame(reply ? f.dst : f.src, reply ? f.src : f.dst, seg, eth);
    }
    case 'udp4':
      return udp4Frame(reply ? f.dst : f.src, reply ? f.src : f.dst, reply ? f.dport : f.sport, reply ? f.sport : f.dport, payload);
    case 'tcp6': {
      const flags = first ? 0x02 : last ? 0x11 : 0x18;
      return tcp6Frame(reply ? f.dst : f.src, reply ? f.src : f.dst, { srcPort: reply ? f.dport : f.sport, dstPort: reply ? f.sport : f.dport, seq: f.sent, ack: 1, flags, window: 501, payload: first ? new Uint8Array(0) : payload });
    }
    case 'udp6': {
      const s = ip6(reply ? f.dst : f.src);
      const d = ip6(reply ? f.src : f.dst);
      return ethernet(0x86dd, ipv6({ src: s, dst: d, nextHeader: 17 }, udp({ srcPort: reply ? f.dport : f.sport, dstPort: reply ? f.sport : f.dport, payload }, { src6: s, dst6: d })));
    }
    case 'icmp':
      return ethernet(0x0800, ipv4({ src: ip4(reply ? f.dst : f.src), dst: ip4(reply ? f.src : f.dst), protocol: 1 }, icmp(reply ? { kind: 'echoReply', identifier: f.sport, sequence: f.sent >> 1, data: new Uint8Array(56) } : { kind: 'echoRequest', identifier: f.sport, sequence: f.sent >> 1, data: new Uint8Array(56) })));
    case 'arp': {
      const arp = new Uint8Array(28);
      const a = ip4(f.src);
      const b = ip4(f.dst);
      arp.set([0, 1, 8, 0, 6, 4, 0, reply ? 2 : 1, 2, 0, 0, 0, 0, 1]);
      new DataView(arp.buffer).setUint32(14, reply ? b : a);
      new DataView(arp.buffer).setUint32(24, reply ? a : b);
      return ethernet(0x0806, arp, reply ? {} : { dst: new Uint8Array(6).fill(0xff) });
    }
  }
}

/** About 20,000 flows open at a time, each 2–40 packets, interleaved; a few IPv4 fragments besides. */
function makeCapture(): void {
  mkdirSync(dataDir, { recursive: true });
  const r = rng(0xbeef);
  const tmp = `${file}.tmp`;
  const w = createCaptureWriter(tmp, 'pcap', { nanosecond: true });
  const active: FlowSpec[] = [];
  let t = 0;
  for (let i = 0; i < PACKETS; i++) {
    let data: Uint8Array;
    if (i % 997 === 0) {
      // A later IPv4 fragment: no ports to read.
      data = udp4Frame(client(i), server(i & 4095), 5353, 5353, new Uint8Array(300), {}, { fragmentOffset: 185, moreFragments: false });
    } else {
      if (active.length < 20_000 || r() < 0.02) active.push(newFlow(r));
      const j = Math.floor(r() * active.length);
      const f = active[j];
      data = flowPacket(f, r);
      f.sent++;
      if (--f.left === 0) {
        active[j] = active[active.length - 1];
        active.pop();
      }
    }
    t += 2000 + Math.floor(r() * 2000);
    w.writePacket({ tsSec: 1_700_000_000 + Math.floor(t / 1e9), tsNsec: t % 1e9, data });
  }
  w.close();
  renameSync(tmp, file);
}

// ---- rule files

const BYTE_RULES = [
  'kernel tcp[tcpflags] & tcp-syn != 0 and dst port 22',
  'drop tcp[tcpflags] & tcp-rst != 0 and src net 10.99.0.0/16',
  'kernel tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 and len > 1400',
  'drop icmp[icmptype] = icmp-echo and src net 10.66.0.0/16',
  'kernel ip[8] < 2',
];

/** Mostly port+host conjunctions, then port ranges, source networks, IPv6, a few byte-access rules. */
export function ruleText(count: number): string {
  const lines = ['default kernel', 'drop tcp[tcpflags] & (tcp-syn|tcp-rst) = (tcp-syn|tcp-rst)'];
  const stride = count < 20 ? 2 : 1;
  for (let i = 1; lines.length <= count; i++) {
    const k = (i * 7919) % SERVICES;
    const pattern = (i * stride) % 20;
    if (pattern < 10) lines.push(`${i & 1 ? 'bypass' : 'kernel'} tcp dst port ${10_000 + k} and dst host ${server(k % 4096)}`);
    else if (pattern < 13) {
      const a = 20_000 + ((i * 37) % 9_900);
      lines.push(`kernel udp dst portrange ${a}-${a + 9 + (i % 4) * 10}`);
    } else if (pattern === 13) lines.push(`drop src net 10.${(i * 13) & 255}.${(i * 7) & 255}.0/24`);
    else if (pattern === 14) lines.push(`kernel tcp and src net 10.${(i * 11) & 255}.0.0/16`);
    else if (pattern === 15) lines.push(`bypass ip6 and udp dst port ${30_000 + (k % 5000)}`);
    else if (pattern === 16) lines.push(i & 1 ? `kernel ip6 and tcp dst port ${30_000 + (k % 5000)}` : `bypass dst net 2001:db8:${(k & 255).toString(16)}:${(i & 0xfff).toString(16)}::/64`);
    else if (pattern === 17) lines.push(`bypass tcp port ${10_000 + k}`);
    else if (pattern === 18) lines.push(`kernel host ${server((i * 31) % 4096)} and udp`);
    else lines.push(i % 100 === 19 ? BYTE_RULES[(i / 100) % BYTE_RULES.length | 0] : `bypass udp dst port ${20_000 + k} and src net 10.${i & 255}.0.0/16`);
  }
  return lines.join('\n');
}

// ---- the capture in memory, and as a backend delivers it

interface Capture {
  /** The file's bytes. */
  readonly bytes: Uint8Array;
  /** Frames as views over `bytes` (the cold case). */
  readonly frames: Uint8Array[];
  readonly wireLen: Int32Array;
  readonly ms: Float64Array;
  /** The receive buffer, and each frame as a view into it at the place it lands when its chunk is copied in. */
  readonly ring: Uint8Array;
  readonly hot: Uint8Array[];
  /** Per chunk: file byte range and packet range. */
  readonly chunks: Int32Array;
}

const RING_BYTES = 1 << 20;

/** Reads a nanosecond little-endian pcap into frames, and plans its delivery through a 1 MiB receive buffer. */
function readCapture(path: string): Capture {
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ring = new Uint8Array(RING_BYTES);
  const frames: Uint8Array[] = [];
  const hot: Uint8Array[] = [];
  const wire: number[] = [];
  const ms: number[] = [];
  const chunks: number[] = [];
  let chunkAt = 24;
  let chunkFirst = 0;
  for (let off = 24; off + 16 <= bytes.length; ) {
    const incl = dv.getUint32(off + 8, true);
    if (off + 16 + incl - chunkAt > RING_BYTES) {
      chunks.push(chunkAt, off, chunkFirst, frames.length);
      chunkAt = off;
      chunkFirst = frames.length;
    }
    frames.push(bytes.subarray(off + 16, off + 16 + incl));
    hot.push(ring.subarray(off + 16 - chunkAt, off + 16 + incl - chunkAt));
    wire.push(dv.getUint32(off + 12, true));
    ms.push(dv.getUint32(off, true) * 1e3 + dv.getUint32(off + 4, true) / 1e6);
    off += 16 + incl;
  }
  chunks.push(chunkAt, bytes.length, chunkFirst, frames.length);
  return { bytes, frames, wireLen: Int32Array.from(wire), ms: Float64Array.from(ms), ring, hot, chunks: Int32Array.from(chunks) };
}

// ---- measuring

/** Runs packets [from, to) of the capture through the code under test. */
type Loop = (from: number, to: number) => void;

interface Pass {
  cpu: number;
  wall: number;
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const wallNow = (): number => Number(process.hrtime.bigint()) / 1e9;

/** One pass as a backend delivers the capture: each chunk copied into the receive buffer, then its frames run (only that is timed). */
function hotPass(cap: Capture, loop: Loop, before?: () => void): Pass {
  before?.();
  let cpu = 0;
  let wall = 0;
  const c = cap.chunks;
  for (let k = 0; k < c.length; k += 4) {
    cap.ring.set(cap.bytes.subarray(c[k], c[k + 1]));
    const w = wallNow();
    const t = cpuNow();
    loop(c[k + 2], c[k + 3]);
    cpu += cpuNow() - t;
    wall += wallNow() - w;
  }
  return { cpu, wall };
}

/** One pass over the capture held in memory. */
function coldPass(cap: Capture, loop: Loop, before?: () => void): Pass {
  before?.();
  const w = wallNow();
  const t = cpuNow();
  loop(0, cap.frames.length);
  return { cpu: cpuNow() - t, wall: wallNow() - w };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median packets per CPU second and per wall second over passes, after one warm-up pass. */
function rate(count: number, pass: () => Pass): { pps: number; wall_pps: number } {
  pass();
  const cpu: number[] = [];
  const wall: number[] = [];
  const deadline = wallNow() + SECONDS;
  do {
    const p = pass();
    cpu.push(count / p.cpu);
    wall.push(count / p.wall);
  } while (wallNow() < deadline || cpu.length < 5);
  return { pps: Math.round(median(cpu)), wall_pps: Math.round(median(wall)) };
}

/** CPU and wall seconds of a command (its CPU time from bash's `times`, which reports its children's). */
function timeCommand(cmd: string, args: string[]): Pass {
  const w = wallNow();
  const res = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1; s=$?; times; exit $s', 'bash', cmd, ...args], { encoding: 'utf8' });
  const wall = wallNow() - w;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}`);
  const children = res.stdout.trim().split('\n')[1] ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`cannot read the CPU time of ${cmd} from ${JSON.stringify(res.stdout)}`);
  return { cpu: secs[0] + secs[1], wall };
}

let sink = 0;

/** Packets that start a flow: the first of each flow key, in capture order. */
function flowStarts(cap: Capture): Int32Array {
  const t = new FlowTable({ maxFlows: 1 << 19 });
  const key = new Uint32Array(KEY_WORDS);
  const info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0, opens: true };
  const out: number[] = [];
  cap.frames.forEach((f, i) => {
    if (!extractFlowKey(f, key, info) || t.find(key) >= 0) return;
    t.insert(key, info.kind, 0, 0, 1, 0);
    out.push(i);
  });
  return Int32Array.from(out);
}

/** The same passes over a subset of the packets (in capture order), delivered as `hotPass` does. */
function hotSubsetPass(cap: Capture, picks: Int32Array, loop: (picks: Int32Array, from: number, to: number) => void, before?: () => void): Pass {
  before?.();
  let cpu = 0;
  let wall = 0;
  const c = cap.chunks;
  let j = 0;
  for (let k = 0; k < c.length; k += 4) {
    const end = c[k + 3];
    const from = j;
    while (j < picks.length && picks[j] < end) j++;
    if (j === from) continue;
    cap.ring.set(cap.bytes.subarray(c[k], c[k + 1]));
    const w = wallNow();
    const t = cpuNow();
    loop(picks, from, j);
    cpu += cpuNow() - t;
    wall += wallNow() - w;
  }
  return { cpu, wall };
}

/** Frames of a few flows, laid out in one receive buffer's worth of memory, to replay without recopying. */
interface FewFlows {
  readonly frames: Uint8Array[];
  readonly wireLen: Int32Array;
  readonly ms: Float64Array;
  readonly flows: number;
}

/**
 * The capture's packets that belong to its first `flows` flows, in capture order, copied one after
 * another into a buffer of RING_BYTES until it is full: replayed over and over, their frames and
 * their flows' table records stay in cache, so what they cost is instructions, not memory.
 */
function fewFlows(cap: Capture, flows: number): FewFlows {
  const t = new FlowTable({ maxFlows: flows });
  const key = new Uint32Array(KEY_WORDS);
  const info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0, opens: true };
  const buf = new Uint8Array(RING_BYTES);
  const frames: Uint8Array[] = [];
  const wire: number[] = [];
  const ms: number[] = [];
  let at = 0;
  for (let i = 0; i < cap.frames.length; i++) {
    const f = cap.frames[i];
    if (!extractFlowKey(f, key, info)) continue;
    if (t.find(key) < 0) {
      if (t.size >= flows) continue;
      t.insert(key, info.kind, 0, 0, 1, 0);
    }
    if (at + f.length > buf.length) break;
    buf.set(f, at);
    frames.push(buf.subarray(at, at + f.length));
    wire.push(cap.wireLen[i]);
    ms.push(cap.ms[i]);
    at += f.length;
  }
  return { frames, wireLen: Int32Array.from(wire), ms: Float64Array.from(ms), flows: t.size };
}

/** How often the engine sweeps its flow table for idle and closed flows, in packets, and how far each time. */
const POLL_EVERY = 1024;
const POLL_BUDGET = 256;
/** Frames a receive batch hands over at once (as recvmmsg or an AF_PACKET ring would), for `steerBatch`. */
const BATCH = 32;

function measureRules(cap: Capture, starts: Int32Array, few: FewFlows, count: number): Record<string, number> {
  let t = wallNow();
  const set: RuleSet = parseRules(ruleText(count));
  const parseMs = (wallNow() - t) * 1e3;
  if (!set.ok) throw new Error(set.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message).join('\n'));
  t = wallNow();
  const c = classifierFor(set);
  const buildMs = (wallNow() - t) * 1e3;
  const { frames, hot, wireLen, ms } = cap;
  const n = frames.length;
  let defaults = 0;
  for (let i = 0; i < n; i++) if (c.classify(frames[i], wireLen[i]) < 0) defaults++;

  const classify = (f: Uint8Array[]): Loop => (a, b) => {
    for (let i = a; i < b; i++) sink = (sink + c.classify(f[i], wireLen[i])) | 0;
  };
  // The engine's path: a table of the default size that fills and evicts, swept as the engine sweeps it.
  const s = new Steering(set, { maxFlows: 65536 });
  const steer = (f: Uint8Array[]): Loop => (a, b) => {
    for (let i = a; i < b; i++) {
      sink = (sink + s.steer(f[i], wireLen[i], ms[i]).rule) | 0;
      if ((i & (POLL_EVERY - 1)) === 0) s.poll(ms[i], POLL_BUDGET);
    }
  };
  const fresh = () => s.flows.clear();
  const out = new SteeringBatch(BATCH);
  const steerBatch = (f: Uint8Array[], st: Steering): Loop => {
    let sincePoll = 0;
    return (a, b) => {
      for (let i = a; i < b; i += BATCH) {
        const end = Math.min(b, i + BATCH);
        st.steerBatch(f, wireLen, ms[i], i, end, out);
        for (let j = 0; j < end - i; j++) sink = (sink + out.rule[j]) | 0;
        sincePoll += end - i;
        if (sincePoll >= POLL_EVERY) {
          st.poll(ms[i], POLL_BUDGET);
          sincePoll = 0;
        }
      }
    };
  };
  const classifyRate = rate(n, () => hotPass(cap, classify(hot)));
  const steerRate = rate(n, () => hotPass(cap, steer(hot), fresh));
  const batchRate = rate(n, () => hotPass(cap, steerBatch(hot, s), fresh));
  // What one pass does to the table.
  const before = { ...s.flows.counters };
  hotPass(cap, steer(hot), fresh);
  const newFlows = s.flows.counters.inserted - before.inserted;
  const evicted = s.flows.counters.evicted - before.evicted;
  const closed = s.flows.counters.closed - before.closed;
  // Hits only: every flow of the capture already pinned.
  const pinned = new Steering(set, { maxFlows: 1 << 18 });
  for (let i = 0; i < n; i++) pinned.steer(frames[i], wireLen[i], ms[i]);
  const hitRate = rate(n, () =>
    hotPass(cap, (a, b) => {
      for (let i = a; i < b; i++) sink = (sink + pinned.steer(hot[i], wireLen[i], ms[i]).rule) | 0;
    }),
  );
  const batchHitRate = rate(n, () => hotPass(cap, steerBatch(hot, pinned)));
  // The same over a few flows' packets replayed in place: frames and table records stay in cache,
  // so this is what a hit costs in instructions, beside what classifying the same packets costs.
  const fewSteering = new Steering(set, { maxFlows: 65536 });
  for (let i = 0; i < few.frames.length; i++) fewSteering.steer(few.frames[i], few.wireLen[i], few.ms[i]);
  const fewRounds = Math.max(1, Math.round(n / few.frames.length));
  const fewPass = (one: (i: number) => number): Pass => {
    const w = wallNow();
    const t = cpuNow();
    for (let r = 0; r < fewRounds; r++) for (let i = 0; i < few.frames.length; i++) sink = (sink + one(i)) | 0;
    return { cpu: cpuNow() - t, wall: wallNow() - w };
  };
  const smallHitRate = rate(few.frames.length * fewRounds, () => fewPass((i) => fewSteering.steer(few.frames[i], few.wireLen[i], few.ms[i]).rule));
  const smallClassifyRate = rate(few.frames.length * fewRounds, () => fewPass((i) => c.classify(few.frames[i], few.wireLen[i])));
  // New flows only: each flow's first packet, classified and pinned into a table that holds them all.
  const pins = new Steering(set, { maxFlows: 1 << 18 });
  const pinRate = rate(starts.length, () =>
    hotSubsetPass(cap, starts, (picks, a, b) => {
      for (let j = a; j < b; j++) {
        const i = picks[j];
        sink = (sink + pins.steer(hot[i], wireLen[i], ms[i]).rule) | 0;
      }
    }, () => pins.flows.clear()),
  );
  const firstClassifyRate = rate(starts.length, () =>
    hotSubsetPass(cap, starts, (picks, a, b) => {
      for (let j = a; j < b; j++) {
        const i = picks[j];
        sink = (sink + c.classify(hot[i], wireLen[i])) | 0;
      }
    }),
  );
  const coldClassify = rate(n, () => coldPass(cap, classify(frames)));
  const coldSteer = rate(n, () => coldPass(cap, steer(frames), fresh));
  log(
    `${count} rules: parse ${parseMs.toFixed(0)} ms, build ${buildMs.toFixed(0)} ms; classify ${classifyRate.pps}, steer ${steerRate.pps} ` +
      `(hits ${hitRate.pps}, new flows ${pinRate.pps} vs classifying them ${firstClassifyRate.pps}); in batches of ${BATCH}: steer ${batchRate.pps}, hits ${batchHitRate.pps}; ` +
      `few flows: hits ${smallHitRate.pps} vs classify ${smallClassifyRate.pps}; ` +
      `cold: classify ${coldClassify.pps}, steer ${coldSteer.pps}`,
  );
  return {
    rules: set.rules.length,
    classify_pps: classifyRate.pps,
    steer_pps: steerRate.pps,
    steer_hit_pps: hitRate.pps,
    steer_batch_pps: batchRate.pps,
    steer_batch_hit_pps: batchHitRate.pps,
    steer_hit_few_flows_pps: smallHitRate.pps,
    classify_few_flows_pps: smallClassifyRate.pps,
    steer_new_flow_pps: pinRate.pps,
    classify_new_flow_pps: firstClassifyRate.pps,
    classify_cold_pps: coldClassify.pps,
    steer_cold_pps: coldSteer.pps,
    wall_classify_pps: classifyRate.wall_pps,
    wall_steer_pps: steerRate.wall_pps,
    ratio_hit_vs_classify: +(hitRate.pps / classifyRate.pps).toFixed(2),
    ratio_batch_hit_vs_classify: +(batchHitRate.pps / classifyRate.pps).toFixed(2),
    ratio_hit_vs_classify_few_flows: +(smallHitRate.pps / smallClassifyRate.pps).toFixed(2),
    ratio_new_flow_vs_classify: +(pinRate.pps / firstClassifyRate.pps).toFixed(2),
    new_flows_per_pass: newFlows,
    evicted_per_pass: evicted,
    closed_per_pass: closed,
    default_share: +(defaults / n).toFixed(3),
    indexed: c.stats.indexed,
    scanned: c.stats.scanned,
    parse_ms: Math.round(parseMs),
    build_ms: Math.round(buildMs),
  };
}

function measureExpression(cap: Capture, expr: string): Record<string, number | string> {
  const parsed = parseFilter(expr);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const compiled = compileBpf(parsed.filter);
  if (!compiled.ok) throw new Error(compiled.error.message);
  const m = bpfToMatcher(compiled.program);
  const c = createClassifier([{ filter: parsed.filter, program: compiled.program }]);
  const { frames, hot, wireLen } = cap;
  const n = frames.length;
  let matched = 0;
  for (let i = 0; i < n; i++) if (m(frames[i], wireLen[i])) matched++;
  const matcherRate = rate(n, () =>
    hotPass(cap, (a, b) => {
      for (let i = a; i < b; i++) if (m(hot[i], wireLen[i])) sink++;
    }),
  );
  const classifierRate = rate(n, () =>
    hotPass(cap, (a, b) => {
      for (let i = a; i < b; i++) sink = (sink + c.classify(hot[i], wireLen[i])) | 0;
    }),
  );
  // As tcpdump does it: from the file on disk to the decision, reading included, through one reused buffer.
  const fileToDecision = (): Pass => {
    const w = wallNow();
    const t = cpuNow();
    const fd = openSync(file, 'r');
    const chunk = new Uint8Array(RING_BYTES);
    const dv = new DataView(chunk.buffer);
    let have = 0;
    let first = true;
    for (;;) {
      const got = readSync(fd, chunk, have, chunk.length - have, null);
      have += got;
      let off = first ? 24 : 0;
      first = false;
      while (off + 16 <= have) {
        const incl = dv.getUint32(off + 8, true);
        if (off + 16 + incl > have) break;
        if (m(chunk.subarray(off + 16, off + 16 + incl), dv.getUint32(off + 12, true))) sink++;
        off += 16 + incl;
      }
      chunk.copyWithin(0, off, have);
      have -= off;
      if (got === 0) break;
    }
    closeSync(fd);
    return { cpu: cpuNow() - t, wall: wallNow() - w };
  };
  const ours = rate(n, fileToDecision);
  const tcpdumpRuns = [0, 1, 2, 3, 4].map(() => timeCommand('tcpdump', ['-r', file, '-w', '/dev/null', expr]));
  const tcpdumpPps = Math.round(n / median(tcpdumpRuns.map((r) => r.cpu)));
  const tcpdumpWallPps = Math.round(n / median(tcpdumpRuns.map((r) => r.wall)));
  log(`'${expr}': tcpdump ${tcpdumpPps} pps, ours from the file ${ours.pps}; in the receive buffer: matcher ${matcherRate.pps}, classifier ${classifierRate.pps}`);
  return {
    expr,
    matched,
    tcpdump_pps: tcpdumpPps,
    ours_file_pps: ours.pps,
    wall_tcpdump_pps: tcpdumpWallPps,
    wall_ours_file_pps: ours.wall_pps,
    matcher_pps: matcherRate.pps,
    classifier_pps: classifierRate.pps,
    ratio_file_vs_tcpdump: +(ours.pps / tcpdumpPps).toFixed(2),
    ratio_wall_file_vs_tcpdump: +(ours.wall_pps / tcpdumpWallPps).toFixed(2),
    ratio_matcher_vs_tcpdump: +(matcherRate.pps / tcpdumpPps).toFixed(2),
  };
}

function measureFlowTable(cap: Capture): Record<string, number> {
  // The capture's own flows, found again and again, in a table of the size they need.
  const info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0, opens: true };
  const key = new Uint32Array(KEY_WORDS);
  const keys: number[] = [];
  const probe = new FlowTable({ maxFlows: 1 << 19 });
  for (const f of cap.frames) {
    if (!extractFlowKey(f, key, info) || probe.find(key) >= 0) continue;
    probe.insert(key, info.kind, 0, 0, 1, 0);
    keys.push(...key);
  }
  const flows = keys.length / KEY_WORDS;
  const table = new FlowTable({ maxFlows: flows });
  const K = Uint32Array.from(keys);
  const views = Array.from({ length: flows }, (_, i) => K.subarray(i * KEY_WORDS, (i + 1) * KEY_WORDS));
  for (const v of views) table.insert(v, FlowKind.TCP, 0, 0, 1, 0);
  const find = rate(flows, () => {
    const w = wallNow();
    const t = cpuNow();
    for (let i = 0; i < flows; i++) sink = (sink + table.find(views[i])) | 0;
    return { cpu: cpuNow() - t, wall: wallNow() - w };
  });
  // Churn: a bounded table taking a stream of new flows, each insert evicting one.
  const churnTable = new FlowTable({ maxFlows: 16384 });
  const fresh = new Uint32Array(KEY_WORDS);
  let serial = 0;
  const churnOps = 200_000;
  const churn = rate(churnOps, () => {
    const w = wallNow();
    const t = cpuNow();
    for (let i = 0; i < churnOps; i++) {
      fresh[0] = FlowKind.UDP;
      fresh[1] = 0x0a000000 + (serial & 0xffffff);
      fresh[5] = 0xc6120000 + (serial >>> 12);
      fresh[9] = serial++;
      if (churnTable.find(fresh) < 0) churnTable.insert(fresh, FlowKind.UDP, 0, 0, 1, serial);
    }
    return { cpu: cpuNow() - t, wall: wallNow() - w };
  });
  log(`flow table: ${flows} flows, find ${find.pps}/s, insert+evict ${churn.pps}/s`);
  return { flows, find_per_s: find.pps, insert_evict_per_s: churn.pps, evicted: churnTable.counters.evicted };
}

function main(): void {
  if (!existsSync(file)) {
    log(`building ${file}`);
    makeCapture();
  }
  const cap = readCapture(file);
  log(`${cap.frames.length} packets (${(cap.bytes.length / 1e6).toFixed(0)} MB) from ${file}`);
  const starts = flowStarts(cap);
  const few = fewFlows(cap, 1000);
  log(`few flows: ${few.frames.length} packets of ${few.flows} flows in ${RING_BYTES >> 10} KiB`);
  // What reading two bytes of each frame costs: the floor under any classifier, and a gauge of how loaded the machine is.
  const touch = rate(cap.frames.length, () =>
    hotPass(cap, (a, b) => {
      const f = cap.hot;
      for (let i = a; i < b; i++) sink = (sink + f[i][12] + f[i][23]) | 0;
    }),
  );
  const bySize: Record<string, Record<string, number>> = {};
  for (const count of [10, 1000, 10_000]) bySize[String(count)] = measureRules(cap, starts, few, count);
  const tcpdump = [
    measureExpression(cap, `tcp dst port ${10_000 + 4242} and dst host ${server(4242 % 4096)}`),
    measureExpression(cap, 'tcp[tcpflags] & tcp-syn != 0'),
  ];
  const flowTable = measureFlowTable(cap);
  const r1000 = bySize['1000'];
  console.log(
    JSON.stringify({
      bench: 'steer',
      packets: cap.frames.length,
      file_mb: Math.round(cap.bytes.length / 1e6),
      clock: 'packets per CPU second of the measuring process (median of passes); wall_* by the clock',
      touch_pps: touch.pps,
      rules: bySize,
      tcpdump,
      flow_table: flowTable,
      target_classify_1000_pps: 5_000_000,
      ratio_classify_1000_vs_target: +(r1000.classify_pps / 5_000_000).toFixed(2),
      ratio_wall_classify_1000_vs_target: +(r1000.wall_classify_pps / 5_000_000).toFixed(2),
      ratio_steer_1000_vs_target: +(r1000.steer_pps / 5_000_000).toFixed(2),
      ratio_steer_hit_1000_vs_classify_1000: r1000.ratio_hit_vs_classify,
      ratio_new_flow_1000_vs_classify_1000: r1000.ratio_new_flow_vs_classify,
      ratio_ours_vs_tcpdump: tcpdump.map((t) => t.ratio_file_vs_tcpdump),
      command: 'node --import tsx bench/steer.bench.ts',
    }),
  );
  if (sink === 0.5) log('');
}

if (process.argv[1]?.endsWith('steer.bench.ts')) main();
