// cli: `bypass-scope capture` — runs a capture session (sim backend) and prints a line per packet with
// its path, rule and latency, a summary at the end, and optionally a pcapng whose packet comments
// carry each packet's path, rule and hops.
import { basename, join } from 'node:path';
import type { Impairments } from '../backends/impair';
import { DeviceRequestError, deviceRulesSuffix, deviceStartRequest, isDeviceBackend, readDeviceRequest, type DeviceRequest } from '../backends/device-request';
import { inPrivateNamespace, rerunInPrivateNamespace } from '../backends/lab';
import { openDevice, type OpenedDevice } from '../backends/open-device';
import { pcapBackend } from '../backends/pcap';
import { CaptureSession, type StopReason } from '../capture/session';
import type { PacketTrace } from '../capture/nic';
import type { LatencyHistogram } from '../capture/stats';
import { parseRules, type RuleSet } from '../steer/rules';
import { RULE_DEFAULT, RULE_EARLIER_RULES, RULE_LOCAL_PIN } from '../steer/steering';
import { createCaptureWriter, type PcapngFileWriter } from '../trace/capture-file';
import { LinkType } from '../trace/capture-format';
import { epbFlags, hopText, packetComment, PCAPNG_COMMENT_FORMAT } from '../trace/packet-comment';
import { LAYERS, type TraceStats } from '../trace/schema';
import type { TraceLevel } from '../trace/recorder';
import { dissect } from '../wire/dissect';
import { SummaryContext, summarize } from '../wire/summary';
import { SCENARIOS, findScenario } from '../workloads/mixed';
import { CliError, fileProblem, integerFlag, OutputBuffer, parseCommandArgs, readTextFile } from './args';
import type { Command } from '../cli';

/** Without --rules: the package's example rules, found beside the code (out/engine or engine/cli), wherever the command runs. */
const DEFAULT_RULES = 'examples/routing.bypass';
const DEFAULT_RULES_FILE = join(__dirname, '..', '..', DEFAULT_RULES);
const DEFAULT_DURATION_S = 2;
const LAB_DURATION_S = 10;

/** The device backend's request from the flags: the one function the extension builds its request with too. */
function deviceRequest(backend: 'lab' | 'tap' | 'afpacket', values: { tap?: string; interface?: string; ip?: string }): DeviceRequest {
  try {
    return readDeviceRequest(deviceStartRequest({ backend, device: backend === 'tap' ? values.tap : values.interface, address: values.ip }));
  } catch (e) {
    if (e instanceof DeviceRequestError) throw new CliError(e.message);
    throw e;
  }
}

async function openDeviceCapture(r: DeviceRequest, rules: RuleSet): Promise<OpenedDevice> {
  try {
    return await openDevice(r, rules);
  } catch (e) {
    if (e instanceof DeviceRequestError) throw new CliError(e.message);
    throw e;
  }
}

export const captureCommand: Command = {
  name: 'capture',
  summary: 'run a capture (simulated, in a lab with the real kernel, on a device, or replaying a file) and print each packet with its path, rule and latency',
  help: `usage: bypass-scope capture [options]

Runs the userspace (bypass) stack and the kernel path side by side behind one NIC, steers every
packet by the rules, runs a workload scenario, and prints one line per packet:
  N TIME PATH RULE SUMMARY latency Xµs
(TIME in seconds since the start; PATH bypass, kernel, drop, or none for frames not steered; RULE is
FILE:LINE of the rule that steered it, 'default', 'local' for flows the bypass stack opened,
'earlier' for flows pinned under rules since reloaded, '-' for transmitted frames), then a summary:
packets per path, drops by reason, TCP connections with their final states, latency p50/p99 per
path and per hop, trace records dropped, and each workload's result.

options:
  --backend NAME         where frames come from (default sim):
                           sim       a simulated network in virtual time; the kernel path is an
                                     emulated Linux stack, labelled so
                           pcap      --file FILE replayed at its own times, steered by the rules,
                                     each layer's checks traced, TCP connections followed by a
                                     passive observer (nothing answers the replayed packets); a
                                     TCP/UDP checksum left partial for checksum offload is delivered
                                     with a note, not dropped
                           lab       real TAP devices in a private network namespace (it runs itself
                                     under \`unshare -Urn\`), Linux programs on the wire and the real
                                     Linux kernel on the kernel path; --duration caps the wall-clock
                                     run (default 10). The TAPs carry TSO/GSO frames of up to 64 KiB
                                     and partial checksums, as a host with NIC offloads does (flagged
                                     OFFLOAD; BYPASS_SCOPE_LAB_OFFLOADS=0: plain 1514-byte frames);
                                     BYPASS_SCOPE_DRIVER=poll[:µs]|spin[:µs]|sync|async: how the
                                     real-time driver waits for frames (default poll: an adaptive
                                     busy-poll of up to 50 µs while frames come fast, asleep
                                     otherwise)
                           tap       the TAP device --tap NAME that you own; the host's kernel behind
                                     it is the wire side at the TAP's address, the kernel path is
                                     emulated
                           afpacket  an AF_PACKET socket on --interface NAME (needs CAP_NET_RAW), the
                                     rules compiled to cBPF and run in the kernel; the bypass stack
                                     at --ip A.B.C.D/N, an address of its own (the kernel keeps every
                                     frame too); scenario idle only
  --file FILE            with --backend pcap: the pcap or pcapng file
  --speed X|max          time per wall time: 1 plays at the capture's (or the network's) own pace;
                         max (the default) runs as fast as it can
  --tap NAME             the TAP device for --backend tap (sudo ip tuntap add dev NAME mode tap user
                         $USER; sudo ip addr add 198.18.0.1/24 dev NAME; sudo ip link set NAME up)
  --interface NAME       the interface for --backend afpacket
  --ip A.B.C.D/N         with --backend afpacket: the bypass stack's own address on that network
  --scenario NAME        ${SCENARIOS.map((s) => s.name).join(', ')} (default mixed; pcap and afpacket run idle)
  --rules FILE           routing rules (default ${DEFAULT_RULES})
  --duration S           virtual seconds to run (default ${DEFAULT_DURATION_S}; a replay plays the whole file)
  --packets N            stop after N packets
  --loss P  --reorder P  --duplicate P  --corrupt P    impairment probabilities (0..1, or N%)
  --delay MS  --jitter MS                               extra one-way delay and its ± jitter
  --rate MBIT            bottleneck rate on the wire side
  --seed N               the one seed of the simulation (default 1)
  --trace-level L        off, summary or full (default full)
  --out FILE.pcapng      also write the frames that crossed the wire, with path, rule and hops in
                         each packet's comment (frames lost on the wire are in the output only),
                         and csum=partial on frames whose checksum the device completes (OFFLOAD);
                         the file's section comment says how to read them
  --json                 one JSON object per packet, then one for the summary
  --quiet                the summary only
Time: a packet's TIME is the simulated network's (virtual) time; its latency and each hop's time are
what the layers cost, measured on the CPU with a monotonic clock as the packet crossed each layer.
Kernel hops in sim are emulated (a second stack with Linux's defaults) and labelled so: their time is
our emulation's cost, not Linux's.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      backend: { type: 'string' },
      tap: { type: 'string' },
      interface: { type: 'string' },
      ip: { type: 'string' },
      scenario: { type: 'string' },
      rules: { type: 'string' },
      duration: { type: 'string' },
      packets: { type: 'string' },
      loss: { type: 'string' },
      delay: { type: 'string' },
      jitter: { type: 'string' },
      reorder: { type: 'string' },
      duplicate: { type: 'string' },
      corrupt: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      'trace-level': { type: 'string' },
      file: { type: 'string' },
      speed: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new CliError(`unexpected argument '${positionals[0]}'`);
    const backend = values.backend ?? 'sim';
    if (backend !== 'sim' && backend !== 'pcap' && backend !== 'lab' && backend !== 'tap' && backend !== 'afpacket') throw new CliError(`unknown backend '${backend}' (want sim, pcap, lab, tap or afpacket)`);
    const replay = backend === 'pcap';
    if (replay && values.file === undefined) throw new CliError('--backend pcap wants --file FILE (the capture to replay)');
    if (!replay && values.file !== undefined) throw new CliError('--file is for --backend pcap');
    if (replay && values.scenario !== undefined) throw new CliError('--scenario is for sim: a replay plays the file');
    if (backend === 'afpacket' && (values.interface === undefined || values.ip === undefined)) throw new CliError('--backend afpacket wants --interface NAME and --ip A.B.C.D/N (an address of its own on that network)');
    if (backend !== 'afpacket' && (values.interface !== undefined || values.ip !== undefined)) throw new CliError('--interface and --ip go with --backend afpacket');
    if (backend === 'tap' && values.tap === undefined) throw new CliError('--backend tap wants --tap NAME (a TAP device you own: sudo ip tuntap add dev tap0 mode tap user $USER)');
    if (backend !== 'tap' && values.tap !== undefined) throw new CliError('--tap NAME goes with --backend tap');
    // The lab builds its network in a private namespace; a Node process cannot unshare itself, so it runs again inside one.
    if (backend === 'lab' && !inPrivateNamespace()) return rerunInPrivateNamespace();
    const realTime = backend === 'lab' || backend === 'tap' || backend === 'afpacket';
    const scenarioName = values.scenario ?? (replay ? 'idle' : 'mixed');
    const scenario = findScenario(scenarioName);
    if (scenario === undefined) throw new CliError(`unknown scenario '${scenarioName}' (want one of ${SCENARIOS.map((s) => s.name).join(', ')})`);
    const rulesPath = values.rules ?? DEFAULT_RULES;
    const device = isDeviceBackend(backend) ? deviceRequest(backend, values) : undefined;
    const afpacket = device?.backend === 'afpacket' ? device : undefined;
    const rules = readRules(values.rules ?? DEFAULT_RULES_FILE, device === undefined ? '' : deviceRulesSuffix(device));
    // A replay plays the whole file unless told otherwise; a real-time capture runs until its workloads are done or --duration.
    const durationS = values.duration === undefined ? (values.packets === undefined && !replay ? (realTime ? LAB_DURATION_S : DEFAULT_DURATION_S) : undefined) : positiveNumber('duration', values.duration);
    const speed = values.speed === undefined || values.speed === 'max' ? Infinity : positiveNumber('speed', values.speed);
    const packets = integerFlag('packets', values.packets, 1);
    const seed = integerFlag('seed', values.seed, 0) ?? 1;
    const level = values['trace-level'] ?? 'full';
    if (level !== 'off' && level !== 'summary' && level !== 'full') throw new CliError(`--trace-level wants off, summary or full, got '${level}'`);
    const impairments = readImpairments(values);
    if (values.out !== undefined && !/\.pcapng$/i.test(values.out)) throw new CliError(`--out wants a .pcapng file name, got '${values.out}'`);

    if (afpacket !== undefined && scenario.name !== 'idle') throw new CliError(`--backend afpacket runs no workloads (the remote hosts are the network's): use --scenario idle and send traffic yourself`);
    const lab = device === undefined ? undefined : await openDeviceCapture(device, rules);
    let session: CaptureSession;
    try {
      session = new CaptureSession({
        rules,
        scenario,
        seed,
        impairments,
        traceLevel: level as TraceLevel,
        backend: lab?.backend ?? (replay ? pcapBackend({ file: values.file! }) : 'sim'),
        kernel: lab?.kernel,
        host: lab?.host,
      });
    } catch (err) {
      if (lab !== undefined) await lab.close();
      if (replay) throw new CliError(`capture file ${fileProblem(values.file!, err)}`);
      throw err;
    }
    // A replay's timestamps are the file's: time 0 is its first packet.
    const origin = session.backend.timeOrigin ?? { sec: 0, nsec: 0 };
    const ruleName = basename(rulesPath);
    const ruleLabel = (rule: number): string => {
      if (afpacket !== undefined && rule === rules.rules.length - 1) return 'afpacket-arp';
      if (rule >= 0) return `${ruleName}:${rules.rules[rule]?.range.line ?? '?'}`;
      if (rule === RULE_DEFAULT) return 'default';
      if (rule === RULE_LOCAL_PIN) return 'local';
      if (rule === RULE_EARLIER_RULES) return 'earlier';
      return '-';
    };

    let writer: PcapngFileWriter | undefined;
    if (values.out !== undefined) {
      try {
        writer = createCaptureWriter(values.out, 'pcapng', { userAppl: 'bypass-scope capture', comment: PCAPNG_COMMENT_FORMAT });
      } catch (err) {
        throw new CliError(`${values.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const description = replay || lab !== undefined ? session.backend.interfaceDescription : `${session.backend.interfaceDescription} (198.18.0.2)`;
      writer.addInterface({ linkType: LinkType.ETHERNET, name: session.backend.interfaceName, description, tsResolution: 1e9 });
    }

    const out = new OutputBuffer();
    const pinned = new PinnedCounts();
    const ctx = new SummaryContext();
    const json = values.json === true;
    const quiet = values.quiet === true;
    session.onPacket.push((p) => {
      if (p.direction === 'rx' && (p.rule === RULE_LOCAL_PIN || p.rule === RULE_EARLIER_RULES)) pinned.count(p.rule, p.flowId);
      const rule = p.direction === 'rx' && p.path !== 'none' ? ruleLabel(p.rule) : '-';
      // The file holds what crossed the wire: a frame lost there is in the trace and the live lines
      // only (with it, tshark's TCP reassembly reports the retransmission that follows as overlapping).
      const lostOnWire = p.finalVerdict === 'drop' && p.layers[p.hopCount - 1] === 'wire';
      if (writer !== undefined && p.frame.length > 0 && !lostOnWire) {
        const t = origin.nsec + Math.round(p.timeNs);
        writer.writePacket({
          interfaceId: 0,
          tsSec: origin.sec + Math.floor(t / 1e9),
          tsNsec: t % 1e9,
          data: p.frame,
          origLen: p.wireLen,
          direction: p.direction === 'rx' ? 'inbound' : 'outbound',
          flags: epbFlags(p.flags),
          comment: packetComment({ path: p.path, rule, direction: p.direction, connId: p.connId, flags: p.flags, hops: hopsText(p) }),
        });
      }
      if (quiet) return;
      const summary = p.frame.length > 0 ? summarize(dissect(p.frame), p.wireLen, ctx) : '(never reached the wire)';
      const latency = p.latencyNs / 1000;
      if (json) {
        const hops = [];
        for (let i = 0; i < p.hopCount; i++) hops.push({ layer: p.layers[i], kind: p.kinds[i], verdict: p.verdicts[i], reason: p.reasons[i], offsetNs: Math.round(p.offsets[i]), durationNs: Math.round(p.durations[i]) });
        out.line(JSON.stringify({ id: p.id, timeNs: p.timeNs, direction: p.direction, path: p.path, rule, flowId: p.flowId, connId: p.connId, len: p.wireLen, summary, latencyUs: latency, hops }));
        return;
      }
      let line = `${p.id} ${(p.timeNs / 1e9).toFixed(6)} ${p.direction} ${p.path} ${rule} ${summary} latency ${fmtUs(latency)}`;
      if (p.finalVerdict === 'drop') line += ` [drop at ${p.layers[p.hopCount - 1]}: ${p.reasons[p.hopCount - 1] ?? '?'}]`;
      out.line(line);
    });

    const progress = process.stderr.isTTY === true && !json;
    let lastProgress = 0;
    if (progress) {
      session.onStats.push((s) => {
        const now = performance.now();
        if (now - lastProgress < 100) return;
        lastProgress = now;
        process.stderr.write(`\r\x1b[K${(s.timeNs / 1e9).toFixed(3)} s virtual  packets ${session.packets} (bypass ${s.packets.bypass}, kernel ${s.packets.kernel}, drop ${s.packets.drop})`);
      });
    }

    let reason: StopReason;
    try {
      // In real time (lab, tap, afpacket) the run ends when the workloads are done (or at --duration).
      reason = await session.run({ durationMs: durationS === undefined ? undefined : durationS * 1000, packets, speed, untilWorkloadsDone: lab !== undefined && scenario.name !== 'idle' });
    } finally {
      if (progress) process.stderr.write('\r\x1b[K');
      writer?.close();
      if (lab !== undefined) {
        session.close();
        await lab.close();
      }
    }
    const stats = session.snapshot();
    if (json) {
      out.line(JSON.stringify({ summary: summaryJson(session, stats, reason, ruleLabel) }));
    } else {
      if (!quiet) out.line('');
      for (const l of summaryLines(session, stats, reason, { scenario: scenario.name, rulesPath, seed, ruleLabel, file: values.file, pinned })) out.line(l);
    }
    out.flush();
    // A damaged capture file: everything before the damage was replayed and printed; then one line, and status 1.
    const problems = session.problems;
    if (problems.length > 0) {
      for (const problem of problems) console.error(`bypass-scope capture: ${problem}`);
      return 1;
    }
    return 0;
  },
};

function readRules(path: string, extra = ''): RuleSet {
  const set = parseRules(readTextFile(path, 'rules file') + extra);
  const errors = set.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const d = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''}; see 'bypass-scope rules check')` : '';
    throw new CliError(`${path}:${d.range.line}:${d.range.column}: error: ${d.message}${more}`);
  }
  return set;
}

function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new CliError(`--${name} wants a number > 0, got '${value}'`);
  return n;
}

function nonNegative(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliError(`--${name} wants a number ≥ 0, got '${value}'`);
  return n;
}

function probability(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const pct = value.endsWith('%');
  const n = Number(pct ? value.slice(0, -1) : value);
  const p = pct ? n / 100 : n;
  if (value.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1) throw new CliError(`--${name} wants a probability from 0 to 1 (or 0% to 100%), got '${value}'`);
  return p;
}

function readImpairments(v: Record<string, string | boolean | undefined>): Impairments | undefined {
  const s = (k: string): string | undefined => v[k] as string | undefined;
  const im: Impairments = {
    loss: probability('loss', s('loss')),
    reorder: probability('reorder', s('reorder')),
    duplicate: probability('duplicate', s('duplicate')),
    corrupt: probability('corrupt', s('corrupt')),
    delayMs: nonNegative('delay', s('delay')),
    jitterMs: nonNegative('jitter', s('jitter')),
    rateMbit: s('rate') === undefined ? undefined : positiveNumber('rate', s('rate')!),
  };
  const given = Object.entries(im).filter(([, x]) => x !== undefined);
  return given.length === 0 ? undefined : (Object.fromEntries(given) as Impairments);
}

/** A packet's hops as the pcapng comment carries them (trace/packet-comment.ts). */
function hopsText(p: PacketTrace): string {
  const parts: string[] = [];
  for (let i = 0; i < p.hopCount; i++) parts.push(hopText(p.layers[i], p.offsets[i], p.durations[i], p.kinds[i], p.verdicts[i], p.reasons[i]));
  return parts.join(' ');
}

function fmtUs(us: number): string {
  return `${us < 10 ? us.toFixed(3) : us.toFixed(1)}µs`;
}

function fmtNs(ns: number): string {
  if (ns < 1000) return `${ns}ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(1)}µs`;
  return `${(ns / 1e6).toFixed(2)}ms`;
}

function hist(h: LatencyHistogram | undefined): string {
  if (h === undefined || h.count === 0) return '-';
  return `p50 ${fmtNs(h.quantile(0.5))} p99 ${fmtNs(h.quantile(0.99))} (n=${h.count})`;
}

/** Received packets steered by a pin rather than a rule, and their distinct flows. */
class PinnedCounts {
  readonly packets = new Map<number, number>();
  readonly flows = new Map<number, Set<number>>();

  count(rule: number, flowId: number): void {
    this.packets.set(rule, (this.packets.get(rule) ?? 0) + 1);
    let f = this.flows.get(rule);
    if (f === undefined) this.flows.set(rule, (f = new Set()));
    f.add(flowId);
  }
}

function ruleLabelOf(rule: number): string {
  return rule === RULE_LOCAL_PIN ? 'local' : 'earlier rules';
}

function summaryLines(
  session: CaptureSession,
  stats: TraceStats,
  reason: StopReason,
  o: { scenario: string; rulesPath: string; seed: number; ruleLabel: (r: number) => string; file: string | undefined; pinned: PinnedCounts },
): string[] {
  const L: string[] = [];
  const st = session.stats;
  if (o.file !== undefined) L.push(`capture: pcap replay of ${o.file}, rules ${o.rulesPath}; ${(session.now / 1000).toFixed(3)} s of capture time (${reason})`);
  else L.push(`capture: ${session.backend.name}, scenario ${o.scenario}, rules ${o.rulesPath}, seed ${o.seed}; ${(session.now / 1000).toFixed(3)} s ${session.clock.virtual ? 'virtual' : 'wall clock'} (${reason})`);
  L.push(
    `packets: ${st.total} (rx ${st.perDirection.rx}, tx ${st.perDirection.tx}) — bypass ${stats.packets.bypass} (${stats.bytes.bypass} B), kernel ${stats.packets.kernel} (${stats.bytes.kernel} B), drop ${stats.packets.drop}, not steered ${stats.packets.none}`,
  );
  const drops = Object.entries(stats.drops).sort((a, b) => b[1] - a[1]);
  L.push(`drops: ${drops.length === 0 ? 'none' : drops.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const rules = session.steering.rules.rules;
  const c = session.steering.counters;
  L.push('rules (packets, flows):');
  for (const r of rules) L.push(`  ${o.ruleLabel(r.index).padEnd(20)} ${r.action.padEnd(6)} ${r.filterText.padEnd(44)} ${c.packets[r.index]} packets, ${c.flows[r.index]} flows`);
  const d = c.packets.length - 1;
  L.push(`  ${'default'.padEnd(20)} ${session.steering.rules.defaultAction.padEnd(6)} ${''.padEnd(44)} ${c.packets[d]} packets, ${c.flows[d]} flows`);
  // Received packets that no rule decided: flows the bypass stack opened, and flows pinned before a reload.
  for (const [rule, what] of [[RULE_LOCAL_PIN, 'flows the bypass stack opened'], [RULE_EARLIER_RULES, 'flows pinned under earlier rules']] as const) {
    const n = o.pinned.packets.get(rule) ?? 0;
    if (n > 0) L.push(`  ${ruleLabelOf(rule).padEnd(20)} ${(rule === RULE_LOCAL_PIN ? 'bypass' : '').padEnd(6)} ${what.padEnd(44)} ${n} packets, ${o.pinned.flows.get(rule)?.size ?? 0} flows`);
  }
  L.push(`flows: ${stats.flows.live} live, ${stats.flows.pinnedToOldRules} pinned to earlier rules, ${stats.flows.evicted} evicted`);
  const observed = session.connections.some((c) => c.observed === true);
  L.push(`tcp connections: ${session.connections.length}${observed ? ' (endpoints followed by the passive observer: states inferred from the segments)' : ''}`);
  for (const conn of session.connections) {
    const state = session.nic.liveState.get(conn.connId) ?? '?';
    L.push(`  #${conn.connId} ${conn.stack.padEnd(6)} ${conn.localAddress}:${conn.localPort} ↔ ${conn.remoteAddress}:${conn.remotePort} ${conn.open.padEnd(7)} ${state}${conn.observed === true ? ' (observed)' : ''}`);
  }
  L.push('latency per path (measured cost, first hop to the end of the last):');
  for (const path of ['bypass', 'kernel', 'drop', 'none'] as const) {
    const h = st.pathLatency.get(path);
    if (h !== undefined) L.push(`  ${path.padEnd(16)} ${hist(h)}`);
  }
  L.push('per hop (time the layer spent on each packet; kernel hops in sim and replay: our emulation\'s cost):');
  const lane = (l: string) => (LAYERS as readonly string[]).indexOf(l);
  for (const [layer, n] of [...st.layerPackets].sort((a, b) => lane(a[0]) - lane(b[0]))) L.push(`  ${layer.padEnd(16)} ${String(n).padStart(7)} packets  ${hist(st.layerLatency.get(layer))}`);
  L.push(`trace: level ${session.recorder.level}, records dropped ${stats.recordsDropped}, hops dropped ${session.recorder.hopsDropped}, transitions ${session.transitions}`);
  if (session.impaired !== undefined) {
    const ic = session.impaired.counters;
    L.push(`impairments: lost ${ic.loss}, duplicated ${ic.duplicated}, corrupted ${ic.corrupted}, reordered ${ic.reordered}, delayed ${ic.delayed}, queue-full ${ic.queueFull}`);
  }
  if (session.workloads.length > 0) {
    L.push('workloads:');
    for (const w of session.workloads) L.push(`  ${w.summary()}`);
  }
  return L;
}

function summaryJson(session: CaptureSession, stats: TraceStats, reason: StopReason, ruleLabel: (r: number) => string): unknown {
  const c = session.steering.counters;
  return {
    virtualMs: session.now,
    stopped: reason,
    packets: session.packets,
    stats,
    rules: session.steering.rules.rules.map((r) => ({ rule: ruleLabel(r.index), action: r.action, filter: r.filterText, packets: c.packets[r.index], flows: c.flows[r.index] })),
    connections: session.connections.map((conn) => ({ ...conn, state: session.nic.liveState.get(conn.connId) })),
    transitions: session.transitions,
    workloads: session.workloads.map((w) => ({ name: w.name, done: w.done, verified: w.verified, errors: w.errors, summary: w.summary() })),
  };
}
