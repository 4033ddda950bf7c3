// engine: the engine process — a child of the extension host (or of a test) that runs one capture at
// a time and speaks engine/protocol.ts over Node IPC ('advanced' serialization, so trace batches
// travel as bytes). It answers every command with a `response`, streams trace batches under flow
// control (a slow parent costs trace records, never packets), and on a crash hands the parent every
// finished batch, an `error` and an `exit` before it exits non-zero.
import { performance } from 'node:perf_hooks'; // not the global: a lazy getter, a call per clock read
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Impairments } from './backends/impair';
import { DeviceRequestError, deviceRulesSuffix, isDeviceBackend, readDeviceRequest } from './backends/device-request';
import { inPrivateNamespace } from './backends/lab';
import { openDevice, type OpenedDevice } from './backends/open-device';
import { nativeLoads } from './backends/tap';
import { pcapBackend } from './backends/pcap';
import { CaptureSession, type StopReason } from './capture/session';
import { fileProblem } from './cli/args';
import {
  BACKENDS,
  PROTOCOL_VERSION,
  TEST_HOOKS_ENV,
  isEngineCommand,
  type BackendName,
  type CaptureState,
  type CaptureSummary,
  type EngineCommand,
  type EngineNotification,
  type EngineTestCommand,
  type FlowStats,
  type RuleDiagnostic,
  type StartCapture,
  type StartResult,
  type StepResult,
} from './protocol';
import { parseRules, type Diagnostic, type RuleSet } from './steer/rules';
import type { PacketHops, TraceLevel } from './trace/recorder';
import { SamplingRecorder } from './trace/sampling';
import type { TraceBatch, TraceStats } from './trace/schema';
import { SCENARIOS, findScenario } from './workloads/mixed';

/** Wall milliseconds between batch flushes (a batch is also cut as soon as it is full). */
const FLUSH_MS = 16;
const STATS_MS = 500;
/** Longest the engine computes without letting its event loop run (commands, acks, flushes). */
const YIELD_MS = 4;
const DEFAULT_MAX_IN_FLIGHT = 8;

/** Used when `start` brings no rules: the same rules as examples/routing.bypass. */
const DEFAULT_RULES = `default kernel
bypass  udp and dst portrange 20000-20999
bypass  tcp port 9000 and host 198.18.0.2
bypass  tcp port 8080
kernel  tcp port 22
drop    icmp and src net 198.19.0.0/16
`;

const testHooks = process.env[TEST_HOOKS_ENV] === '1';

/** The backends this engine really has (the others are named in the protocol and refused with what is missing). */
const AVAILABLE_BACKENDS: readonly BackendName[] = ['sim', 'pcap'];

class CommandError extends Error {}

// ───────────────────────── sending ─────────────────────────

function send(n: EngineNotification, done?: () => void): void {
  if (!process.connected || process.send === undefined) {
    done?.();
    return;
  }
  try {
    process.send(n, undefined, undefined, done === undefined ? undefined : () => done());
  } catch {
    // The channel closed under us: the parent is gone, and `disconnect` ends the process.
    done?.();
  }
}

function log(level: 'info' | 'warn' | 'error' | 'debug', message: string): void {
  send({ type: 'log', level, message });
}

// ───────────────────────── the trace pipe ─────────────────────────

/**
 * Flow control between a recorder and the parent: batches go out at most `maxInFlight` ahead of the
 * parent's acks. At the bound the recorder samples (packet records counted, not recorded) — or, in
 * lossless mode, `mustWait` tells the driver to hold virtual time until the parent catches up.
 */
class TracePipe {
  private readonly outbox: TraceBatch[] = [];
  private lastSent = 0;
  private lastAcked = 0;
  private waiters: (() => void)[] = [];
  batchesSent = 0;

  constructor(
    readonly capture: number,
    readonly recorder: SamplingRecorder,
    readonly maxInFlight: number,
    readonly lossless: boolean,
  ) {}

  get inFlight(): number {
    return this.lastSent - this.lastAcked;
  }

  get lastSeq(): number {
    return this.lastSent;
  }

  /** True (lossless mode) while the parent is a full window behind. */
  get mustWait(): boolean {
    return this.lossless && this.inFlight + this.outbox.length >= this.maxInFlight;
  }

  /** Resolves once the parent has acked enough to go on (or at once). */
  caughtUp(): Promise<void> {
    if (!this.mustWait) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Cuts the current batch and sends what the window allows. */
  flush(): void {
    this.add(this.recorder.takeBatches());
  }

  add(batches: readonly TraceBatch[]): void {
    for (const b of batches) this.outbox.push(b);
    this.pump();
  }

  ack(seq: number): void {
    if (seq <= this.lastAcked) return;
    this.lastAcked = Math.min(seq, this.lastSent);
    this.pump();
  }

  /** Sends every batch regardless of the window: the capture's end, or a crash. */
  drain(done?: () => void): void {
    this.add(this.recorder.takeBatches());
    while (this.outbox.length > 0) this.sendOne(this.outbox.shift()!);
    this.releaseWaiters();
    if (done !== undefined) send({ type: 'log', level: 'debug', message: `capture ${this.capture}: trace drained` }, done);
  }

  /** Lets a lossless driver go (the capture is stopping). */
  releaseWaiters(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private pump(): void {
    while (this.outbox.length > 0 && this.inFlight < this.maxInFlight) this.sendOne(this.outbox.shift()!);
    if (!this.lossless) this.recorder.sampling = this.inFlight + this.outbox.length >= this.maxInFlight;
    if (!this.mustWait) this.releaseWaiters();
  }

  private sendOne(b: TraceBatch): void {
    this.lastSent = b.seq;
    this.batchesSent++;
    send({ type: 'trace', capture: this.capture, batch: b });
    // Sending serialized the records: their buffer can take the next batches.
    this.recorder.recycle(b);
  }
}

// ───────────────────────── a capture ─────────────────────────

class Capture {
  state: CaptureState = 'running';
  summary: CaptureSummary | undefined;
  /** Set by the test hook: the next packet record throws inside the capture. */
  crashInside = false;
  private readonly wallStart = performance.now();
  private lastYield = performance.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly ended: Promise<CaptureSummary>;

  constructor(
    readonly id: number,
    readonly session: CaptureSession,
    readonly pipe: TracePipe,
    readonly limits: { readonly packets?: number; readonly durationMs?: number; readonly speed: number; readonly untilWorkloadsDone?: boolean },
    private readonly device?: OpenedDevice,
  ) {
    session.onConnection.push((connection) => send({ type: 'connection', connection }));
    session.onBatches.push((b) => pipe.add(b));
    if (testHooks) {
      session.onPacket.push(() => {
        if (this.crashInside) throw new Error('test crash inside the capture');
      });
    }
    this.timers.push(setInterval(() => pipe.flush(), FLUSH_MS));
    this.timers.push(setInterval(() => this.sendStats(), STATS_MS));
    this.ended = session
      .run({ ...limits, gate: () => this.gate() })
      .then((reason) => this.finish(reason), (err: unknown) => fatal('capture failed', err));
  }

  get timeNs(): number {
    return this.session.now * 1e6;
  }

  /** Between steps: waits for a lossless consumer, and lets the event loop run every few ms. */
  private gate(): Promise<void> | undefined {
    if (this.pipe.mustWait) return this.pipe.caughtUp();
    const now = performance.now();
    if (now - this.lastYield < YIELD_MS) return undefined;
    this.lastYield = now;
    return new Promise((resolve) => setImmediate(resolve));
  }

  setState(state: CaptureState): void {
    this.state = state;
    send({ type: 'state', capture: this.id, state, timeNs: this.timeNs, summary: state === 'stopped' ? this.summary : undefined });
  }

  stats(): TraceStats {
    const s = this.session.snapshot();
    return { ...s, recordsDropped: s.recordsDropped + this.pipe.recorder.droppedTotal };
  }

  flow(): FlowStats {
    return {
      batchesSent: this.pipe.batchesSent,
      batchesInFlight: this.pipe.inFlight,
      sampling: this.pipe.recorder.sampling,
      recordsDropped: this.pipe.recorder.droppedTotal,
      packets: this.session.packets,
      wallMs: performance.now() - this.wallStart,
    };
  }

  sendStats(): void {
    send({ type: 'stats', capture: this.id, stats: this.stats(), flow: this.flow() });
  }

  /** Ends the capture (if it is still running) and resolves with its summary once the last batch is out. */
  stop(): Promise<CaptureSummary> {
    this.session.stop();
    this.pipe.releaseWaiters();
    return this.ended;
  }

  private finish(reason: StopReason): CaptureSummary {
    for (const t of this.timers) clearInterval(t);
    if (this.device !== undefined) {
      this.session.close();
      void this.device.close();
    }
    this.pipe.drain();
    this.summary = {
      capture: this.id,
      reason,
      packets: this.session.packets,
      transitions: this.session.transitions,
      recordsDropped: this.pipe.recorder.droppedTotal,
      lastSeq: this.pipe.lastSeq,
      timeNs: this.timeNs,
    };
    const problems = this.session.problems;
    if (problems.length > 0) {
      this.summary = { ...this.summary, problems };
      for (const p of problems) log('error', `capture ${this.id}: ${p}`);
    }
    this.sendStats();
    this.setState('stopped');
    return this.summary;
  }

  /** For a crash: stop the timers and send every finished batch. */
  salvage(): void {
    for (const t of this.timers) clearInterval(t);
    this.pipe.drain();
  }
}

// ───────────────────────── commands ─────────────────────────

let current: Capture | undefined;
/** A synthetic trace run (test:synthesize), for the same crash and ack handling as a capture. */
let synthetic: TracePipe | undefined;
let captureIds = 0;

function running(): Capture {
  if (current === undefined || current.state === 'stopped') throw new CommandError('no capture is running');
  return current;
}

async function handle(cmd: EngineCommand | EngineTestCommand): Promise<unknown> {
  switch (cmd.type) {
    case 'start':
      return typeof cmd.capture?.backend === 'string' && isDeviceBackend(cmd.capture.backend) ? startDevice(cmd.capture) : start(cmd.capture);
    case 'stop': {
      if (current === undefined) return undefined;
      return current.stop();
    }
    case 'pause': {
      const c = running();
      if (c.state !== 'paused') {
        c.session.pause();
        c.pipe.flush();
        c.setState('paused');
      }
      return { timeNs: c.timeNs };
    }
    case 'resume': {
      const c = running();
      if (c.state === 'paused') {
        c.session.resume();
        c.setState('running');
      }
      return { timeNs: c.timeNs };
    }
    case 'step': {
      const c = running();
      if (cmd.until !== 'packet' && cmd.until !== 'transition') throw new CommandError(`step wants until 'packet' or 'transition', got '${String(cmd.until)}'`);
      if (c.state !== 'paused') {
        c.session.pause();
        c.setState('paused');
      }
      const advanced = await c.session.step(cmd.until, c.limits.durationMs);
      c.pipe.flush();
      const result: StepResult = { advanced, timeNs: c.timeNs };
      return result;
    }
    case 'reloadRules': {
      const c = running();
      const r = c.session.reloadRules(cmd.text);
      const note = {
        type: 'rules' as const,
        applied: r.applied,
        diagnostics: r.diagnostics.map((d) => toRuleDiagnostic(d, cmd.text)),
        ruleCount: c.session.steering.rules.rules.length,
        pinnedToOldRules: r.pinnedToOldRules,
      };
      send(note);
      if (r.applied) log('info', `capture ${c.id}: rules from ${cmd.source} applied to new flows; ${r.pinnedToOldRules} flows stay pinned to the old rules`);
      else log('warn', `capture ${c.id}: rules from ${cmd.source} have errors; the old rules stay`);
      return { applied: note.applied, diagnostics: note.diagnostics, ruleCount: note.ruleCount, pinnedToOldRules: note.pinnedToOldRules };
    }
    case 'stats': {
      if (current === undefined) throw new CommandError('no capture has run');
      return { stats: current.stats(), flow: current.flow() };
    }
    case 'test:crash':
      return testCrash(cmd.how);
    case 'test:synthesize':
      return synthesize(cmd.records, cmd.lossless !== false, cmd.maxBatchesInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    case 'ack':
      return undefined;
    default:
      throw new CommandError(`unknown command '${(cmd as { type: string }).type}'`);
  }
}

/**
 * A device backend (lab, tap, afpacket), read by the same function the command line and the
 * extension build their requests with. The lab needs the private namespace its launcher made
 * (EngineClient's privateNetworkNamespace).
 */
async function startDevice(c: StartCapture): Promise<StartResult> {
  if (current !== undefined && current.state !== 'stopped') throw new CommandError(`capture ${current.id} is still ${current.state}: stop it first`);
  if (c.backend === 'lab' && !inPrivateNamespace()) throw new CommandError("backend 'lab' needs the engine in a private network namespace: start it with EngineClient's privateNetworkNamespace option (unshare -Urn)");
  if (!nativeLoads()) throw new CommandError(backendMissing(c.backend));
  let device: OpenedDevice;
  try {
    const request = readDeviceRequest(c);
    const { set } = startRules(c, deviceRulesSuffix(request));
    device = await openDevice(request, set);
  } catch (e) {
    if (e instanceof DeviceRequestError) throw new CommandError(e.message);
    throw e;
  }
  try {
    return start(c, device);
  } catch (e) {
    await device.close();
    throw e;
  }
}

function start(c: StartCapture, device?: OpenedDevice): StartResult {
  if (current !== undefined && current.state !== 'stopped') throw new CommandError(`capture ${current.id} is still ${current.state}: stop it first`);
  if (synthetic !== undefined) throw new CommandError('a synthetic trace run is in progress');
  if (typeof c !== 'object' || c === null) throw new CommandError('start wants a capture description');
  const backend = c.backend as string;
  const real = isDeviceBackend(backend) && device !== undefined;
  if (!real && !AVAILABLE_BACKENDS.includes(backend as BackendName)) {
    if (BACKENDS.includes(backend as BackendName)) throw new CommandError(backendMissing(backend as BackendName));
    throw new CommandError(`unknown backend '${backend}' (want one of ${BACKENDS.join(', ')})`);
  }
  const replay = backend === 'pcap';
  if (replay && (typeof c.file !== 'string' || c.file === '')) throw new CommandError("backend 'pcap' wants file: the path of the pcap or pcapng file to replay");
  // A replay plays its file: it runs no workloads, whatever scenario is named. On afpacket the remote
  // hosts are the network's: no workloads either.
  if (backend === 'afpacket' && c.scenario !== undefined && c.scenario !== 'idle') throw new CommandError(`backend 'afpacket' runs no workloads (the remote hosts are the network's): scenario idle, got '${c.scenario}'`);
  const scenarioName = replay || backend === 'afpacket' ? 'idle' : (c.scenario ?? 'mixed');
  const scenario = findScenario(scenarioName);
  if (scenario === undefined) throw new CommandError(`unknown scenario '${scenarioName}' (want one of ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const { set: rules, source: rulesSource } = startRules(c, device === undefined ? '' : deviceRulesSuffix(readDeviceRequest(c)));
  const level = c.traceLevel ?? 'full';
  if (level !== 'off' && level !== 'summary' && level !== 'full') throw new CommandError(`traceLevel wants off, summary or full, got '${String(level)}'`);
  const seed = c.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0) throw new CommandError(`seed wants an integer ≥ 0, got ${seed}`);
  const speed = c.speed === undefined ? 1 : c.speed === 'max' ? Infinity : c.speed;
  if (typeof speed !== 'number' || !(speed > 0)) throw new CommandError(`speed wants a number > 0 or 'max', got ${String(c.speed)}`);
  const maxInFlight = c.maxBatchesInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new CommandError(`maxBatchesInFlight wants an integer ≥ 1, got ${maxInFlight}`);
  if (c.packets !== undefined && !(Number.isInteger(c.packets) && c.packets > 0)) throw new CommandError(`packets wants an integer > 0, got ${c.packets}`);
  if (c.durationSec !== undefined && !(c.durationSec > 0)) throw new CommandError(`durationSec wants a number > 0, got ${c.durationSec}`);
  if (c.snapLen !== undefined && !(Number.isInteger(c.snapLen) && c.snapLen >= 0 && c.snapLen <= 65535)) throw new CommandError(`snapLen wants an integer from 0 to 65535, got ${c.snapLen}`);

  const recorder = new SamplingRecorder({ level: level as TraceLevel, snapLen: c.snapLen, recycleBatches: true });
  let session: CaptureSession;
  try {
    session = new CaptureSession({
      backend: device?.backend ?? (replay ? pcapBackend({ file: c.file! }) : 'sim'),
      kernel: device?.kernel,
      host: device?.host,
      rules,
      scenario,
      seed,
      impairments: impairments(c),
      recorder,
    });
  } catch (err) {
    if (replay) throw new CommandError(`capture file ${fileProblem(c.file!, err)}`);
    throw err;
  }
  const durationMs = c.durationSec === undefined ? undefined : c.durationSec * 1000;
  const id = ++captureIds;
  const pipe = new TracePipe(id, recorder, maxInFlight, c.lossless === true);
  send({ type: 'state', capture: id, state: 'running', timeNs: 0 });
  // In real time a scenario's run ends once its workloads are done (as the command line's does), or at its duration.
  const untilWorkloadsDone = device !== undefined && scenario.name !== 'idle';
  current = new Capture(id, session, pipe, { packets: c.packets, durationMs, speed, untilWorkloadsDone }, device);
  const what = replay ? `pcap replay of ${c.file}` : `${backend}, scenario ${scenario.name}`;
  log('info', `capture ${id}: ${what}, rules ${rulesSource}, seed ${seed}, trace ${level}${c.lossless ? ', lossless' : ''}`);
  const result: StartResult = { capture: id, backend: backend as BackendName, scenario: scenario.name, traceLevel: level, seed, ruleCount: rules.rules.length };
  return session.backend.timeOrigin === undefined ? result : { ...result, timeOrigin: session.backend.timeOrigin };
}

function backendMissing(b: BackendName): string {
  const what: Record<BackendName, string> = {
    sim: '',
    lab: 'the lab needs the engine in a private network namespace (EngineClient privateNetworkNamespace)',
    tap: 'the tap backend needs koffi (native/), which does not load here',
    afpacket: 'the afpacket backend needs koffi (native/), which does not load here',
    pcap: '',
  };
  return `backend '${b}' is not available: ${what[b]}; use ${AVAILABLE_BACKENDS.map((x) => `'${x}'`).join(' or ')}`;
}

function startRules(c: StartCapture, suffix = ''): { set: RuleSet; source: string } {
  const { text, source } = c.rules ?? defaultRules();
  const set = parseRules(text + suffix);
  const errors = set.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const d = errors[0];
    send({ type: 'rules', applied: false, diagnostics: set.diagnostics.map((x) => toRuleDiagnostic(x, text)), ruleCount: 0, pinnedToOldRules: 0 });
    throw new CommandError(`${source}:${d.range.line}:${d.range.column}: ${d.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`);
  }
  return { set, source };
}

/** The repository's example rules when the engine runs from out/engine; the built-in copy otherwise. */
function defaultRules(): { text: string; source: string } {
  try {
    return { text: readFileSync(join(__dirname, '..', '..', 'examples', 'routing.bypass'), 'utf8'), source: 'examples/routing.bypass' };
  } catch {
    return { text: DEFAULT_RULES, source: '(built-in default rules)' };
  }
}

function impairments(c: StartCapture): Impairments | undefined {
  const i = c.impairments;
  if (i === undefined) return undefined;
  for (const k of ['loss', 'reorder', 'duplicate', 'corrupt'] as const) {
    const p = i[k];
    if (p !== undefined && !(p >= 0 && p <= 1)) throw new CommandError(`impairments.${k} wants a probability from 0 to 1, got ${p}`);
  }
  for (const k of ['delayMs', 'jitterMs', 'rateMbit', 'mtu'] as const) {
    const v = i[k];
    if (v !== undefined && !(v >= 0)) throw new CommandError(`impairments.${k} wants a number ≥ 0, got ${v}`);
  }
  return { ...i };
}

/** Source range (1-based line and column, offset and length) to the protocol's start and end. */
function toRuleDiagnostic(d: Diagnostic, text: string): RuleDiagnostic {
  const covered = text.slice(d.range.offset, d.range.offset + d.range.length);
  const nl = covered.lastIndexOf('\n');
  const lines = covered.split('\n').length - 1;
  return {
    severity: d.severity,
    message: d.message,
    line: d.range.line,
    column: d.range.column,
    endLine: d.range.line + lines,
    endColumn: nl < 0 ? d.range.column + d.range.length : covered.length - nl,
  };
}

// ───────────────────────── test hooks ─────────────────────────

function requireHooks(type: string): void {
  if (!testHooks) throw new CommandError(`unknown command '${type}' (test commands need ${TEST_HOOKS_ENV}=1)`);
}

function testCrash(how: 'exception' | 'rejection' | 'in-capture'): unknown {
  requireHooks('test:crash');
  switch (how) {
    case 'exception':
      setImmediate(() => {
        throw new Error('test crash: an uncaught exception');
      });
      return undefined;
    case 'rejection':
      setImmediate(() => void Promise.reject(new Error('test crash: an unhandled rejection')));
      return undefined;
    case 'in-capture':
      running().crashInside = true;
      return undefined;
    default:
      throw new CommandError(`test:crash wants how 'exception', 'rejection' or 'in-capture', got '${String(how)}'`);
  }
}

const SYNTH_FRAME = new Uint8Array(128).fill(0xab);
/** The synthetic record's eight hops, as the NIC hands a packet's hops to the recorder. */
const SYNTH_HOPS: PacketHops = {
  count: 8,
  layers: ['nic.rx', 'steer', 'bypass.eth', 'bypass.ip', 'bypass.tcp', 'bypass.socket', 'app', 'nic.tx'],
  kinds: new Array(8).fill('measured'),
  verdicts: ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'deliver'],
  reasons: new Array(8).fill(undefined),
  offsets: [0, 0, 100, 200, 300, 400, 500, 500],
  durations: [0, 100, 100, 100, 100, 100, 0, 0],
};

/** Records `n` synthetic packet records through a pipe of its own, as fast as it can; answers when all are out. */
async function synthesize(n: number, lossless: boolean, maxInFlight: number): Promise<unknown> {
  requireHooks('test:synthesize');
  if (!(Number.isInteger(n) && n > 0)) throw new CommandError(`test:synthesize wants records > 0, got ${n}`);
  if (current !== undefined && current.state !== 'stopped') throw new CommandError('a capture is running');
  if (synthetic !== undefined) throw new CommandError('a synthetic trace run is in progress');
  const recorder = new SamplingRecorder({ level: 'full', recycleBatches: true });
  const id = ++captureIds;
  if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) throw new CommandError(`test:synthesize wants maxBatchesInFlight ≥ 1, got ${maxInFlight}`);
  const pipe = new TracePipe(id, recorder, maxInFlight, lossless);
  synthetic = pipe;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let lastFlush = started;
  try {
    for (let i = 1; i <= n; i++) {
      recorder.packet('rx', 0, i * 1000, SYNTH_FRAME, SYNTH_FRAME.length, i, 'bypass', 0, 1, 0, 0, SYNTH_HOPS);
      if ((i & 1023) === 0) {
        const now = performance.now();
        if (now - lastFlush >= FLUSH_MS) {
          lastFlush = now;
          pipe.flush();
          await new Promise((resolve) => setImmediate(resolve));
        }
        while (pipe.mustWait) await pipe.caughtUp();
      }
    }
    pipe.drain();
    const cpu = process.cpuUsage(cpu0);
    return { capture: id, records: n, recordsDropped: recorder.droppedTotal, lastSeq: pipe.lastSeq, engineMs: performance.now() - started, engineCpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    synthetic = undefined;
  }
}

// ───────────────────────── the process ─────────────────────────

let dying = false;

/** The end after a failure: every finished batch, then `error` and `exit`, then exit non-zero. */
function fatal(what: string, err: unknown): never {
  if (!dying) {
    dying = true;
    const e = err instanceof Error ? err : new Error(String(err));
    try {
      current?.salvage();
      synthetic?.drain();
    } catch {
      // Salvaging is best effort: the error and exit below matter more.
    }
    send({ type: 'error', message: `${what}: ${e.message}`, detail: e.stack });
    send({ type: 'exit', reason: `${what}: ${e.message}`, code: 1 }, () => process.exit(1));
    // If the channel never drains, go anyway.
    setTimeout(() => process.exit(1), 5000).unref();
  }
  // Keep the process alive until the exit notification has been written.
  return undefined as never;
}

process.on('uncaughtException', (err) => fatal('uncaught exception', err));
process.on('unhandledRejection', (reason) => fatal('unhandled rejection', reason));
process.on('disconnect', () => {
  // The parent is gone: nobody to stream to.
  current?.session.stop();
  process.exit(0);
});

process.on('message', (msg: unknown) => {
  if (dying) return;
  if (!isEngineCommand(msg)) {
    send({ type: 'error', message: `not an engine command: ${JSON.stringify(msg)?.slice(0, 200)}` });
    return;
  }
  if (msg.type === 'ack') {
    const pipe = current?.pipe.capture === msg.capture ? current.pipe : synthetic?.capture === msg.capture ? synthetic : undefined;
    pipe?.ack(msg.seq);
    return;
  }
  const cmd = msg as EngineCommand | EngineTestCommand;
  const id = (cmd as { id: number }).id;
  handle(cmd).then(
    (result) => send({ type: 'response', id, ok: true, result }),
    (err: unknown) => {
      if (err instanceof CommandError) send({ type: 'response', id, ok: false, error: err.message });
      else send({ type: 'response', id, ok: false, error: `${cmd.type} failed: ${err instanceof Error ? err.message : String(err)}` });
    },
  );
});

if (process.send === undefined) {
  process.stderr.write('bypass-scope engine: run me as a child process with an IPC channel (child_process.fork)\n');
  process.exit(2);
}
send({ type: 'hello', protocol: PROTOCOL_VERSION, pid: process.pid, backends: [...AVAILABLE_BACKENDS, ...(nativeLoads() ? (inPrivateNamespace() ? (['lab', 'tap', 'afpacket'] as const) : (['tap', 'afpacket'] as const)) : [])] });
