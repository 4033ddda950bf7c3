// extension: the settings (package.json contributes.configuration, section "bypassScope"), read in
// one place with their defaults and bounds.
import * as vscode from 'vscode';
import type { BackendName, TraceLevelName } from '../engine/protocol';

export interface LabAddresses {
  /** The host side: both stacks' address (198.18.0.2 by default). */
  readonly host: string;
  /** The wire side: the peer namespace's address (198.18.0.1 by default). */
  readonly peer: string;
  readonly prefixLength: number;
}

export interface Settings {
  readonly bufferPackets: number;
  readonly defaultBackend: BackendName;
  readonly defaultRulesFile: string;
  readonly defaultScenario: string;
  readonly traceLevel: TraceLevelName;
  /** sim: virtual time per wall time. */
  readonly speed: number;
  /** sim: hold virtual time while the extension catches up, rather than have the engine sample trace records away. */
  readonly simLossless: boolean;
  readonly lab: LabAddresses;
  /** tap/afpacket: the named network namespace (`ip netns`) their device is in; empty: this one. */
  readonly networkNamespace: string;
  /** Start a sim capture and open the visualizer when the workspace opens. */
  readonly startCaptureOnOpen: boolean;
}

const BACKEND_NAMES: readonly BackendName[] = ['sim', 'lab', 'tap', 'afpacket', 'pcap'];

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('bypassScope');
  const backend = c.get<string>('capture.defaultBackend', 'sim');
  const level = c.get<string>('capture.traceLevel', 'full');
  const buffer = c.get<number>('capture.bufferPackets', 200_000);
  const speed = c.get<number>('capture.speed', 1);
  return {
    bufferPackets: Number.isInteger(buffer) && buffer >= 1000 ? buffer : 200_000,
    defaultBackend: BACKEND_NAMES.includes(backend as BackendName) ? (backend as BackendName) : 'sim',
    defaultRulesFile: c.get<string>('capture.defaultRulesFile', ''),
    defaultScenario: c.get<string>('capture.defaultScenario', 'mixed'),
    traceLevel: level === 'off' || level === 'summary' || level === 'full' ? level : 'full',
    speed: typeof speed === 'number' && speed > 0 ? speed : 1,
    simLossless: c.get<boolean>('capture.simLossless', true),
    lab: {
      host: c.get<string>('lab.hostAddress', '198.18.0.2'),
      peer: c.get<string>('lab.peerAddress', '198.18.0.1'),
      prefixLength: c.get<number>('lab.prefixLength', 15),
    },
    networkNamespace: c.get<string>('capture.networkNamespace', '').trim(),
    startCaptureOnOpen: c.get<boolean>('startCaptureOnOpen', false) || process.env.BYPASS_SCOPE_START_ON_OPEN === '1',
  };
}

/** Backends that read or write the machine's own devices or namespaces: only in a trusted workspace. */
export const TRUSTED_ONLY: ReadonlySet<BackendName> = new Set<BackendName>(['lab', 'tap', 'afpacket']);

export function backendAllowed(backend: BackendName, trusted: boolean): boolean {
  return trusted || !TRUSTED_ONLY.has(backend);
}
