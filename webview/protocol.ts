// webview/protocol: the extension ⇄ webview messages — types and `is()` guards only, named `scope/verb`.
// The extension host owns the capture store; the webview holds what it was sent and asks for ranges.
// Notifications flow host → webview; requests flow webview → host and are answered by `scope/response`
// with the same id (the webview gives up after REQUEST_TIMEOUT_MS).
import type { ConnectionInfo, TraceStats } from '../engine/trace/schema';

export const REQUEST_TIMEOUT_MS = 5000;
/** The packets the webview holds at most (a little more between two compactions); the host's ring holds the capture. */
export const WEBVIEW_HOLD_PACKETS = 100_000;

/** A TraceBatch as postMessage carries it: the records as an ArrayBuffer (structured clone, no copy into JSON). */
export interface WireBatch {
  readonly schema: number;
  readonly seq: number;
  readonly records: ArrayBuffer;
  readonly recordCount: number;
  readonly strings: readonly (readonly [number, string])[];
  readonly dropped: number;
}

/** One routing rule as the packet list labels it (index as packet records carry it). */
export interface RuleLabel {
  readonly index: number;
  readonly line: number;
  readonly action: 'bypass' | 'kernel' | 'drop';
  readonly filter: string;
}

export type CaptureStateName = 'idle' | 'running' | 'paused' | 'stopped';

// ---- host → webview notifications

export interface TraceBatchNotification { readonly type: 'scope/traceBatch'; readonly batch: WireBatch }
export interface ConnectionNotification { readonly type: 'scope/connection'; readonly connection: ConnectionInfo }
export interface StatsNotification { readonly type: 'scope/stats'; readonly stats: TraceStats }
export interface CaptureStateNotification {
  readonly type: 'scope/captureState';
  readonly state: CaptureStateName;
  readonly backend: string;
  readonly scenario: string;
  readonly rules: readonly RuleLabel[];
}
/** The host (a command, a tree view) selects a packet. */
export interface SelectNotification { readonly type: 'scope/select'; readonly packetId: number }
/**
 * The host puts the connection view at an absolute place: connection `connId` after its `step`-th
 * transition (0: its first state). Absolute, so that a step crossing a move the user made in the
 * webview cannot drift; `seq` numbers the host's step and open messages, and the webview's
 * `scope/stepChanged` says the last one it applied (older reports are stale to the host).
 */
export interface StepNotification { readonly type: 'scope/step'; readonly connId: number; readonly step: number; readonly seq: number }
/** The host opens a connection (the Connections view's selection): the TCP tab, at its first state. */
export interface OpenConnectionNotification { readonly type: 'scope/openConnection'; readonly connId: number; readonly seq: number }
/**
 * What the host's capture store holds: packet ids firstId…lastId (ids between that it lacks were
 * sampled away by the engine), `held` packets in all. The webview holds a bounded part of it and
 * asks for the rest by range.
 */
export interface CaptureExtent {
  readonly firstId: number;
  readonly lastId: number;
  readonly held: number;
}
export interface ExtentNotification { readonly type: 'scope/extent'; readonly extent: CaptureExtent }
/** A new capture starts: forget everything held. `seq` as a step's: the webview's reports of the old capture are stale. */
export interface ResetNotification { readonly type: 'scope/reset'; readonly seq: number }
export interface ResponseMessage {
  readonly type: 'scope/response';
  readonly id: number;
  readonly ok: boolean;
  readonly result?: PacketRangeResult | PacketDetailResult;
  readonly error?: string;
}

export type HostMessage =
  | TraceBatchNotification
  | ConnectionNotification
  | StatsNotification
  | CaptureStateNotification
  | SelectNotification
  | StepNotification
  | OpenConnectionNotification
  | ExtentNotification
  | ResetNotification
  | ResponseMessage;

// ---- webview → host

export interface ReadyNotification { readonly type: 'scope/ready' }
export interface SelectionChangedNotification { readonly type: 'scope/selectionChanged'; readonly packetId: number | undefined }
/**
 * The connection view moved: which connection it shows and after which of its transitions (0: before
 * the first), so that a host command (`scope/step` without a connId) and a status line can follow it.
 */
export interface StepChangedNotification {
  readonly type: 'scope/stepChanged';
  readonly connId: number | undefined;
  readonly step: number;
  readonly steps: number;
  /** The `seq` of the last host `scope/step`, `scope/openConnection` or `scope/reset` applied before this move (0: none). */
  readonly hostSeq: number;
}

/**
 * Packets with ids in [fromId, toId] (inclusive), as batches, plus the connections they mention.
 * `newest`: at most that many, the newest of the range, and every transition held (the first load).
 */
export interface PacketRangeRequest { readonly type: 'scope/packetRange'; readonly id: number; readonly fromId: number; readonly toId: number; readonly newest?: number }
export interface PacketRangeResult {
  readonly batches: readonly WireBatch[];
  readonly connections: readonly ConnectionInfo[];
  /** What the host holds now (absent from hosts that do not say). */
  readonly extent?: CaptureExtent;
}

/** One packet's record, for a packet the webview no longer holds. */
export interface PacketDetailRequest { readonly type: 'scope/packetDetail'; readonly id: number; readonly packetId: number }
export interface PacketDetailResult { readonly batch: WireBatch | undefined }

export type WebviewRequest = PacketRangeRequest | PacketDetailRequest;
export type WebviewMessage = ReadyNotification | SelectionChangedNotification | StepChangedNotification | WebviewRequest;

export interface RequestResults {
  'scope/packetRange': PacketRangeResult;
  'scope/packetDetail': PacketDetailResult;
}

// ---- guards

function tagged(m: unknown, type: string): m is { type: string } {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

function isWireBatch(b: unknown): b is WireBatch {
  if (typeof b !== 'object' || b === null) return false;
  const x = b as Partial<WireBatch>;
  return typeof x.schema === 'number' && typeof x.seq === 'number' && x.records instanceof ArrayBuffer && Array.isArray(x.strings);
}

export const isTraceBatch = (m: unknown): m is TraceBatchNotification => tagged(m, 'scope/traceBatch') && isWireBatch((m as TraceBatchNotification).batch);
export const isConnection = (m: unknown): m is ConnectionNotification =>
  tagged(m, 'scope/connection') && typeof (m as ConnectionNotification).connection?.connId === 'number';
export const isStats = (m: unknown): m is StatsNotification => tagged(m, 'scope/stats') && typeof (m as StatsNotification).stats?.timeNs === 'number';
export const isCaptureState = (m: unknown): m is CaptureStateNotification =>
  tagged(m, 'scope/captureState') && typeof (m as CaptureStateNotification).state === 'string' && Array.isArray((m as CaptureStateNotification).rules);
export const isSelect = (m: unknown): m is SelectNotification => tagged(m, 'scope/select') && typeof (m as SelectNotification).packetId === 'number';
export const isStep = (m: unknown): m is StepNotification =>
  tagged(m, 'scope/step') &&
  typeof (m as StepNotification).connId === 'number' &&
  Number.isInteger((m as StepNotification).step) &&
  (m as StepNotification).step >= 0 &&
  typeof (m as StepNotification).seq === 'number';
export const isOpenConnection = (m: unknown): m is OpenConnectionNotification =>
  tagged(m, 'scope/openConnection') && typeof (m as OpenConnectionNotification).connId === 'number' && typeof (m as OpenConnectionNotification).seq === 'number';
export const isExtent = (m: unknown): m is ExtentNotification =>
  tagged(m, 'scope/extent') && typeof (m as ExtentNotification).extent?.firstId === 'number' && typeof (m as ExtentNotification).extent?.lastId === 'number';
export const isReset = (m: unknown): m is ResetNotification => tagged(m, 'scope/reset') && typeof (m as ResetNotification).seq === 'number';
export const isResponse = (m: unknown): m is ResponseMessage =>
  tagged(m, 'scope/response') && typeof (m as ResponseMessage).id === 'number' && typeof (m as ResponseMessage).ok === 'boolean';
export const isReady = (m: unknown): m is ReadyNotification => tagged(m, 'scope/ready');
export const isSelectionChanged = (m: unknown): m is SelectionChangedNotification => tagged(m, 'scope/selectionChanged');
export const isStepChanged = (m: unknown): m is StepChangedNotification =>
  tagged(m, 'scope/stepChanged') &&
  typeof (m as StepChangedNotification).step === 'number' &&
  typeof (m as StepChangedNotification).steps === 'number' &&
  typeof (m as StepChangedNotification).hostSeq === 'number';
export const isPacketRange = (m: unknown): m is PacketRangeRequest =>
  tagged(m, 'scope/packetRange') && typeof (m as PacketRangeRequest).fromId === 'number' && typeof (m as PacketRangeRequest).toId === 'number';
export const isPacketDetail = (m: unknown): m is PacketDetailRequest => tagged(m, 'scope/packetDetail') && typeof (m as PacketDetailRequest).packetId === 'number';
