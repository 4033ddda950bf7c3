// capture: a capture session — wires a backend, the NIC, the bypass stack, the kernel path, the trace
// recorder, the workloads and the clock together, and drives them: run (as fast as possible, or
// paced against wall time), pause, step one record at a time, resume, reload rules, stop.
//
// Two seams make the parts replaceable without touching the NIC:
//   the backend (backends/backend.ts)  the wire-side Device the NIC sits on and the Driver (clock):
//                                      sim (SimWire + virtual clock + peer stack), pcap replay, lab
//   the kernel path (kernel/path.ts)   what plays the host's kernel: the emulated kernel in sim and
//                                      replay, the real Linux kernel behind a TAP in the lab
//
// `sim` topology (DESIGN.md "The lab topology", simulated):
//   peer stack 198.18.0.1 ── SimWire ── [impairments] ── NIC ─┬─ bypass stack 198.18.0.2
//   (the remote hosts: workload clients and servers)          └─ kernel path 198.18.0.2
// Impairments wrap the backend's device, both ways: the engine applies them on the wire side of its
// NIC, as it does on every backend (in the lab the peer is a real kernel it cannot wrap).
import { performance } from 'node:perf_hooks'; // not the global: a lazy getter, a call per clock read
import type { BackendFactory, CaptureBackend, Driver, Pollable } from '../backends/backend';
import type { Device } from '../backends/device';
import { ImpairedDevice, type Impairments } from '../backends/impair';
import { simBackend } from '../backends/sim-backend';
import { SeededRng } from '../tcp/rng';
import { emulatedKernel } from '../kernel/emulated';
import type { KernelPath, KernelPathFactory } from '../kernel/path';
import { Ipv4Stack } from '../stack/index';
import { parseRules, type Diagnostic, type RuleSet } from '../steer/rules';
import { Steering } from '../steer/steering';
import { LINUX_TCP_CONFIG, type TcpConfig } from '../tcp/index';
import { TraceRecorder, type TraceLevel } from '../trace/recorder';
import type { ConnectionInfo, TraceBatch, TraceStats } from '../trace/schema';
import { stackHost, VirtualTimers, type WorkloadHost, type WorkloadRun } from '../workloads/api';
import { findScenario, type Scenario, type ScenarioHosts } from '../workloads/mixed';
import { Nic, type HostSide, type PacketTrace, type TraceTransition } from './nic';
import { PassiveTcp } from './passive-tcp';
import { ReplayHost, ReplayKernelPath } from './replay';
import { CaptureStats } from './stats';

export const HOST_ADDRESS = 0xc6120002; // 198.18.0.2
export const PEER_ADDRESS = 0xc6120001; // 198.18.0.1
/** One MAC for both host stacks, as under OpenOnload. Locally administered. */
export const HOST_MAC = new Uint8Array([0x02, 0x42, 0x53, 0x00, 0x00, 0x02]);
export const PEER_MAC = new Uint8Array([0x02, 0x42, 0x53, 0x00, 0x00, 0x01]);

/**
 * The bypass stack's TCP: Linux's defaults, but without delayed ACKs and with Nagle off, as
 * latency-tuned kernel-bypass stacks run. The difference is deliberate: it is what the two lanes compare.
 */
export const BYPASS_TCP_CONFIG: Partial<TcpConfig> = { ...LINUX_TCP_CONFIG, delayedAckTimeout: 0, noDelay: true };

export interface SessionOptions {
  /** Where frames come from: `sim` (the default) or a backend factory (pcap replay, the lab). */
  readonly backend?: 'sim' | BackendFactory;
  /** What plays the host's kernel: the emulated kernel (the default, with `kernelTcp`) or another path (the lab's real kernel). */
  readonly kernel?: KernelPathFactory;
  /** Rules (parsed); a rule set with errors is refused. */
  readonly rules: RuleSet;
  readonly scenario?: string | Scenario;
  readonly seed?: number;
  readonly impairments?: Impairments;
  readonly traceLevel?: TraceLevel;
  readonly snapLen?: number;
  /** sim: wire propagation delay (ms) and rate (bit/s). */
  readonly wireLatencyMs?: number;
  readonly wireRateBps?: number;
  /** Virtual ms between TraceStats snapshots (and flow-table sweeps). */
  readonly statsIntervalMs?: number;
  readonly bypassTcp?: Partial<TcpConfig>;
  readonly kernelTcp?: Partial<TcpConfig>;
  /** A recorder of the caller's (the engine process passes one that samples); `traceLevel` and `snapLen` are then its own. */
  readonly recorder?: TraceRecorder;
  /** The host's address, prefix and MAC (both stacks'); default 198.18.0.2/24 and HOST_MAC. The afpacket backend sets its own. */
  readonly host?: { readonly address: number; readonly prefixLength: number; readonly mac: Uint8Array };
}

export interface RunLimits {
  /** Stop after this many packet records. */
  readonly packets?: number;
  /** Stop at this virtual time (ms since the start). */
  readonly durationMs?: number;
  /** Virtual time per wall time: 1 is real time; Infinity (the default) is as fast as possible. */
  readonly speed?: number;
  /** Also stop once every workload is done and nothing but timers is left (default false). */
  readonly untilWorkloadsDone?: boolean;
  /**
   * Asked before every step: a promise makes virtual time wait for it (the engine process uses it to
   * yield to its event loop, and in lossless mode to wait for a slow trace consumer).
   */
  readonly gate?: () => Promise<void> | undefined;
}

export type StopReason = 'packets' | 'duration' | 'workloads-done' | 'idle' | 'stopped';

export class CaptureSession {
  readonly backend: CaptureBackend;
  readonly clock: Driver;
  readonly rng: SeededRng;
  readonly steering: Steering;
  readonly recorder: TraceRecorder;
  readonly nic: Nic;
  /** The bypass stack; undefined on a passive backend (replay), where the layers' checks stand in for it. */
  readonly bypass: Ipv4Stack | undefined;
  readonly kernel: KernelPath;
  /** The observer that follows replayed TCP connections (passive backends only). */
  readonly passiveTcp: PassiveTcp | undefined;
  readonly hostDevice: Device;
  readonly impaired: ImpairedDevice | undefined;
  readonly timers: VirtualTimers;
  /** Where workloads run; undefined when the backend has no wire-side host (replay). */
  readonly hosts: ScenarioHosts | undefined;
  readonly stats = new CaptureStats();
  readonly scenario: Scenario;
  workloads: WorkloadRun[] = [];
  readonly connections: ConnectionInfo[] = [];
  /** Packet records and transitions released so far. */
  packets = 0;
  /** `run`'s packet limit: records past it are left out. */
  private packetLimit = Infinity;
  transitions = 0;
  readonly onPacket: ((p: PacketTrace) => void)[] = [];
  readonly onTransition: ((t: TraceTransition) => void)[] = [];
  readonly onConnection: ((c: ConnectionInfo) => void)[] = [];
  readonly onStats: ((s: TraceStats) => void)[] = [];
  /** Finished trace batches (taken at every stats tick and at the end); with no listener they are discarded. */
  readonly onBatches: ((b: TraceBatch[]) => void)[] = [];

  private started = false;
  private paused = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly statsInterval: number;

  constructor(options: SessionOptions) {
    if (!options.rules.ok) throw new Error('rules have errors');
    this.statsInterval = options.statsIntervalMs ?? 100;
    this.rng = new SeededRng(options.seed ?? 1);
    // Each part gets its own generator forked from the one seed, in a fixed order.
    const backendRng = this.rng.fork();
    const bypassRng = this.rng.fork();
    const kernelRng = this.rng.fork();
    const impairRng = this.rng.fork();
    const makeBackend =
      options.backend === undefined || options.backend === 'sim'
        ? simBackend({ latencyMs: options.wireLatencyMs, rateBps: options.wireRateBps, peerAddress: PEER_ADDRESS, peerMac: PEER_MAC, prefixLength: 24 })
        : options.backend;
    this.backend = makeBackend({ rng: backendRng });
    this.clock = this.backend.driver;
    // Workloads need a wire-side host: without one (replay) the default is to run none.
    const scenarioName = options.scenario ?? (this.backend.peerHost === undefined ? 'idle' : 'mixed');
    const scenario = typeof scenarioName === 'object' ? scenarioName : findScenario(scenarioName);
    if (scenario === undefined) {
      this.backend.close?.();
      throw new Error(`unknown scenario '${options.scenario}'`);
    }
    this.scenario = scenario;
    this.impaired = options.impairments !== undefined ? new ImpairedDevice(this.backend.device, options.impairments, impairRng) : undefined;
    this.hostDevice = this.impaired ?? this.backend.device;
    this.steering = new Steering(options.rules);
    this.recorder = options.recorder ?? new TraceRecorder({ level: options.traceLevel ?? 'full', snapLen: options.snapLen });
    const makeKernel = options.kernel ?? emulatedKernel(options.kernelTcp);
    const passive = this.backend.passive === true;
    this.nic = new Nic({ device: this.hostDevice, steering: this.steering, recorder: this.recorder, virtualTime: this.clock.virtual, passive });
    if (this.impaired !== undefined) this.impaired.observer = (event, frame, dir, now) => this.nic.impairment(event, frame, dir, now);
    let bypassSide: HostSide;
    if (passive) {
      // Someone else's frames: the layers' checks on both paths, and a passive observer for TCP.
      const nic = this.nic;
      const observer = new PassiveTcp(nic.observedTcp);
      const connection = (id: number, conn: number) => nic.setConnection(id, conn);
      this.passiveTcp = observer;
      this.bypass = undefined;
      bypassSide = new ReplayHost('bypass', nic.packetIds, nic.bypassTrace, 'measured', observer, connection);
      this.kernel = new ReplayKernelPath(new ReplayHost('kernel', nic.packetIds, nic.kernelTrace, 'emulated', observer, connection));
    } else {
      this.passiveTcp = undefined;
      this.bypass = new Ipv4Stack(this.nic.bypassPort, {
        name: 'bypass',
        mac: options.host?.mac ?? HOST_MAC,
        address: options.host?.address ?? HOST_ADDRESS,
        prefixLength: options.host?.prefixLength ?? 24,
        rng: bypassRng,
        packetIds: this.nic.packetIds,
        observer: this.nic.bypassObserver,
        tcp: { ...BYPASS_TCP_CONFIG, ...options.bypassTcp },
        // On a real-time driver the ACKs of one wake-up's segments go out as one, in the same turn
        // (StackOptions.coalesceAcks); in virtual time every segment is answered by itself.
        coalesceAcks: !this.clock.virtual,
      });
      bypassSide = this.bypass;
      this.kernel = makeKernel({
        port: this.nic.kernelPort,
        packetIds: this.nic.packetIds,
        observer: this.nic.kernelObserver,
        trace: this.nic.kernelTrace,
        mac: options.host?.mac ?? HOST_MAC,
        address: options.host?.address ?? HOST_ADDRESS,
        prefixLength: options.host?.prefixLength ?? 24,
        rng: kernelRng,
      });
    }
    this.nic.kernelHopKind = this.kernel.hopKind;
    this.nic.attach(bypassSide, this.kernel);
    this.timers = new VirtualTimers(this.clock);
    const peer = this.backend.peerHost?.(this.timers);
    const kernelHost = this.kernel.host?.(this.timers);
    this.hosts =
      peer === undefined || this.bypass === undefined || kernelHost === undefined
        ? undefined
        : { bypass: stackHost(this.bypass, this.timers, 'bypass'), kernel: kernelHost, peer };
    if (this.hosts === undefined && scenario.name !== 'idle') {
      this.backend.close?.();
      throw new Error(`backend ${this.backend.name} has no wire-side host for workloads: scenario '${scenario.name}' cannot run on it (use idle)`);
    }
    this.nic.onPacket.push((p) => {
      // As tcpdump -c: records that come out together past the limit are not part of the capture.
      if (this.packets >= this.packetLimit) return;
      this.packets++;
      this.stats.add(p);
      for (const f of this.onPacket) f(p);
    });
    this.nic.onTransition.push((t) => {
      this.transitions++;
      for (const f of this.onTransition) f(t);
    });
    this.nic.onConnection.push((c) => {
      this.connections.push(c);
      for (const f of this.onConnection) f(c);
    });
    const ticker: Pollable = {
      pollAt: () => this.nextTick,
      poll: (now) => {
        if (now < this.nextTick) return;
        this.nextTick = now + this.statsInterval;
        this.steering.poll(now);
        this.tick();
      },
    };
    this.wireMembers = this.backend.members ?? [];
    this.clock.add(this.nic);
    if (this.bypass !== undefined) this.clock.add(this.bypass);
    this.clock.add(this.kernel);
    for (const m of this.wireMembers) this.clock.add(m);
    this.clock.add(this.timers);
    this.clock.add(ticker);
  }

  private readonly wireMembers: readonly Pollable[];
  private nextTick = 0;

  /** A host for custom workloads (tests). */
  host(which: keyof ScenarioHosts): WorkloadHost {
    if (this.hosts === undefined) throw new Error(`backend ${this.backend.name} has no hosts for workloads`);
    return this.hosts[which];
  }

  /** Virtual milliseconds since the start. */
  get now(): number {
    return this.clock.now;
  }

  /** Starts the scenario's workloads (once; `run` does it if needed). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.workloads = this.hosts === undefined ? [] : this.scenario.start(this.hosts);
  }

  get workloadsDone(): boolean {
    return this.workloads.every((w) => w.done);
  }

  /**
   * Runs until a limit is reached, `stop()` is called, or (with `untilWorkloadsDone`) the workloads
   * finish. While paused it waits (virtual time stands still) until `resume()` or `stop()`.
   */
  async run(limits: RunLimits = {}): Promise<StopReason> {
    this.start();
    const deadline = limits.durationMs ?? Infinity;
    const maxPackets = limits.packets ?? Infinity;
    this.packetLimit = maxPackets;
    const speed = limits.speed ?? Infinity;
    let wallStart = performance.now();
    let virtStart = this.clock.now;
    let seen = this.callbackRounds();
    for (;;) {
      if (this.stopping) return this.finish('stopped');
      if (this.paused) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        wallStart = performance.now();
        virtStart = this.clock.now;
        continue;
      }
      if (this.packets >= maxPackets) return this.finish('packets');
      if (limits.untilWorkloadsDone && this.workloadsDone) return this.finish('workloads-done');
      if (!this.clock.virtual) {
        // Monotonic time: wait for a device or the next deadline, then poll what is due.
        if (this.clock.now >= deadline) return this.finish('duration');
        const gated = limits.gate?.();
        if (gated !== undefined) await gated;
        const due = this.clock.nextDeadline();
        if (due === undefined || due > this.clock.now) await this.clock.waitForWork!(Math.min(due ?? Infinity, deadline));
        this.clock.step();
        if (this.callbackRounds() !== seen) {
          await turn();
          seen = this.callbackRounds();
        }
        continue;
      }
      // With no time limit, a network with nothing left to do (only the stats ticker) is finished.
      if (deadline === Infinity && this.idle()) return this.finish('idle');
      const next = this.clock.nextDeadline();
      if (next === undefined || next > deadline) {
        if (deadline !== Infinity) this.clock.setNow(deadline);
        return this.finish(next === undefined && deadline === Infinity ? 'idle' : 'duration');
      }
      const gated = limits.gate?.();
      if (gated !== undefined) {
        const waitedFrom = performance.now();
        await gated;
        if (speed !== Infinity && performance.now() - waitedFrom > 20) {
          // A long wait at the gate (a slow consumer in lossless mode) is not owed to the pacing.
          wallStart = performance.now();
          virtStart = this.clock.now;
        }
        continue;
      }
      if (speed !== Infinity) {
        const due = wallStart + (next - virtStart) / speed;
        const wait = due - performance.now();
        if (wait > 1) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 50)));
          continue;
        }
      }
      this.clock.step(deadline);
      const rounds = this.callbackRounds();
      if (rounds !== seen) {
        // Let Node's event loop run what streams defer with process.nextTick, at this virtual instant.
        await turn();
        seen = this.callbackRounds();
      }
    }
  }

  /** Stops virtual time: `run` waits, and finished records are held for `step`. */
  pause(): void {
    this.paused = true;
    this.nic.held = true;
  }

  /** Lets held records out and time run again. */
  resume(): void {
    this.paused = false;
    this.nic.held = false;
    this.nic.releaseAll();
    this.wake?.();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * While paused: advances virtual time just far enough for exactly one more packet record (or
   * transition) to come out. Records produced together (a received segment and the ACK it causes)
   * are held and come out one per step. False when nothing is left to happen before `limitMs`.
   */
  async step(kind: 'packet' | 'transition', limitMs = Infinity): Promise<boolean> {
    this.start();
    if (!this.paused) this.pause();
    for (;;) {
      if (this.nic.releaseNext(kind)) return true;
      const next = this.clock.nextDeadline();
      if (next === undefined || next > limitMs) return false;
      const before = this.callbackRounds();
      this.clock.step(limitMs);
      if (this.callbackRounds() !== before) await turn();
    }
  }

  /** Ends `run` at its next step. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  /** Releases what the kernel path and the backend hold (the lab's sockets, devices and namespaces); after `run` has ended. */
  close(): void {
    this.kernel.close?.();
    this.backend.close?.();
  }

  /** Swaps in new rules for new flows; a rule set with errors is refused (the old rules stay). */
  reloadRules(text: string): { applied: boolean; diagnostics: readonly Diagnostic[]; pinnedToOldRules: number } {
    const set = parseRules(text);
    const r = this.steering.reload(set);
    return { applied: r.applied, diagnostics: set.diagnostics, pinnedToOldRules: r.pinnedToEarlierRules };
  }

  /** The statistics now. */
  snapshot(): TraceStats {
    return this.stats.snapshot(this.clock.now * 1e6, this.recorder.recordsTooLarge, this.steering);
  }

  private tick(): void {
    const s = this.snapshot();
    for (const f of this.onStats) f(s);
    const batches = this.recorder.takeBatches();
    if (batches.length > 0) for (const f of this.onBatches) f(batches);
  }

  private finish(reason: StopReason): StopReason {
    this.passiveTcp?.flush();
    this.nic.releaseAll();
    this.tick();
    this.backend.close?.();
    this.kernel.close?.();
    return reason;
  }

  /** What went wrong with the source (a damaged capture file, with the byte offset); empty when nothing did. */
  get problems(): readonly string[] {
    return this.backend.problems?.() ?? [];
  }

  /** Nothing but the stats ticker has anything to do, ever again (no packets, timers or TCP timers). */
  private idle(): boolean {
    return (
      this.nic.pollAt() === undefined &&
      this.bypass?.pollAt() === undefined &&
      this.kernel.pollAt() === undefined &&
      this.wireMembers.every((m) => m.pollAt() === undefined) &&
      this.timers.pollAt() === undefined
    );
  }

  private callbackRounds(): number {
    return (this.bypass?.callbackRounds ?? 0) + this.kernel.callbackRounds + (this.backend.callbackRounds?.() ?? 0) + this.timers.fired;
  }
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
