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

export interface StartCapture {
  readonly backend: BackendName;
  /** Workload scenario for sim/lab (`mixed` by default); ignored by pcap. */
  readonly scenario?: string;
  /** The rules file's text and the name to report diagnostics under. */
  readonly rules?: { readonly text: string; readonly source: string };
  readonly impairments?: ImpairmentSettings;
  readonly traceLevel?: TraceLevelName;
  readonly seed?: number;
  /** sim only: pause virtual time when the consumer falls behind instead of dropping trace records. */
  readonly lossless?: boolean;
  /** pcap: the capture file to replay; tap/afpacket: the device. */
  readonly file?: string;
  readonly device?: string;
  /** Stop after this many packets or seconds (of virtual time in sim). */
  readonly packets?: number;
  readonly durationSec?: number;
  readonly snapLen?: number;
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
  /** Flow control: the parent has consumed batches up to `seq`. */
  | { readonly type: 'ack'; readonly id: number; readonly seq: number };

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
  | { readonly type: 'hello'; readonly protocol: typeof PROTOCOL_VERSION; readonly pid: number }
  | { readonly type: 'trace'; readonly batch: TraceBatch }
  | { readonly type: 'connection'; readonly connection: ConnectionInfo }
  | { readonly type: 'stats'; readonly stats: TraceStats }
  | { readonly type: 'state'; readonly state: CaptureState; readonly timeNs: number }
  | { readonly type: 'rules'; readonly applied: boolean; readonly diagnostics: readonly RuleDiagnostic[]; readonly ruleCount: number; readonly pinnedToOldRules: number }
  | { readonly type: 'log'; readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly type: 'error'; readonly message: string; readonly detail?: string }
  | { readonly type: 'exit'; readonly reason: string; readonly code: number };

export function isEngineNotification(x: unknown): x is EngineNotification {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

export function isEngineCommand(x: unknown): x is EngineCommand {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { type?: unknown }).type === 'string' &&
    typeof (x as { id?: unknown }).id === 'number'
  );
}
