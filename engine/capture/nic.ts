// capture: the host side of a capture. This folder exists because neither stack nor backend owns it:
// `nic.ts` is the "NIC" with its filter table between a backend device and the two stacks (bypass
// and kernel), and `session.ts` wires backend, NIC, stacks, recorder, workloads and clock together.
//
// The NIC: frames from the device → `nic.rx` hop → `steer` hop → the chosen stack's receive; frames
// either stack transmits → its tx hops → `nic.tx` → the device. Both stacks share one IPv4 address
// and one MAC, as an accelerated NIC and the kernel do under OpenOnload: ARP replies go to both
// stacks so that both learn neighbours; ARP requests and everything else follow steering. Flows the
// bypass stack sends on are pinned to it (`pinLocal`), so their replies come back to it. On a
// passive backend (a replayed capture) every frame is steered, ARP replies too, and the layers'
// checks of replay.ts stand in for the stacks. The kernel side is whatever kernel path the session
// attached (kernel/path.ts): the emulated kernel reports through `kernelObserver`, a real kernel
// through `kernelTrace`.
//
// Each packet's hops are gathered here, keyed by packet id, and written to the recorder as one
// record when the packet is done (delivered, dropped, or handed to the device): a received segment
// makes the stack send before its own record closes, and a packet waiting for ARP stays open across
// polls, so hops do not nest the way the recorder's scratch areas do.
//
// What each layer cost (schema.ts "Time"): the NIC reads performance.now() — the cheapest monotonic
// high-resolution clock in Node 20 as measured here (43 ns a read in a tight loop, 34 ns more than
// nothing in a loop that allocates, against 45/41 for process.hrtime.bigint(), whose BigInt and
// hrtime()'s array are garbage too) — at every layer boundary: when a frame enters, after steering, at each
// hop a stack reports (a stack reports a layer when it is done with the packet), when a stack starts
// making a packet (StackObserver.txBegin), and when the device has taken a frame. The time between
// two reads belongs to the packet on top of the *owner stack* — the packet whose layer is running:
// a segment whose processing sends an ACK owns the time before and after the ACK, the ACK owns its
// own layers. So a hop's duration is its layer's own time on the CPU, and nested work is not
// counted twice; the tracer's own recording is nobody's. At trace level off no clock is read.
import { performance } from 'node:perf_hooks'; // not the global: a lazy getter, a call per clock read
import type { Device, FrameHandler } from '../backends/device';
import type { ImpairmentEvent } from '../backends/impair';
import { BYPASS_LAYER, KERNEL_LAYER } from '../kernel/emulated';
import type { KernelTrace } from '../kernel/path';
import type { ObservedTcpSink } from './passive-tcp';
import type { Direction as StackDirection, Layer as StackLayer, PacketIdSource, StackObserver, Verdict as StackVerdict } from '../stack/index';
import type { Steering } from '../steer/steering';
import type { TcpTransition } from '../tcp/index';
import type { TraceRecorder } from '../trace/recorder';
import { rxOffloaded, type LinkOffloads, type RxOffload, type TxOffload } from '../stack/offload';
import {
  PacketFlag,
  RULE_NOT_STEERED,
  type ConnectionInfo,
  type Direction,
  type HopKind,
  type LayerName,
  type PathName,
  type TcpStateName,
  type Verdict,
} from '../trace/schema';
import { ipv4ToString } from '../wire/address';

export type StackPath = 'bypass' | 'kernel';

/** What the NIC hands frames to on either path: the bypass stack, a kernel path (kernel/path.ts), or a replay's checks (replay.ts). */
export interface HostSide {
  /** `wireLen` as in FrameHandler: more than frame.length for a capture cut at its snap length; `rx`: what a device with offloads said of it. */
  receive(frame: Uint8Array, now: number, wireLen?: number, rx?: RxOffload): void;
}

const MAX_HOPS = 32;
const EMPTY = new Uint8Array(0);

/** A packet's trace while it is gathered, and as listeners see it when it is done (valid during the call). */
export class PacketTrace {
  id = 0;
  direction: Direction = 'rx';
  path: PathName = 'none';
  rule = RULE_NOT_STEERED;
  flowId = 0;
  connId = 0;
  /** Nanoseconds since capture start. */
  timeNs = 0;
  wireLen = 0;
  flags = 0;
  /** The whole frame (valid only while listeners run); empty when the packet never reached the wire. */
  frame: Uint8Array = EMPTY;
  hopCount = 0;
  readonly layers: LayerName[] = new Array<LayerName>(MAX_HOPS).fill('nic.rx');
  readonly kinds: HopKind[] = new Array<HopKind>(MAX_HOPS).fill('measured');
  readonly verdicts: Verdict[] = new Array<Verdict>(MAX_HOPS).fill('pass');
  readonly reasons: (string | undefined)[] = new Array<string | undefined>(MAX_HOPS).fill(undefined);
  /** Each hop's offset from `timeNs` and its duration, nanoseconds (schema.ts "Time"). */
  readonly offsets = new Float64Array(MAX_HOPS);
  readonly durations = new Float64Array(MAX_HOPS);
  /** The stack the last hop came from (an ARP reply visits both). */
  lastPath: PathName = 'none';
  /** Timing, while the packet is gathered: clock time (ms) owed to its current layer, the sum of its hops' durations (ns), the clock at its first and latest hops (ms). */
  owed = 0;
  costNs = 0;
  startClock = 0;
  lastClock = 0;

  reset(id: number, direction: Direction, timeNs: number): void {
    this.id = id;
    this.direction = direction;
    this.path = 'none';
    this.rule = RULE_NOT_STEERED;
    this.flowId = 0;
    this.connId = 0;
    this.timeNs = timeNs;
    this.wireLen = 0;
    this.flags = 0;
    this.frame = EMPTY;
    this.hopCount = 0;
    this.lastPath = 'none';
    this.owed = 0;
    this.costNs = 0;
    this.startClock = 0;
    this.lastClock = 0;
  }

  addHop(layer: LayerName, kind: HopKind, verdict: Verdict, offsetNs: number, durationNs: number, reason?: string): void {
    const n = this.hopCount;
    if (n >= MAX_HOPS) return;
    this.layers[n] = layer;
    this.kinds[n] = kind;
    this.verdicts[n] = verdict;
    this.reasons[n] = reason;
    this.offsets[n] = offsetNs;
    this.durations[n] = durationNs;
    this.hopCount = n + 1;
  }

  /** The hop count, as the recorder's PacketHops names it. */
  get count(): number {
    return this.hopCount;
  }

  /** The last hop's verdict and reason. */
  get finalVerdict(): Verdict {
    return this.hopCount === 0 ? 'pass' : this.verdicts[this.hopCount - 1];
  }

  /** From reaching the first layer to leaving the last, in nanoseconds: the packet's measured cost (see schema.ts "Time"). */
  get latencyNs(): number {
    const n = this.hopCount;
    return n === 0 ? 0 : this.offsets[n - 1] + this.durations[n - 1] - this.offsets[0];
  }
}

/** A packet id source the NIC controls: a received frame's id is chosen at `nic.rx` and handed to the stack. */
class NicPacketIds implements PacketIdSource {
  private counter = 1;
  /** The id the next `next()` call returns (a stack's receive), or 0. */
  handoff = 0;

  next(): number {
    const h = this.handoff;
    if (h !== 0) {
      this.handoff = 0;
      return h;
    }
    return this.counter++;
  }

  fresh(): number {
    return this.counter++;
  }
}

/** The device a stack sees: its frames go to the NIC, and the NIC hands it frames. */
class StackPort implements Device {
  onReceive: FrameHandler | undefined;

  constructor(
    readonly name: string,
    private readonly nic: Nic,
    private readonly path: StackPath,
  ) {}

  get mtu(): number {
    return this.nic.device.mtu;
  }

  /** The device's offloads, for the stack to use (none on the sim wire or behind impairments). */
  get offloads(): LinkOffloads | undefined {
    return this.nic.device.offloads;
  }

  transmit(frame: Uint8Array, now: number, offload?: TxOffload): void {
    this.nic.transmitFrom(this.path, frame, now, offload);
  }

  poll(): void {}

  pollAt(): number | undefined {
    return undefined;
  }
}

export interface NicOptions {
  /** Where frames come from and go to (wrapped in impairments, or not). */
  readonly device: Device;
  readonly steering: Steering;
  readonly recorder: TraceRecorder;
  /** The backend interface index records carry. */
  readonly interfaceIndex?: number;
  /** Kind of the kernel path's hops: `emulated` in sim (the default); a real kernel behind the NIC is measured or a span. */
  readonly kernelHopKind?: HopKind;
  /** True (the default) when the driver's time is virtual: hop offsets are then the packet's measured cost so far (schema.ts "Time"). */
  readonly virtualTime?: boolean;
  /** The frames are someone else's (a replayed capture): every frame is steered, ARP replies too (no stack needs to learn from them). */
  readonly passive?: boolean;
}

/** A TCP transition as the trace carries it (connection ids unique across both stacks). */
export interface TraceTransition {
  /** The path of the connection's packets. */
  readonly stack: StackPath;
  /** Inferred by the passive observer of a replay, not a stack's own. */
  readonly observed: boolean;
  readonly connId: number;
  readonly from: TcpStateName;
  readonly to: TcpStateName;
  readonly event: string;
  readonly packetId: number;
  readonly timeNs: number;
}

interface ConnBinding {
  readonly traceId: number;
  /** Transitions waiting for the connection to be tied to its packets (an active open before its SYN leaves). */
  waiting: TcpTransition[] | undefined;
}

export class Nic {
  readonly device: Device;
  readonly steering: Steering;
  readonly recorder: TraceRecorder;
  readonly packetIds = new NicPacketIds();
  readonly bypassPort: StackPort;
  readonly kernelPort: StackPort;
  readonly bypassObserver: StackObserver;
  readonly kernelObserver: StackObserver;
  /** For a kernel path that reports its own hops (the real kernel): see kernel/path.ts. */
  readonly kernelTrace: KernelTrace;
  /** The same for the bypass path (a replay's checks report through it). */
  readonly bypassTrace: KernelTrace;
  /** Where a passive observer (replay) announces connections and transitions: see passive-tcp.ts. */
  readonly observedTcp: ObservedTcpSink;
  /** Called for every finished packet (the trace is valid during the call). */
  readonly onPacket: ((p: PacketTrace) => void)[] = [];
  readonly onTransition: ((t: TraceTransition) => void)[] = [];
  readonly onConnection: ((c: ConnectionInfo) => void)[] = [];
  readonly counters = { rx: 0, tx: 0, steerDrops: 0, wireDrops: 0 };
  /** The latest state of each trace connection. */
  readonly liveState = new Map<number, TcpStateName>();

  private bypass: HostSide | undefined;
  private kernel: HostSide | undefined;
  /** Received packets whose records a kernel path keeps open past `receive` (KernelTrace.hold). */
  private readonly kept = new Set<number>();
  private readonly iface: number;
  private readonly virtualTime: boolean;
  private readonly passive: boolean;
  /** The owner stack: packets whose layers are running, innermost last (see the top of this file). */
  private readonly owners: PacketTrace[] = [];
  /** The clock (performance.now(), ms) at the last read. */
  private clock = 0;
  /** A stack has begun making a packet (txBegin) that has not reported its first hop yet: the time is that packet's. */
  private making = false;
  /** How kernel-path hops are labelled: the kernel path's `hopKind` (emulated in sim). */
  kernelHopKind: HopKind;
  private readonly pending = new Map<number, PacketTrace>();
  private readonly pool: PacketTrace[] = [];
  private readonly lastTxId = { bypass: 0, kernel: 0 };
  /** The tx record being handed to the device (impairments applied during the call add a `wire` hop to it). */
  private txOpen: PacketTrace | undefined;
  /** Stack connection (path:id) → trace connection; TCP tuple (path|lport|raddr|rport) → trace connection. */
  private readonly conns = new Map<string, ConnBinding>();
  /** Trace connection id by (remote address) then (path, local port, remote port), numeric keys: looked up per TCP packet. */
  private readonly tupleConn = new Map<number, Map<number, number>>();
  private readonly unboundActive = { bypass: [] as number[], kernel: [] as number[] };
  private nextConnId = 1;
  private readonly ruleReason = new Map<number, string>();
  /**
   * While true, finished packets and transitions wait in order instead of reaching the recorder and
   * listeners; `releaseNext` lets them out one at a time. Setting it false does not release them:
   * call `releaseAll`.
   */
  held = false;
  private readonly queue: (PacketTrace | HeldTransition)[] = [];

  constructor(options: NicOptions) {
    this.device = options.device;
    this.steering = options.steering;
    this.recorder = options.recorder;
    this.iface = options.interfaceIndex ?? 0;
    this.virtualTime = options.virtualTime ?? true;
    this.passive = options.passive ?? false;
    this.kernelHopKind = options.kernelHopKind ?? 'emulated';
    this.bypassPort = new StackPort('bypass', this, 'bypass');
    this.kernelPort = new StackPort('kernel', this, 'kernel');
    this.bypassObserver = {
      hop: (layer, dir, verdict, id, now) => this.stackHop('bypass', layer, dir, verdict, id, now),
      transition: (t) => this.stackTransition('bypass', t),
      txBegin: () => this.txBegin(),
    };
    this.kernelObserver = {
      hop: (layer, dir, verdict, id, now) => this.stackHop('kernel', layer, dir, verdict, id, now),
      transition: (t) => this.stackTransition('kernel', t),
      txBegin: () => this.txBegin(),
    };
    this.kernelTrace = this.pathTrace('kernel');
    this.bypassTrace = this.pathTrace('bypass');
    this.observedTcp = {
      connection: (info) => {
        const c: ConnectionInfo = { connId: this.nextConnId++, ...info };
        for (const f of this.onConnection) f(c);
        return c.connId;
      },
      transition: (path, connId, from, to, event, packetId, timeMs, vars) => this.recordTransition(path, connId, { connId, from, to, event, packetId, time: timeMs, vars }, true),
    };
    this.device.onReceive = (frame, now, wireLen, rx) => this.receive(frame, now, wireLen, rx);
  }

  private pathTrace(path: StackPath): KernelTrace {
    return {
      hop: (id, dir, layer, kind, verdict, reason, atMs) => this.pathHop(path, id, dir, layer, kind, verdict, reason, atMs),
      hold: (id) => {
        this.kept.add(id);
      },
      finish: (id) => {
        this.kept.delete(id);
        const p = this.pending.get(id);
        if (p !== undefined) this.commit(p);
      },
    };
  }

  /** Sets the TCP connection of an open packet (a passive observer's answer; a stack's packets are matched by tuple). */
  setConnection(packetId: number, connId: number): void {
    const p = this.pending.get(packetId);
    if (p !== undefined) p.connId = connId;
  }

  /** Attaches the two sides (made with `bypassPort`/`kernelPort` as devices and the matching observers). */
  attach(bypass: HostSide, kernel: HostSide): void {
    this.bypass = bypass;
    this.kernel = kernel;
  }

  /** The latest time the clock told the NIC (ms). */
  private nowMs = 0;

  /** The NIC is driven by the clock like a device: polling it polls the backend device. */
  poll(now: number): void {
    this.nowMs = now;
    this.device.poll(now);
  }

  pollAt(): number | undefined {
    return this.device.pollAt();
  }

  /** Packets still being gathered (waiting for ARP, or on loopback). */
  get openPackets(): number {
    return this.pending.size;
  }

  // ───────────────────────── receive ─────────────────────────

  private receive(frame: Uint8Array, now: number, wireLen = frame.length, rx?: RxOffload): void {
    this.nowMs = now;
    const timed = this.recorder.level !== 'off';
    const id = this.packetIds.fresh();
    const p = this.open(id, 'rx', now * 1e6);
    p.frame = frame;
    p.wireLen = wireLen;
    if (rxOffloaded(rx)) p.flags |= PacketFlag.OFFLOAD;
    if (timed) this.own(p, true);
    // An instant: the frame is taken from the device; what the NIC does with it is steering's time.
    p.addHop('nic.rx', 'measured', 'pass', 0, 0);
    const marks = this.rxMarks;
    if (marks !== undefined) {
      this.rxMarks = undefined;
      p.addHop('wire', 'measured', 'pass', 0, 0, marks);
      if (marks.includes('duplicate') || marks.includes('corrupt')) p.flags |= PacketFlag.IMPAIRED;
    }
    this.counters.rx++;
    if (!this.passive && isArpReply(frame)) {
      // Not steered: both stacks learn the neighbour (they share the address and the MAC).
      this.layerDone(p, timed, 'steer', 'measured', 'forward', 'arp reply: both stacks');
      this.deliver('bypass', frame, id, now, wireLen, rx);
      this.deliver('kernel', frame, id, now, wireLen, rx);
    } else {
      const r = this.steering.steer(frame, wireLen, now);
      p.rule = r.rule;
      p.flowId = r.flowId;
      if (r.action === 'drop') {
        p.path = 'drop';
        this.counters.steerDrops++;
        this.layerDone(p, timed, 'steer', 'measured', 'drop', this.ruleDropReason(r.rule));
      } else {
        p.path = r.action;
        this.layerDone(p, timed, 'steer', 'measured', 'pass');
        this.deliver(r.action, frame, id, now, wireLen, rx);
      }
    }
    if (!this.kept.has(id)) this.commit(p);
    else {
      // Kept past the call: the device's frame is valid only during it (a TAP reuses one buffer).
      p.frame = p.frame.slice();
      this.disown(p);
    }
  }

  private deliver(path: StackPath, frame: Uint8Array, id: number, now: number, wireLen = frame.length, rx?: RxOffload): void {
    const stack = path === 'bypass' ? this.bypass : this.kernel;
    if (stack === undefined) return;
    this.packetIds.handoff = id;
    if (rx !== undefined) stack.receive(frame, now, wireLen, rx);
    else if (wireLen === frame.length) stack.receive(frame, now);
    else stack.receive(frame, now, wireLen);
    this.packetIds.handoff = 0;
  }

  private ruleDropReason(rule: number): string {
    let s = this.ruleReason.get(rule);
    if (s === undefined) {
      s = rule < 0 ? 'default rule' : `rule ${rule}`;
      this.ruleReason.set(rule, s);
    }
    return s;
  }

  // ───────────────────────── transmit ─────────────────────────

  /** A frame a stack sends (called through its StackPort, right after its link-layer tx hop). */
  transmitFrom(path: StackPath, frame: Uint8Array, now: number, offload?: TxOffload): void {
    this.nowMs = now;
    const timed = this.recorder.level !== 'off';
    const id = this.lastTxId[path];
    this.lastTxId[path] = 0;
    let p = id === 0 ? undefined : this.pending.get(id);
    if (p === undefined) {
      p = this.open(id === 0 ? this.packetIds.fresh() : id, 'tx', now * 1e6);
      p.path = path;
      if (timed) this.own(p, true);
    }
    p.frame = frame;
    p.wireLen = frame.length;
    if (offload !== undefined) p.flags |= PacketFlag.OFFLOAD;
    // Flows the bypass stack sends on stay with it whatever the rules say (their replies come back).
    if (path === 'bypass') p.flowId = this.steering.pinLocal(frame, now);
    if (isTcpSynOnly(frame)) this.bindActiveOpen(path, frame);
    // nic.tx lasts until the device has taken the frame; a wire hop the impairments add meanwhile follows it.
    const at = p.hopCount;
    p.addHop('nic.tx', 'measured', 'pass', p.costNs, 0);
    this.counters.tx++;
    this.txOpen = p;
    try {
      if (offload === undefined) this.device.transmit(frame, now);
      else this.device.transmit(frame, now, offload);
    } finally {
      this.txOpen = undefined;
    }
    if (timed && at < p.hopCount) {
      const t = this.own(p, false);
      const dur = p.owed * 1e6;
      p.owed = 0;
      p.durations[at] = dur;
      if (!this.virtualTime) p.offsets[at] = (p.lastClock - p.startClock) * 1e6;
      p.costNs += dur;
      p.lastClock = t;
      const after = this.virtualTime ? p.costNs : (t - p.startClock) * 1e6;
      for (let i = at + 1; i < p.hopCount; i++) p.offsets[i] = after;
    }
    this.commit(p);
  }

  /**
   * For an ImpairedDevice around `device`: puts what an impairment did on the frame's record as a
   * `wire` hop — a drop with its reason, or a pass naming what changed (`duplicate`, `corrupt`,
   * `reorder`, `delay`, joined with `+` when several did), with the IMPAIRED flag on a duplicate or a
   * corrupted copy. On transmit the hop follows nic.tx; on receive it follows nic.rx (the impairments
   * sit on the wire side of the NIC), and a frame lost on the way in has a record of its own.
   */
  impairment(event: ImpairmentEvent, frame: Uint8Array, direction: 'tx' | 'rx', now: number): void {
    const dropped = event === 'loss' || event === 'mtu' || event === 'queue-full';
    if (direction === 'tx' && this.txOpen !== undefined) {
      const p = this.txOpen;
      let at = -1;
      for (let i = p.hopCount - 1; i >= 0 && at < 0; i--) if (p.layers[i] === 'wire') at = i;
      if (at < 0) {
        if (dropped) this.counters.wireDrops++;
        p.addHop('wire', 'measured', dropped ? 'drop' : 'pass', 0, 0, event);
      } else {
        // Another change to the same frame (or a drop of its duplicate: the first copy went on).
        p.reasons[at] = joinMarks(p.reasons[at], event);
      }
      if (event === 'duplicate' || event === 'corrupt') p.flags |= PacketFlag.IMPAIRED;
      return;
    }
    if (direction === 'rx' && dropped) {
      // Lost before the NIC: a record of its own, so the loss shows where it happened.
      this.counters.wireDrops++;
      const p = this.open(this.packetIds.fresh(), 'rx', now * 1e6);
      p.frame = frame;
      p.wireLen = frame.length;
      p.addHop('wire', 'measured', 'drop', 0, 0, event);
      this.rxMarks = undefined;
      this.commit(p);
      return;
    }
    // A received frame's changes come right before the frame itself: they go on its record.
    this.rxMarks = joinMarks(this.rxMarks, event);
  }

  /** What the impairments did to the frame being received next (see `impairment`). */
  private rxMarks: string | undefined;

  // ───────────────────────── stack hops ─────────────────────────

  private stackHop(path: StackPath, layer: StackLayer, dir: StackDirection, stackVerdict: StackVerdict, id: number, now: number): void {
    this.nowMs = now;
    const timed = this.recorder.level !== 'off';
    let p = this.pending.get(id);
    const kind: HopKind = path === 'kernel' ? this.kernelHopKind : 'measured';
    const names = path === 'kernel' ? KERNEL_LAYER : BYPASS_LAYER;
    if (p === undefined) {
      // A packet the stack makes (or one it loops back to itself).
      p = this.open(id, dir, now * 1e6);
      p.path = path;
      if (timed) this.own(p, true);
      if (dir === 'tx' && layer === 'bypass.socket') {
        // Instants: the application's send call enters the stack here.
        p.addHop('app', kind, 'pass', 0, 0);
        if (path === 'kernel') p.addHop('kernel.syscall', kind, 'pass', 0, 0);
      }
    } else if (timed && !(dir === 'rx' && layer === 'bypass.socket' && p.hopCount > 0 && p.layers[p.hopCount - 1] === names['bypass.tcp'])) {
      // (A TCP segment's data is queued for the socket inside the TCP layer's time: its socket hop is an instant, with no read.)
      this.own(p, false);
    }
    // Only the last hop of a packet says `deliver`: a layer that consumed it and handed it up passed it.
    const n = p.hopCount;
    if (n > 0 && p.lastPath === path && p.verdicts[n - 1] === 'deliver') p.verdicts[n - 1] = 'pass';
    p.lastPath = path;
    let verdict: Verdict;
    let reason: string | undefined;
    if (stackVerdict === 'pass' || stackVerdict === 'deliver') verdict = stackVerdict;
    else {
      verdict = 'drop';
      reason = stackVerdict.slice(5);
    }
    if (dir === 'rx' && layer === 'bypass.socket' && verdict === 'deliver') {
      // Queued for the application, whose callbacks run at the end of the same poll: from here on
      // the time is the application's, not the packet's (instants).
      if (p.layers[p.hopCount - 1] === names['bypass.tcp']) p.addHop(names[layer], kind, 'pass', p.costNs, 0);
      else this.hopNow(p, timed, names[layer], kind, 'pass');
      if (path === 'kernel') p.addHop('kernel.syscall', kind, 'pass', p.costNs, 0);
      p.addHop('app', kind, 'deliver', p.costNs, 0);
      return;
    }
    this.hopNow(p, timed, names[layer], kind, verdict, reason);
    if (dir === 'tx') {
      if (verdict === 'drop') this.commit(p);
      else if (layer === 'bypass.eth') this.lastTxId[path] = id;
    }
  }

  /** A hop a path reports in the trace's own vocabulary (KernelTrace.hop): it lasted from the packet's previous hop to `atMs`. */
  private pathHop(path: StackPath, id: number, dir: Direction, layer: LayerName, kind: HopKind, verdict: Verdict, reason: string | undefined, atMs: number | undefined): void {
    const timed = this.recorder.level !== 'off';
    let p = this.pending.get(id);
    const fresh = p === undefined;
    if (p === undefined) {
      p = this.open(id, dir, this.nowMs * 1e6);
      p.path = path;
    }
    p.lastPath = path;
    if (!timed) p.addHop(layer, kind, verdict, 0, 0, reason);
    else {
      // A real kernel runs beside the engine: the stretch is wall time, not time the engine owned.
      const t = atMs ?? performance.now();
      if (atMs === undefined) this.clock = t;
      if (fresh) p.startClock = p.lastClock = t;
      const dur = Math.max(0, t - p.lastClock) * 1e6;
      const offset = this.virtualTime ? p.costNs : (t - p.startClock) * 1e6 - dur;
      p.owed = 0;
      p.costNs += dur;
      p.lastClock = t;
      p.addHop(layer, kind, verdict, offset, dur, reason);
    }
    // A transmit record a path opened joins the frame it sends next.
    if (dir === 'tx' && verdict !== 'drop') this.lastTxId[path] = id;
  }

  // ───────────────────────── what each layer cost ─────────────────────────

  /** A stack starts making a packet: the time so far is the running packet's, from now on the new one's. */
  private txBegin(): void {
    if (this.recorder.level === 'off') return;
    const t = performance.now();
    const n = this.owners.length;
    if (n > 0 && !this.making) this.owners[n - 1].owed += t - this.clock;
    this.clock = t;
    this.making = true;
  }

  /**
   * Reads the clock at a boundary of `p`: the time since the last read goes to the packet that was
   * running (to `p` itself when it is new and a stack began making it), and `p` is now the one running.
   */
  private own(p: PacketTrace, fresh: boolean): number {
    const t = performance.now();
    const d = t - this.clock;
    this.clock = t;
    const owners = this.owners;
    const top = owners.length - 1;
    if (fresh) {
      if (this.making) {
        p.owed = d;
        p.startClock = p.lastClock = t - d;
      } else {
        if (top >= 0) owners[top].owed += d;
        p.startClock = p.lastClock = t;
      }
      owners.push(p);
    } else if (top >= 0 && owners[top] === p) {
      p.owed += d;
    } else {
      if (top >= 0) owners[top].owed += d;
      // Packets above it were left waiting (for ARP): they stop running; a packet coming back runs again.
      const i = owners.lastIndexOf(p);
      if (i >= 0) owners.length = i + 1;
      else owners.push(p);
    }
    this.making = false;
    return t;
  }

  /** `p` leaves the owner stack (done, or held off the CPU). */
  private disown(p: PacketTrace): void {
    const owners = this.owners;
    const i = owners.lastIndexOf(p);
    if (i < 0) return;
    if (i === owners.length - 1) owners.pop();
    else owners.splice(i, 1);
  }

  /** Adds the hop of a layer that is done with `p` now (the clock was just read by `own`): it lasted what `p` owes. */
  private hopNow(p: PacketTrace, timed: boolean, layer: LayerName, kind: HopKind, verdict: Verdict, reason?: string): void {
    if (!timed) {
      p.addHop(layer, kind, verdict, 0, 0, reason);
      return;
    }
    const dur = p.owed * 1e6;
    p.owed = 0;
    const offset = this.virtualTime ? p.costNs : (this.clock - p.startClock) * 1e6 - dur;
    p.costNs += dur;
    p.lastClock = this.clock;
    p.addHop(layer, kind, verdict, offset, dur, reason);
  }

  /** Reads the clock for `p` and adds the hop of the layer that just finished with it. */
  private layerDone(p: PacketTrace, timed: boolean, layer: LayerName, kind: HopKind, verdict: Verdict, reason?: string): void {
    if (timed) this.own(p, false);
    this.hopNow(p, timed, layer, kind, verdict, reason);
  }

  // ───────────────────────── TCP connections ─────────────────────────

  private stackTransition(path: StackPath, t: TcpTransition): void {
    const key = `${path}:${t.connId}`;
    let b = this.conns.get(key);
    if (b === undefined || b.waiting !== undefined) {
      const p = t.packetId === undefined ? undefined : this.pending.get(t.packetId);
      if (p !== undefined && p.frame.length > 0 && tcpTuple(p.frame, p.direction) !== undefined) {
        // The packet that caused it names the connection's tuple.
        const waiting = b?.waiting ?? [];
        const passive = t.from === 'LISTEN' || waiting.some((w) => w.to === 'LISTEN');
        this.dropUnbound(path, t.connId);
        b = this.bind(path, t.connId, p.frame, p.direction, passive ? 'passive' : 'active');
        for (const w of waiting) this.recordTransition(path, b.traceId, w);
      } else if (b === undefined) {
        if (t.to === 'SYN-SENT' || t.to === 'LISTEN') {
          // An active open before its SYN leaves, or a listener's child before its SYN: tied to packets later.
          b = { traceId: 0, waiting: [] };
          this.conns.set(key, b);
          if (t.to === 'SYN-SENT') this.unboundActive[path].push(t.connId);
        } else {
          b = { traceId: this.nextConnId++, waiting: undefined };
          this.conns.set(key, b);
        }
      }
    }
    if (b.waiting !== undefined) {
      if (t.to === 'SYN-SENT' && !this.unboundActive[path].includes(t.connId)) this.unboundActive[path].push(t.connId);
      b.waiting.push(t);
      if (t.to !== 'CLOSED') return;
      // Closed before any packet named it (a listener, or a connect that never sent): an id of its own.
      const fresh = { traceId: this.nextConnId++, waiting: undefined };
      this.conns.set(key, fresh);
      this.dropUnbound(path, t.connId);
      for (const w of b.waiting) this.recordTransition(path, fresh.traceId, w);
      return;
    }
    this.recordTransition(path, b.traceId, t);
  }

  private getTupleConn(path: StackPath, t: Tuple): number | undefined {
    return this.tupleConn.get(t.remoteAddr)?.get(tupleSubKey(path, t));
  }

  private setTupleConn(path: StackPath, t: Tuple, traceId: number): void {
    let inner = this.tupleConn.get(t.remoteAddr);
    if (inner === undefined) this.tupleConn.set(t.remoteAddr, (inner = new Map()));
    inner.set(tupleSubKey(path, t), traceId);
  }

  private dropUnbound(path: StackPath, stackConnId: number): void {
    const list = this.unboundActive[path];
    const i = list.indexOf(stackConnId);
    if (i >= 0) list.splice(i, 1);
  }

  private bind(path: StackPath, stackConnId: number, frame: Uint8Array, dir: Direction, open: 'active' | 'passive'): ConnBinding {
    const tuple = tcpTuple(frame, dir)!;
    const traceId = this.nextConnId++;
    const b: ConnBinding = { traceId, waiting: undefined };
    this.conns.set(`${path}:${stackConnId}`, b);
    this.setTupleConn(path, tuple, traceId);
    const info: ConnectionInfo = {
      connId: traceId,
      stack: path,
      localAddress: ipv4ToString(tuple.localAddr),
      localPort: tuple.localPort,
      remoteAddress: ipv4ToString(tuple.remoteAddr),
      remotePort: tuple.remotePort,
      open,
    };
    for (const f of this.onConnection) f(info);
    return b;
  }

  /** A SYN (no ACK) a stack sends for a tuple not yet known: it belongs to that stack's oldest unbound active open. */
  private bindActiveOpen(path: StackPath, frame: Uint8Array): void {
    const list = this.unboundActive[path];
    if (list.length === 0) return;
    const tuple = tcpTuple(frame, 'tx')!;
    const bound = this.getTupleConn(path, tuple);
    if (bound !== undefined) {
      // A retransmitted SYN of a bound connection, unless the tuple is being reused.
      if (this.liveState.get(bound) === 'SYN-SENT') return;
    }
    const stackConnId = list.shift()!;
    const old = this.conns.get(`${path}:${stackConnId}`);
    const b = this.bind(path, stackConnId, frame, 'tx', 'active');
    for (const w of old?.waiting ?? []) this.recordTransition(path, b.traceId, w);
  }

  private recordTransition(path: StackPath, traceId: number, t: TcpTransition, observed = false): void {
    this.liveState.set(traceId, t.to);
    if (this.held || this.queue.length > 0) this.queue.push({ path, traceId, t, observed });
    else this.emitTransition(path, traceId, t, observed);
  }

  private emitTransition(path: StackPath, traceId: number, t: TcpTransition, observed: boolean): void {
    const timeNs = t.time * 1e6;
    const packetId = t.packetId ?? 0;
    this.recorder.transition(path, traceId, t.from, t.to, t.event, packetId, timeNs, t.vars, observed);
    const rec: TraceTransition = { stack: path, observed, connId: traceId, from: t.from, to: t.to, event: t.event, packetId, timeNs };
    for (const f of this.onTransition) f(rec);
  }

  // ───────────────────────── records ─────────────────────────

  private open(id: number, dir: Direction, timeNs: number): PacketTrace {
    const p = this.pool.pop() ?? new PacketTrace();
    p.reset(id, dir, timeNs);
    this.pending.set(id, p);
    return p;
  }

  private commit(p: PacketTrace): void {
    this.pending.delete(p.id);
    this.disown(p);
    if (p.frame.length > 0 && p.connId === 0) {
      const tuple = tcpTuple(p.frame, p.direction);
      if (tuple !== undefined) {
        const path = p.direction === 'rx' ? p.path : p.lastPath === 'none' ? p.path : p.lastPath;
        // Only a stack's packets belong to its connections (a dropped or unsteered frame has none).
        p.connId = path === 'bypass' || path === 'kernel' ? (this.getTupleConn(path, tuple) ?? 0) : 0;
      }
    }
    if (this.held || this.queue.length > 0) {
      // Held back (a paused session steps one record at a time): the frame must outlive the call.
      p.frame = p.frame.slice();
      this.queue.push(p);
      return;
    }
    this.emitPacket(p);
    // Recording is the tracer's time, not the layer's of a packet still running.
    if (this.owners.length > 0 && this.recorder.level !== 'off') this.clock = performance.now();
  }

  /** Records waiting to be released. */
  get heldRecords(): number {
    return this.queue.length;
  }

  /** Releases held records up to and including the first of `kind`; false (nothing released) when there is none. */
  releaseNext(kind: 'packet' | 'transition'): boolean {
    const i = this.queue.findIndex((e) => (kind === 'packet' ? e instanceof PacketTrace : !(e instanceof PacketTrace)));
    if (i < 0) return false;
    for (const e of this.queue.splice(0, i + 1)) this.emit(e);
    return true;
  }

  releaseAll(): void {
    while (this.queue.length > 0) this.emit(this.queue.shift()!);
  }

  private emit(e: PacketTrace | HeldTransition): void {
    if (e instanceof PacketTrace) this.emitPacket(e);
    else this.emitTransition(e.path, e.traceId, e.t, e.observed);
  }

  private emitPacket(p: PacketTrace): void {
    const r = this.recorder;
    if (r.level !== 'off') r.packet(p.direction, this.iface, p.timeNs, p.frame, p.wireLen, p.id, p.path, p.rule, p.flowId, p.connId, p.flags, p);
    for (const f of this.onPacket) f(p);
    p.frame = EMPTY;
    this.pool.push(p);
  }
}

interface HeldTransition {
  readonly path: StackPath;
  readonly traceId: number;
  readonly t: TcpTransition;
  readonly observed: boolean;
}

const joined = new Map<string, string>();

/** `a+b`, each event once, one string per combination (reasons are interned, and few). */
function joinMarks(marks: string | undefined, event: string): string {
  if (marks === undefined) return event;
  if (marks === event || marks.split('+').includes(event)) return marks;
  const key = `${marks}|${event}`;
  let s = joined.get(key);
  if (s === undefined) joined.set(key, (s = `${marks}+${event}`));
  return s;
}

function isArpReply(f: Uint8Array): boolean {
  return f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[20] === 0 && f[21] === 2;
}

/** Offset of the TCP header of an option-free Ethernet + IPv4 TCP frame (not a later fragment), or -1. */
function tcpOffset(f: Uint8Array): number {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return -1;
  if (((f[20] & 0x1f) | f[21]) !== 0) return -1;
  const l4 = 14 + (f[14] & 0x0f) * 4;
  return f.length >= l4 + 20 ? l4 : -1;
}

function isTcpSynOnly(f: Uint8Array): boolean {
  const l4 = tcpOffset(f);
  return l4 >= 0 && (f[l4 + 13] & 0x12) === 0x02;
}

interface Tuple {
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
}

const tupleScratch: Tuple = { localAddr: 0, localPort: 0, remoteAddr: 0, remotePort: 0 };

/** The host-side view of a TCP frame's tuple (a shared scratch object), or undefined when it is not TCP. */
/** (path, local port, remote port) as one number below 2^33; both stacks share the local address. */
function tupleSubKey(path: StackPath, t: Tuple): number {
  return (path === 'kernel' ? 2 ** 32 : 0) + t.localPort * 65536 + t.remotePort;
}

function tcpTuple(f: Uint8Array, dir: Direction): Tuple | undefined {
  const l4 = tcpOffset(f);
  if (l4 < 0) return undefined;
  const src = ((f[26] << 24) | (f[27] << 16) | (f[28] << 8) | f[29]) >>> 0;
  const dst = ((f[30] << 24) | (f[31] << 16) | (f[32] << 8) | f[33]) >>> 0;
  const sport = (f[l4] << 8) | f[l4 + 1];
  const dport = (f[l4 + 2] << 8) | f[l4 + 3];
  const t = tupleScratch;
  if (dir === 'rx') {
    t.localAddr = dst;
    t.localPort = dport;
    t.remoteAddr = src;
    t.remotePort = sport;
  } else {
    t.localAddr = src;
    t.localPort = sport;
    t.remoteAddr = dst;
    t.remotePort = dport;
  }
  return t;
}
