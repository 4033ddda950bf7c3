// rules: what the routing-rules language needs from the running capture — the seam with the
// extension core, which implements `RulesSources` over its capture store and engine host. Types only.
import type * as vscode from 'vscode';
import type { RuleDiagnostic } from '../../engine/protocol';

/** What the rules language needs from the running capture. The extension core implements it. */
export interface RuleHits {
  readonly packets: number;
  readonly bytes: number;
  readonly flows: number;
}

export interface CaptureRulesView {
  /** The rules file the running (or last) capture uses, as a URI string, or undefined (built-in rules). */
  readonly rulesUri: string | undefined;
  /** Hits per rule of that file, in rule order (index as the trace's `rule` field), and for the default. */
  readonly perRule: readonly RuleHits[];
  readonly defaultHits: RuleHits;
  /** Flows still pinned to rules since reloaded. */
  readonly pinnedToOldRules: number;
}

export interface PreviewPacket {
  /** The captured bytes (may be shorter than wireLen). */
  readonly frame: Uint8Array;
  readonly wireLen: number;
  readonly direction: 'rx' | 'tx';
  readonly path: 'none' | 'bypass' | 'kernel' | 'drop';
  /** As in the trace schema: index, -1 default, -2 local pin, -3 not steered, -4 earlier rules. */
  readonly rule: number;
  /**
   * Optional: nanoseconds since capture start. When given, the preview expires idle and closed flows
   * as the live flow table does; without it every flow stays pinned for the whole capture.
   */
  readonly timeNs?: number;
}

/** A diagnostic of rules the engine refused to load (1-based, as the engine's diagnostics). */
export type ReloadDiagnostic = RuleDiagnostic;

export interface ReloadResult {
  readonly applied: boolean;
  readonly ruleCount: number;
  readonly pinnedToOldRules: number;
  readonly diagnostics: readonly ReloadDiagnostic[];
}

export interface RulesSources {
  /** The current capture's rules and live hits, or undefined when no capture has run. */
  capture(): CaptureRulesView | undefined;
  /** Fires when hits or the capture change (at most a few times a second). */
  readonly onDidChangeCapture: vscode.Event<void>;
  /** IPv4/IPv6 hosts seen in the capture, most frequent first (for completion). */
  seenHosts(limit: number): readonly string[];
  /** The capture store's packets, oldest first, for the steering preview; returns how many were visited. */
  forEachPacket(visit: (p: PreviewPacket) => void): number;
  /** Loads rules text into the running capture. Resolves with what the engine said; rejects when no capture runs. */
  reloadRules(uri: string, text: string): Promise<ReloadResult>;
  /** Whether a capture is running (saving reloads only then). */
  isRunning(): boolean;
}
