// bench/steer: steering a 1M-packet capture by rule files of 10, 1,000 and 10,000 rules — the
// classifier on every packet and the real data path (flow-table pinning) — beside tcpdump with one
// comparable expression on the same file, and flow-table lookups and churn. Prints one JSON line.
//
// Run: node --import tsx bench/steer.bench.ts   (BENCH_STEER_PACKETS, BENCH_STEER_SECONDS to change)
// Targets: ≥ 5M packets/s classifying with 1,000 rules; at least tcpdump's rate on one expression.
//
// Figures: `touch_pps` reads two bytes of every frame (the memory floor under any classifier on this
// capture, and a gauge of how loaded the machine is); per rule file, `classify_pps` classifies every
// packet and `steer_pps` goes through Steering.steer with a fresh flow table each pass; `tcpdump`
// runs `tcpdump -r FILE -w /dev/null EXPR` against our matcher and one-rule classifier over frames in
// memory and our matcher reading the same file (`ours_file_pps`); rates are medians over passes.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { compileBpf } from '../engine/steer/bpf';
import { KEY_WORDS, extractFlowKey, FlowKind, type KeyInfo } from '../engine/steer/flow-key';
import { FlowTable } from '../engine/steer/flow-table';
import { bpfToMatcher, createClassifier } from '../engine/steer/matcher';
import { parseFilter } from '../engine/steer/parser';
import { classifierFor, parseRules, type RuleSet } from '../engine/steer/rules';
import { Steering } from '../engine/steer/steering';
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

interface Capture {
  readonly frames: Uint8Array[];
  readonly wireLen: Int32Array;
  readonly ms: Float64Array;
}

/** Reads a nanosecond little-endian pcap into frames that view one buffer. */
function readCapture(path: string): Capture {
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Uint8Array[] = [];
  const wire: number[] = [];
  const ms: number[] = [];
  for (let off = 24; off + 16 <= bytes.length; ) {
    const incl = dv.getUint32(off + 8, true);
    frames.push(bytes.subarray(off + 16, off + 16 + incl));
    wire.push(dv.getUint32(off + 12, true));
    ms.push(dv.getUint32(off, true) * 1e3 + dv.getUint32(off + 4, true) / 1e6);
    off += 16 + incl;
  }
  return { frames, wireLen: Int32Array.from(wire), ms: Float64Array.from(ms) };
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

// ---- measuring

/** Median packets/s over passes of `pass` (which handles `count` packets), after one warm-up pass. */
function rate(count: number, pass: () => void): number {
  pass();
  const rates: number[] = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
  do {
    const start = process.hrtime.bigint();
    pass();
    rates.push(count / (Number(process.hrtime.bigint() - start) / 1e9));
  } while (process.hrtime.bigint() < deadline || rates.length < 3);
  rates.sort((a, b) => a - b);
  return Math.round(rates[rates.length >> 1]);
}

function timeCommand(cmd: string, args: string[]): number {
  const out = openSync('/dev/null', 'w');
  const start = process.hrtime.bigint();
  const res = spawnSync(cmd, args, { stdio: ['ignore', out, 'ignore'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  closeSync(out);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}`);
  return seconds;
}

let sink = 0;

function measureRules(cap: Capture, count: number): Record<string, number> {
  let t = process.hrtime.bigint();
  const set: RuleSet = parseRules(ruleText(count));
  const parseMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (!set.ok) throw new Error(set.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message).join('\n'));
  t = process.hrtime.bigint();
  const c = classifierFor(set);
  const buildMs = Number(process.hrtime.bigint() - t) / 1e6;
  const { frames, wireLen, ms } = cap;
  const n = frames.length;
  let defaults = 0;
  for (let i = 0; i < n; i++) if (c.classify(frames[i], wireLen[i]) < 0) defaults++;
  const classifyPps = rate(n, () => {
    for (let i = 0; i < n; i++) sink += c.classify(frames[i], wireLen[i]);
  });
  const s = new Steering(set, { maxFlows: 65536 });
  for (let i = 0; i < n; i++) s.steer(frames[i], wireLen[i], ms[i]);
  const newFlows = s.flows.counters.inserted;
  const steerPps = rate(n, () => {
    s.flows.clear();
    for (let i = 0; i < n; i++) sink += s.steer(frames[i], wireLen[i], ms[i]).rule;
  });
  log(`${count} rules: parse ${parseMs.toFixed(0)} ms, build ${buildMs.toFixed(0)} ms, classify ${classifyPps} pps, steer ${steerPps} pps`);
  return {
    rules: set.rules.length,
    classify_pps: classifyPps,
    steer_pps: steerPps,
    new_flows: newFlows,
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
  const { frames, wireLen } = cap;
  const n = frames.length;
  let matched = 0;
  for (let i = 0; i < n; i++) if (m(frames[i], wireLen[i])) matched++;
  const matcherPps = rate(n, () => {
    for (let i = 0; i < n; i++) if (m(frames[i], wireLen[i])) sink++;
  });
  const classifierPps = rate(n, () => {
    for (let i = 0; i < n; i++) sink += c.classify(frames[i], wireLen[i]);
  });
  // As tcpdump does it: from the file on disk to the decision, reading included, through one
  // reused 4 MiB buffer.
  const fileToDecision = (): number => {
    const start = process.hrtime.bigint();
    const fd = openSync(file, 'r');
    const chunk = new Uint8Array(4 << 20);
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
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  fileToDecision();
  const fileSeconds = Math.min(fileToDecision(), fileToDecision(), fileToDecision());
  const tcpdumpSeconds = Math.min(...[0, 1, 2].map(() => timeCommand('tcpdump', ['-r', file, '-w', '/dev/null', expr])));
  const tcpdumpPps = Math.round(n / tcpdumpSeconds);
  const filePps = Math.round(n / fileSeconds);
  log(`'${expr}': tcpdump ${tcpdumpPps} pps, ours from file ${filePps}, matcher ${matcherPps}, classifier ${classifierPps}`);
  return {
    expr,
    matched,
    tcpdump_pps: tcpdumpPps,
    ours_file_pps: filePps,
    matcher_pps: matcherPps,
    classifier_pps: classifierPps,
    ratio_file_vs_tcpdump: +(filePps / tcpdumpPps).toFixed(2),
    ratio_matcher_vs_tcpdump: +(matcherPps / tcpdumpPps).toFixed(2),
  };
}

function measureFlowTable(cap: Capture): Record<string, number> {
  // The capture's own flows, found again and again.
  const info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0 };
  const key = new Uint32Array(KEY_WORDS);
  const table = new FlowTable({ maxFlows: 1 << 20 });
  const keys: number[] = [];
  for (const f of cap.frames) {
    if (!extractFlowKey(f, key, info) || table.find(key) >= 0) continue;
    table.insert(key, info.kind, 0, 0, 1, 0);
    keys.push(...key);
  }
  const K = Uint32Array.from(keys);
  const flows = K.length / KEY_WORDS;
  const views = Array.from({ length: flows }, (_, i) => K.subarray(i * KEY_WORDS, (i + 1) * KEY_WORDS));
  const findPps = rate(flows, () => {
    for (let i = 0; i < flows; i++) sink += table.find(views[i]);
  });
  // Churn: a bounded table taking a stream of new flows, each insert evicting one.
  const churnTable = new FlowTable({ maxFlows: 16384 });
  const fresh = new Uint32Array(KEY_WORDS);
  let serial = 0;
  const churnOps = 200_000;
  const churnPps = rate(churnOps, () => {
    for (let i = 0; i < churnOps; i++) {
      fresh[0] = FlowKind.UDP;
      fresh[1] = 0x0a000000 + (serial & 0xffffff);
      fresh[5] = 0xc6120000 + (serial >>> 12);
      fresh[9] = serial++;
      if (churnTable.find(fresh) < 0) churnTable.insert(fresh, FlowKind.UDP, 0, 0, 1, serial);
    }
  });
  log(`flow table: ${flows} flows, find ${findPps}/s, insert+evict ${churnPps}/s`);
  return { flows, find_per_s: findPps, insert_evict_per_s: churnPps, evicted: churnTable.counters.evicted };
}

function main(): void {
  if (!existsSync(file)) {
    log(`building ${file}`);
    makeCapture();
  }
  const cap = readCapture(file);
  log(`${cap.frames.length} packets from ${file}`);
  // What reading each frame's Ethernet type and IP protocol costs: the floor under any classifier here.
  const touchPps = rate(cap.frames.length, () => {
    const f = cap.frames;
    for (let i = 0; i < f.length; i++) sink += f[i][12] + f[i][23];
  });
  const bySize: Record<string, Record<string, number>> = {};
  for (const count of [10, 1000, 10_000]) bySize[String(count)] = measureRules(cap, count);
  const tcpdump = [
    measureExpression(cap, `tcp dst port ${10_000 + 4242} and dst host ${server(4242 % 4096)}`),
    measureExpression(cap, 'tcp[tcpflags] & tcp-syn != 0'),
  ];
  const flowTable = measureFlowTable(cap);
  console.log(
    JSON.stringify({
      bench: 'steer',
      packets: cap.frames.length,
      touch_pps: touchPps,
      rules: bySize,
      target_classify_1000_pps: 5_000_000,
      ratio_classify_1000_vs_target: +(bySize['1000'].classify_pps / 5_000_000).toFixed(2),
      ratio_steer_1000_vs_target: +(bySize['1000'].steer_pps / 5_000_000).toFixed(2),
      tcpdump,
      flow_table: flowTable,
      command: 'node --import tsx bench/steer.bench.ts',
    }),
  );
  if (sink === 0.5) log('');
}

if (process.argv[1]?.endsWith('steer.bench.ts')) main();
