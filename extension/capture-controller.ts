// extension: the capture controller — the captures of this window (the live one and the ones before
// it, each with its own store), starting, stopping, pausing and stepping them through the engine
// host, feeding each store from the trace stream, and telling the views, the status bar and the
// visualizer what changed. A crashed engine leaves its capture's packets where they are.
import * as vscode from 'vscode';
import type { BackendName, CaptureSummary, ImpairmentSettings, StartCapture, StartResult, StepResult, TraceLevelName } from '../engine/protocol';
import type { RulesResult } from '../engine/client';
import { DeviceRequestError, deviceStartRequest, isDeviceBackend, type DeviceStartRequest } from '../engine/backends/device-request';
import { parseRules, type RuleSet } from '../engine/steer/rules';
import type { ConnectionInfo, TraceBatch } from '../engine/trace/schema';
import type { RuleLabel } from '../webview/protocol';
import { CaptureStore, type StatsWithRules } from './capture-store';
import { Disposable } from './dispose';
import { SHARED_ENGINE, type EngineCrash, type EngineHost, type EnginePlace } from './engine-host';
import { findPreset } from './impairments';
import { backendAllowed, readSettings, type Settings } from './settings';

export type CaptureState = 'starting' | 'running' | 'paused' | 'stopped' | 'crashed' | 'failed';

/** What to capture: Start Capture's answers, or a caller's (tests, the walkthrough, start on open). */
export interface CaptureRequest {
  readonly backend: BackendName;
  /** sim/lab: the workload scenario (default: the setting, `mixed`). */
  readonly scenario?: string;
  /** pcap: the capture file to replay (a path). */
  readonly file?: string;
  /** tap/afpacket: the device. */
  readonly device?: string;
  /** afpacket: the bypass stack's own address on the device's network, A.B.C.D/N. */
  readonly address?: string;
  /**
   * tap/afpacket: the named network namespace (`ip netns`) the device lives in; the capture's engine
   * is started inside it (needs root). Default: the setting bypassScope.capture.networkNamespace.
   */
  readonly networkNamespace?: string;
  /** The rules file as a URI string; undefined: the setting's file, else the extension's examples/routing.bypass. */
  readonly rulesUri?: string;
  /** An impairment preset id (extension/impairments.ts), or the impairments themselves. */
  readonly impairment?: string;
  readonly impairments?: ImpairmentSettings;
  readonly speed?: number | 'max';
  readonly durationSec?: number;
  readonly packets?: number;
  readonly seed?: number;
  readonly traceLevel?: TraceLevelName;
  readonly lossless?: boolean;
}

export interface CaptureRules {
  /** The rules file as a URI string; the built-in rules are the extension's own examples/routing.bypass. */
  readonly uri: string;
  readonly builtIn: boolean;
  readonly text: string;
  /** The file's base name, as rule labels use it (`routing.bypass:5`). */
  readonly name: string;
  readonly set: RuleSet;
  readonly labels: readonly RuleLabel[];
}

export class TrustError extends Error {
  constructor(readonly backend: BackendName) {
    super(`the ${backend} backend works on this machine's devices and namespaces, so it runs only in a trusted workspace`);
    this.name = 'TrustError';
  }
}

export class Capture {
  state: CaptureState = 'starting';
  /** The engine's number for it, and which engine process (EngineHost.starts) ran it. */
  engineCapture: number | undefined;
  engineStart = 0;
  result: StartResult | undefined;
  summary: CaptureSummary | undefined;
  error: string | undefined;
  readonly startedAt = Date.now();
  stoppedAt: number | undefined;
  packetsPerSecond = 0;
  pinnedToOldRules = 0;
  /** The virtual time the engine last reported (ns). */
  timeNs = 0;
  private lastRate: { packets: number; wallMs: number } | undefined;

  constructor(
    readonly serial: number,
    readonly request: CaptureRequest,
    readonly store: CaptureStore,
    public rules: CaptureRules,
  ) {}

  get live(): boolean {
    return this.state === 'running' || this.state === 'paused';
  }

  /** What it captures: `sim · mixed`, `pcap · sample.pcapng`, `tap · tap0`. */
  get source(): string {
    const r = this.request;
    const what = r.backend === 'pcap' ? basename(r.file ?? '?') : r.backend === 'tap' || r.backend === 'afpacket' ? (r.device ?? '?') : (this.result?.scenario ?? r.scenario ?? 'mixed');
    return `${r.backend} · ${what}`;
  }

  get title(): string {
    return `Capture ${this.serial} (${this.source})`;
  }

  /** Rule `index` by its line in the rules file: `routing.bypass:5`. */
  ruleName(index: number): string {
    const label = this.rules.labels.find((l) => l.index === index);
    return `${this.rules.name}:${label?.line ?? `#${index}`}`;
  }

  /** Packets on the bypass path among all packets, 0…1; undefined before the first packet. */
  shareBypassed(): number | undefined {
    const p = this.store.lastStats?.packets ?? this.store.pathTotals();
    const all = p.bypass + p.kernel + p.drop + p.none;
    return all === 0 ? undefined : p.bypass / all;
  }

  noteRate(packets: number, wallMs: number): void {
    if (this.lastRate !== undefined && wallMs > this.lastRate.wallMs) {
      this.packetsPerSecond = ((packets - this.lastRate.packets) * 1000) / (wallMs - this.lastRate.wallMs);
    }
    this.lastRate = { packets, wallMs };
  }
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/** Rule labels as the visualizer shows them: index, line, action, filter text. */
export function ruleLabels(set: RuleSet): RuleLabel[] {
  return set.rules.map((r) => ({ index: r.index, line: r.range.line, action: r.action, filter: r.filterText }));
}

export interface TraceEvent {
  readonly capture: Capture;
  readonly batch: TraceBatch;
}

export class CaptureController extends Disposable {
  readonly captures: Capture[] = [];
  /** The capture the visualizer and the views show (the newest, unless the user picked another). */
  viewed: Capture | undefined;
  private serial = 0;
  private changeTimer: NodeJS.Timeout | undefined;

  private readonly changeEmitter = this.register(new vscode.EventEmitter<void>());
  /** Something about the captures changed (states at once, counts at most four times a second). */
  readonly onDidChange = this.changeEmitter.event;
  private readonly traceEmitter = this.register(new vscode.EventEmitter<TraceEvent>());
  readonly onTrace = this.traceEmitter.event;
  private readonly connectionEmitter = this.register(new vscode.EventEmitter<{ capture: Capture; connection: ConnectionInfo }>());
  readonly onConnection = this.connectionEmitter.event;
  private readonly statsEmitter = this.register(new vscode.EventEmitter<{ capture: Capture; stats: StatsWithRules }>());
  readonly onStats = this.statsEmitter.event;
  private readonly stateEmitter = this.register(new vscode.EventEmitter<Capture>());
  /** A capture's state or rules changed. */
  readonly onDidChangeCaptureState = this.stateEmitter.event;
  private readonly viewedEmitter = this.register(new vscode.EventEmitter<Capture | undefined>());
  readonly onDidChangeViewed = this.viewedEmitter.event;
  private readonly crashEmitter = this.register(new vscode.EventEmitter<{ capture: Capture | undefined; crash: EngineCrash }>());
  readonly onDidCrash = this.crashEmitter.event;

  constructor(
    readonly host: EngineHost,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    host.setTraceConsumer((batch, engineCapture) => this.onBatch(batch, engineCapture));
    this.register(host.onNotification((n) => {
      switch (n.type) {
        case 'connection': {
          const c = this.onEngine((x) => x.live || x.state === 'starting');
          if (c === undefined) break;
          c.store.addConnection(n.connection);
          this.connectionEmitter.fire({ capture: c, connection: n.connection });
          this.changedSoon();
          break;
        }
        case 'stats': {
          const c = this.byEngineCapture(n.capture);
          if (c === undefined) break;
          c.store.setStats(n.stats as StatsWithRules);
          c.noteRate(n.flow.packets, n.flow.wallMs);
          c.pinnedToOldRules = n.stats.flows.pinnedToOldRules;
          c.timeNs = n.stats.timeNs;
          this.statsEmitter.fire({ capture: c, stats: n.stats as StatsWithRules });
          this.changedSoon();
          break;
        }
        case 'state': {
          if (n.state === 'idle') break;
          const c = this.byEngineCapture(n.capture);
          if (c === undefined) break;
          c.timeNs = n.timeNs;
          if (n.state === 'stopped') this.markStopped(c, 'stopped', n.summary);
          else this.setState(c, n.state);
          break;
        }
        default:
          break;
      }
    }));
    // An engine ended on purpose (restart, shutdown) takes its live capture with it.
    this.register(host.onDidChangeState((state) => {
      if (state !== 'stopped') return;
      const c = this.onEngine((x) => x.live);
      if (c !== undefined) this.markStopped(c, 'stopped', undefined);
    }));
    this.register(host.onDidCrash((crash) => {
      const c = this.onEngine((x) => x.live || x.state === 'starting');
      if (c !== undefined) {
        c.error = crash.message;
        this.markStopped(c, 'crashed', undefined);
      }
      this.crashEmitter.fire({ capture: c, crash });
    }));
  }

  /** The newest capture. */
  get current(): Capture | undefined {
    return this.captures[this.captures.length - 1];
  }

  /** The capture that is running or paused, if any. */
  get live(): Capture | undefined {
    const c = this.current;
    return c?.live ? c : undefined;
  }

  setViewed(c: Capture | undefined): void {
    if (this.viewed === c) return;
    this.viewed = c;
    this.viewedEmitter.fire(c);
    this.changeEmitter.fire();
  }

  /** Reads and checks the rules a capture would run with. Throws with the file's first errors. */
  async loadRules(rulesUri: string | undefined, settings: Settings = readSettings()): Promise<CaptureRules> {
    let uri: vscode.Uri;
    let builtIn = false;
    if (rulesUri !== undefined) uri = vscode.Uri.parse(rulesUri);
    else if (settings.defaultRulesFile) uri = resolveWorkspacePath(settings.defaultRulesFile);
    else {
      uri = vscode.Uri.joinPath(this.extensionUri, 'examples', 'routing.bypass');
      builtIn = true;
    }
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch (e) {
      throw new Error(`cannot read the rules file ${uri.fsPath}: ${(e as Error).message}`);
    }
    const set = parseRules(text);
    const name = basename(uri.path);
    const errors = set.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      const first = errors.slice(0, 3).map((d) => `${name}:${d.range.line}:${d.range.column}: ${d.message}`).join('; ');
      throw new Error(`the rules file has ${errors.length} error${errors.length > 1 ? 's' : ''}: ${first}`);
    }
    return { uri: uri.toString(), builtIn, text, name, set, labels: ruleLabels(set) };
  }

  /** Starts a capture (stopping the live one first). Resolves once the engine runs it. */
  async start(request: CaptureRequest): Promise<Capture> {
    if (!backendAllowed(request.backend, vscode.workspace.isTrusted)) throw new TrustError(request.backend);
    const settings = readSettings();
    // The device backends' request is the command line's: built and checked by the same function.
    let device: DeviceStartRequest | undefined;
    try {
      device = isDeviceBackend(request.backend) ? deviceStartRequest({ backend: request.backend, device: request.device, address: request.address, lab: settings.lab }) : undefined;
    } catch (e) {
      if (e instanceof DeviceRequestError) throw new Error(e.message);
      throw e;
    }
    const rules = await this.loadRules(request.rulesUri, settings);
    if (this.live !== undefined) await this.stop();
    const capture = new Capture(++this.serial, request, new CaptureStore(settings.bufferPackets), rules);
    this.captures.push(capture);
    this.releaseOldCaptures(settings.bufferPackets);
    this.setViewed(capture);
    this.stateEmitter.fire(capture);
    try {
      const client = await this.host.ensure(enginePlace(request, settings));
      capture.engineStart = this.host.starts;
      const impairments = request.impairments ?? (request.impairment !== undefined ? findPreset(request.impairment)?.impairments : undefined);
      const start: StartCapture = {
        ...device,
        backend: request.backend,
        // afpacket runs no workloads: the remote hosts are the network's.
        scenario: request.backend === 'afpacket' ? 'idle' : request.backend === 'pcap' ? undefined : (request.scenario ?? settings.defaultScenario),
        rules: { text: rules.text, source: rules.builtIn ? `${rules.name} (built in)` : rules.name },
        impairments,
        traceLevel: request.traceLevel ?? settings.traceLevel,
        seed: request.seed,
        lossless: request.lossless ?? (request.backend === 'sim' ? settings.simLossless : undefined),
        file: request.file,
        packets: request.packets,
        durationSec: request.durationSec,
        speed: request.speed ?? (request.backend === 'sim' ? settings.speed : undefined),
      };
      const result = await client.start(start);
      capture.result = result;
      capture.engineCapture = result.capture;
      if (capture.state === 'starting') this.setState(capture, 'running');
      this.log.info(`${capture.title}: started with ${rules.set.rules.length} rules from ${rules.name}, trace ${result.traceLevel}, seed ${result.seed}`);
      return capture;
    } catch (e) {
      capture.error = (e as Error).message;
      this.markStopped(capture, capture.state === 'crashed' ? 'crashed' : 'failed', undefined);
      throw e;
    }
  }

  /** A capture with an engine of its own (lab, a named namespace) has ended: that engine and its namespace go. */
  private releaseEngineOf(c: Capture): void {
    if (c !== this.current || this.host.place.kind === 'shared') return;
    void this.host.release().then(
      () => this.log.info(`${c.title}: its engine has ended, with its namespace`),
      (e: Error) => this.log.warn(`${c.title}: ending its engine: ${e.message}`),
    );
  }

  /** Stops the live capture; resolves with the engine's summary (undefined when nothing ran). */
  async stop(): Promise<CaptureSummary | undefined> {
    const c = this.live;
    const client = this.host.current;
    if (c === undefined || client === undefined) return undefined;
    const summary = await client.stop();
    this.markStopped(c, 'stopped', summary);
    return summary;
  }

  /** Pauses a running capture or resumes a paused one; resolves with the new state. */
  async togglePause(): Promise<CaptureState> {
    const c = this.live;
    const client = this.host.current;
    if (c === undefined || client === undefined) throw new Error('no capture is running');
    if (c.state === 'running') {
      await client.pause();
      this.setState(c, 'paused');
    } else {
      await client.resume();
      this.setState(c, 'running');
    }
    return c.state;
  }

  /** Lets the live capture run to its next packet or TCP transition (pausing it first). */
  async step(until: 'packet' | 'transition'): Promise<StepResult> {
    const c = this.live;
    const client = this.host.current;
    if (c === undefined || client === undefined) throw new Error('no capture is running');
    const r = await client.step(until);
    if (c.state === 'running') this.setState(c, 'paused');
    c.timeNs = r.timeNs;
    return r;
  }

  /** Loads rules text into the live capture; when applied, the capture's rules become that file's. */
  async reloadRules(uri: string, text: string): Promise<RulesResult> {
    const c = this.live;
    const client = this.host.current;
    if (c === undefined || client === undefined) throw new Error('no capture is running');
    const name = basename(vscode.Uri.parse(uri).path);
    const r = await client.reloadRules(text, name);
    if (r.applied) {
      const set = parseRules(text);
      c.rules = { uri, builtIn: false, text, name, set, labels: ruleLabels(set) };
      c.pinnedToOldRules = r.pinnedToOldRules;
      this.log.info(`${c.title}: rules reloaded from ${name}: ${r.ruleCount} rules; ${r.pinnedToOldRules} flows stay pinned to the old rules`);
      this.stateEmitter.fire(c);
      this.changeEmitter.fire();
    } else {
      this.log.warn(`${c.title}: ${name} has errors; the capture keeps its rules`);
    }
    return r;
  }

  /** After a crash: a new engine, and the crashed capture started again as a new one (the old one keeps its packets). */
  async restartEngine(): Promise<Capture | undefined> {
    const crashed = [...this.captures].reverse().find((c) => c.state === 'crashed');
    await this.host.restart();
    this.log.info(`engine: restarted (pid ${this.host.pid})`);
    if (crashed === undefined || crashed !== this.current) return undefined;
    return this.start(crashed.request);
  }

  override dispose(): void {
    if (this.changeTimer !== undefined) clearTimeout(this.changeTimer);
    super.dispose();
  }

  // ───────────── internals

  private onBatch(batch: TraceBatch, engineCapture: number): void {
    const c = this.byEngineCapture(engineCapture);
    if (c === undefined) return;
    const r = c.store.addBatch(batch);
    if (r.error !== undefined) this.log.warn(`${c.title}: ${r.error}; the records before it are kept`);
    this.traceEmitter.fire({ capture: c, batch });
    // A live capture's views follow four times a second; one paused, stepped or ended shows at once.
    if (c.state === 'running' || c.state === 'starting') this.changedSoon();
    else this.changeEmitter.fire();
  }

  private byEngineCapture(id: number): Capture | undefined {
    for (let i = this.captures.length - 1; i >= 0; i--) {
      const c = this.captures[i];
      if (c.engineCapture === id && c.engineStart === this.host.starts) return c;
    }
    // Batches and notifications can arrive before `start` has answered: they are the starting capture's.
    const cur = this.current;
    if (cur !== undefined && cur.state === 'starting' && cur.engineCapture === undefined) {
      cur.engineCapture = id;
      cur.engineStart = this.host.starts;
      return cur;
    }
    return undefined;
  }

  /** The newest capture run by the current engine process that `match` accepts. */
  private onEngine(match: (c: Capture) => boolean): Capture | undefined {
    const c = this.current;
    return c !== undefined && (c.engineStart === this.host.starts || c.engineStart === 0) && match(c) ? c : undefined;
  }

  private setState(c: Capture, s: CaptureState): void {
    if (c.state === s) return;
    // A capture that ended stays ended.
    if (c.state === 'stopped' || c.state === 'crashed' || c.state === 'failed') return;
    c.state = s;
    this.stateEmitter.fire(c);
    this.changeEmitter.fire();
  }

  private markStopped(c: Capture, s: 'stopped' | 'crashed' | 'failed', summary: CaptureSummary | undefined): void {
    if (summary !== undefined) c.summary = summary;
    if (c.state === 'stopped' || c.state === 'crashed' || c.state === 'failed') return;
    c.state = s;
    c.stoppedAt = Date.now();
    c.packetsPerSecond = 0;
    this.releaseEngineOf(c);
    if (s === 'stopped') this.log.info(`${c.title}: stopped (${summary?.reason ?? 'asked'}), ${c.store.totalPackets} packets, ${c.store.totalTransitions} transitions`);
    this.stateEmitter.fire(c);
    this.changeEmitter.fire();
  }

  /** Earlier captures keep their packets until they and the newest together hold more than twice the buffer. */
  private releaseOldCaptures(buffer: number): void {
    let held = this.captures.reduce((a, c) => a + c.store.size, 0);
    while (held > 2 * buffer && this.captures.length > 1) {
      const i = this.captures.findIndex((c) => c !== this.viewed && c !== this.current);
      if (i < 0) break;
      const [gone] = this.captures.splice(i, 1);
      held -= gone.store.size;
      this.log.info(`${gone.title}: released (the capture buffer holds ${buffer} packets; export a capture to keep it)`);
    }
  }

  private changedSoon(): void {
    if (this.changeTimer !== undefined) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.changeEmitter.fire();
    }, 250);
  }
}

/** Where a capture's engine runs: lab in a private namespace of its own, a device in its named namespace, else the shared engine. */
function enginePlace(r: CaptureRequest, settings: Settings): EnginePlace {
  if (r.backend === 'lab') return { kind: 'lab' };
  const netns = r.networkNamespace ?? settings.networkNamespace;
  if ((r.backend === 'tap' || r.backend === 'afpacket') && netns) return { kind: 'netns', name: netns };
  return SHARED_ENGINE;
}

/** A path from the settings: absolute, or relative to the first workspace folder. */
export function resolveWorkspacePath(p: string): vscode.Uri {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return vscode.Uri.parse(p);
  if (p.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(p)) return vscode.Uri.file(p);
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? vscode.Uri.joinPath(folder.uri, p) : vscode.Uri.file(p);
}
