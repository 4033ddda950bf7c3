// extension: what the rules language (extension/rules/, registerRulesLanguage) needs from the running
// capture — the `RulesSources` of ../rules-sources.md, implemented over the capture controller and
// its stores: the capture's rules file and live hits per rule, hosts seen, the held packets for the
// steering preview, and reloading rules into the running capture.
import * as vscode from 'vscode';
import { RULE_DEFAULT } from '../engine/trace/schema';
import type { RuleDiagnostic } from '../engine/protocol';
import type { CaptureController } from './capture-controller';
import { Disposable } from './dispose';

// The shapes of extension/rules/sources.ts (the rules helper's), repeated here so that this file
// stands alone; the implementation matches them structurally.
export interface RuleHitsShape {
  readonly packets: number;
  readonly bytes: number;
  readonly flows: number;
}
export interface CaptureRulesViewShape {
  readonly rulesUri: string | undefined;
  readonly perRule: readonly RuleHitsShape[];
  readonly defaultHits: RuleHitsShape;
  readonly pinnedToOldRules: number;
}
export interface PreviewPacketShape {
  readonly frame: Uint8Array;
  readonly wireLen: number;
  readonly direction: 'rx' | 'tx';
  readonly path: 'none' | 'bypass' | 'kernel' | 'drop';
  readonly rule: number;
}
export interface ReloadResultShape {
  readonly applied: boolean;
  readonly ruleCount: number;
  readonly pinnedToOldRules: number;
  readonly diagnostics: readonly RuleDiagnostic[];
}

export class CaptureRulesSources extends Disposable {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<void>());
  /** Fires when hits or the capture change (at most four times a second: the controller's pace). */
  readonly onDidChangeCapture = this.changeEmitter.event;

  constructor(private readonly controller: CaptureController) {
    super();
    this.register(controller.onDidChange(() => this.changeEmitter.fire()));
  }

  /** The capture the views show (the newest unless the user picked another): its rules and hits. */
  capture(): CaptureRulesViewShape | undefined {
    const c = this.controller.viewed ?? this.controller.current;
    if (c === undefined) return undefined;
    const n = c.rules.labels.length;
    const perRule: RuleHitsShape[] = [];
    for (let i = 0; i < n; i++) perRule.push(c.store.ruleHits(i, n));
    return {
      rulesUri: c.rules.builtIn ? undefined : c.rules.uri,
      perRule,
      defaultHits: c.store.ruleHits(RULE_DEFAULT, n),
      pinnedToOldRules: c.pinnedToOldRules,
    };
  }

  seenHosts(limit: number): readonly string[] {
    const c = this.controller.viewed ?? this.controller.current;
    return c === undefined ? [] : c.store.seenHosts(limit);
  }

  forEachPacket(visit: (p: PreviewPacketShape) => void): number {
    const c = this.controller.viewed ?? this.controller.current;
    if (c === undefined) return 0;
    let n = 0;
    for (const p of c.store.packets()) {
      visit({ frame: p.frame, wireLen: p.wireLen, direction: p.direction, path: p.path, rule: p.rule });
      n++;
    }
    return n;
  }

  async reloadRules(uri: string, text: string): Promise<ReloadResultShape> {
    if (this.controller.live === undefined) throw new Error('no capture is running');
    const r = await this.controller.reloadRules(uri, text);
    return { applied: r.applied, ruleCount: r.ruleCount, pinnedToOldRules: r.pinnedToOldRules, diagnostics: r.diagnostics };
  }

  isRunning(): boolean {
    return this.controller.live !== undefined;
  }
}
