// engine: the typed protocol between the engine process and its parent (the extension host or a
// test) over Node IPC with the 'advanced' serialization, so that trace batches travel as bytes.
// Types and guards only: the extension imports this file and nothing else from the engine's insides.
import type { ConnectionInfo, TraceBatch, TraceStats } from './trace/schema';

export const PROTOCOL_VERSION = 1;

export type BackendName = 'sim' | 'lab' | 'tap' | 'afpacket' | 'pcap';
export type TraceLevelName = 'off' | 'summary' | 'full';

export interface ImpairmentSettings {
  readonly loss?: number;
  readonly delayMs?: number;
  readonly jitterMs?: number;
  readonly reorder?: number;
  readonly duplicate?: number;
  readonly corrupt?: number;
  readonly rateMbit?: number;
  readonly mtu?: number;
}

/** The lab backend's private network, as the settings give it (bypassScope.lab.*). */
export interface LabAddressesText {
  /** Both stacks' address, in the engine's namespace. */
  readonly host: string;
  /** The wire-side peer's address, in the peer namespace. */
  readonly peer: string;
  readonly prefixLength: number;
}

export interface StartCapture {
  readonly backend: BackendName;
  /** Workload scenario for sim/lab (`mixed` by default); ignored by pcap, which plays its file. */
  readonly scenario?: string;
  /** The rules file's text and the name to report diagnostics under. */
  readonly rules?: { readonly text: string; readonly source: string };
  readonly impairments?: ImpairmentSettings;
  readonly traceLevel?: TraceLevelName;
  readonly seed?: number;
  /** sim only: pause virtual time when the consumer falls behind instead of dropping trace records. */
  readonly lossless?: boolean;
  /** pcap: the capture file to replay (paced at its own times by `speed`); tap/afpacket: the device. */
  readonly file?: string;
  readonly device?: string;
  /** afpacket: the bypass stack's own address on the interface's network, A.B.C.D/N (not the interface's). */
  readonly address?: string;
  /** lab: the private network's addresses (default 198.18.0.2 and .1 on a /24). */
  readonly lab?: LabAddressesText;
  /** Stop after this many packets or seconds (of virtual time in sim). */
  readonly packets?: number;
  readonly durationSec?: number;
  readonly snapLen?: number;
  /**
   * sim: virtual time per wall time. 1 (the default) paces the network at about real time so that a
   * UI sees a live capture; 'max' runs as fast as the engine can.
   */
  readonly speed?: number | 'max';
  /** Flow control: trace batches sent and not yet acked, at most (default 8). */
  readonly maxBatchesInFlight?: number;
}

/** What `start` answers. */
export interface StartResult {
  /** Numbers this capture's `trace` notifications and the `ack`s for them. */
  readonly capture: number;
  readonly backend: BackendName;
  readonly scenario: string;
  readonly traceLevel: TraceLevelName;
  readonly seed: number;
  readonly ruleCount: number;
  /** pcap: the wall-clock time of the trace's time 0 (the file's first packet), since the Unix epoch. */
  readonly timeOrigin?: { readonly sec: number; readonly nsec: number };
}

/** What `stop` answers, and what the `state: stopped` notification says as `summary`. */
export interface CaptureSummary {
  readonly capture: number;
  /** packets, duration, workloads-done, idle or stopped. */
  readonly reason: string;
  /** Packet records the engine produced (recorded or sampled away) and transitions recorded. */
  readonly packets: number;
  readonly transitions: number;
  /** Packet records sampled away because the consumer was slow, over the whole capture. */
  readonly recordsDropped: number;
  /** The seq of the last trace batch sent (0 when none). */
  readonly lastSeq: number;
  readonly timeNs: number;
  /**
   * pcap: what went wrong with the file, one clear line each (a damaged or cut file, with the byte
   * offset; a link type replay cannot read). Every packet before it was replayed and traced.
   */
  readonly problems?: readonly string[];
}

/** What `step` answers. */
export interface StepResult {
  /** False when nothing is left to happen. */
  readonly advanced: boolean;
  readonly timeNs: number;
}

/** The engine's side of flow control, sent with every `stats`. */
export interface FlowStats {
  readonly batchesSent: number;
  readonly batchesInFlight: number;
  /** True while packet records are being sampled away. */
  readonly sampling: boolean;
  readonly recordsDropped: number;
  /** Packet records produced so far (recorded or not). */
  readonly packets: number;
  /** Wall milliseconds since the capture started. */
  readonly wallMs: number;
}

/** Commands from the parent, each answered by a `response` with the same id. */
export type EngineCommand =
  | { readonly type: 'start'; readonly id: number; readonly capture: StartCapture }
  | { readonly type: 'stop'; readonly id: number }
  | { readonly type: 'pause'; readonly id: number }
  | { readonly type: 'resume'; readonly id: number }
  | { readonly type: 'step'; readonly id: number; readonly until: 'packet' | 'transition' }
  | { readonly type: 'reloadRules'; readonly id: number; readonly text: string; readonly source: string }
  | { readonly type: 'stats'; readonly id: number }
  /**
   * Flow control: the parent has consumed this capture's batches up to `seq`. One-way and frequent,
   * so it has no id and no response.
   */
  | { readonly type: 'ack'; readonly capture: number; readonly seq: number };

/**
 * Commands for tests and benchmarks only: the engine accepts them only when started with
 * BYPASS_SCOPE_ENGINE_TEST_HOOKS=1 in its environment, and answers an error otherwise.
 */
export type EngineTestCommand =
  /** Throws inside the engine: from a timer, as a rejected promise, or from inside the running capture. */
  | { readonly type: 'test:crash'; readonly id: number; readonly how: 'exception' | 'rejection' | 'in-capture' }
  /**
   * Records `records` synthetic packet records (8 hops, a 128-byte frame: 296 bytes each) as fast as the recorder
   * takes them and streams them through the ordinary flow control, lossless unless `lossless` is
   * false (then a full window samples): measures the trace pipe alone.
   */
  | { readonly type: 'test:synthesize'; readonly id: number; readonly records: number; readonly lossless?: boolean; readonly maxBatchesInFlight?: number };

export const TEST_HOOKS_ENV = 'BYPASS_SCOPE_ENGINE_TEST_HOOKS';

export type CaptureState = 'idle' | 'running' | 'paused' | 'stopped';

export interface RuleDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

/** Notifications from the engine. */
export type EngineNotification =
  | { readonly type: 'response'; readonly id: number; readonly ok: true; readonly result?: unknown }
  | { readonly type: 'response'; readonly id: number; readonly ok: false; readonly error: string }
  /** `backends`: the backends this engine can really run (others are refused with what is missing). */
  | { readonly type: 'hello'; readonly protocol: typeof PROTOCOL_VERSION; readonly pid: number; readonly backends: readonly BackendName[] }
  | { readonly type: 'trace'; readonly capture: number; readonly batch: TraceBatch }
  | { readonly type: 'connection'; readonly connection: ConnectionInfo }
  | { readonly type: 'stats'; readonly capture: number; readonly stats: TraceStats; readonly flow: FlowStats }
  | { readonly type: 'state'; readonly capture: number; readonly state: CaptureState; readonly timeNs: number; readonly summary?: CaptureSummary }
  | { readonly type: 'rules'; readonly applied: boolean; readonly diagnostics: readonly RuleDiagnostic[]; readonly ruleCount: number; readonly pinnedToOldRules: number }
  | { readonly type: 'log'; readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly type: 'error'; readonly message: string; readonly detail?: string }
  | { readonly type: 'exit'; readonly reason: string; readonly code: number };

export function isEngineNotification(x: unknown): x is EngineNotification {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

export const BACKENDS: readonly BackendName[] = ['sim', 'lab', 'tap', 'afpacket', 'pcap'];

export function isEngineCommand(x: unknown): x is EngineCommand {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as { type?: unknown; id?: unknown; seq?: unknown; capture?: unknown };
  if (c.type === 'ack') return typeof c.seq === 'number' && typeof c.capture === 'number';
  return typeof c.type === 'string' && typeof c.id === 'number';
}

export function isEngineTestCommand(x: unknown): x is EngineTestCommand {
  return isEngineCommand(x) && ((x as { type: string }).type === 'test:crash' || (x as { type: string }).type === 'test:synthesize');
}
