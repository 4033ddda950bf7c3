// steer: steering — the rules, the flow table and the per-rule counters together: the first packet
// of a flow is classified and the decision pinned; later packets follow it. Rules reload atomically;
// new flows follow the new rules, and flows pinned under earlier rules are counted until they end.
import { createRuleCounters, type RuleCounters } from './counters';
import { KEY_WORDS, extractFlowKey, hashKey, type KeyInfo } from './flow-key';
import { FlowTable, type FlowTableOptions } from './flow-table';
import type { Classifier } from './matcher';
import { classifierFor, type Action, type RuleSet } from './rules';

// Module-local copies of the per-packet functions (imported bindings can be getter calls).
const extract = extractFlowKey;
const hashOf = hashKey;

/** Rule numbers that are not rules (see the trace schema). */
export const RULE_DEFAULT = -1;
export const RULE_LOCAL_PIN = -2;
export const RULE_EARLIER_RULES = -4;

const LOCAL_GENERATION = 0xffffffff;
const ACTION_CODE: Record<Action, number> = { bypass: 0, kernel: 1, drop: 2 };
const CODE_ACTION: readonly Action[] = ['bypass', 'kernel', 'drop'];

export interface SteeringResult {
  action: Action;
  /** The rule that decided (see RULE_*); for pinned flows, the rule that decided the flow. */
  rule: number;
  /** 0 when the frame belongs to no flow (classified on its own). */
  flowId: number;
  /** This packet made a new flow. */
  newFlow: boolean;
}

export class Steering {
  readonly flows: FlowTable;
  /** Bumped by every reload; flows remember the generation that decided them. */
  generation = 1;
  private set: RuleSet;
  private classifier: Classifier;
  counters: RuleCounters;
  /** Packets and bytes of flows pinned under rules since reloaded. */
  readonly earlierRules = { packets: 0, bytes: 0 };
  /** The result of the last `steer` call, reused so that steering allocates nothing. */
  readonly result: SteeringResult = { action: 'kernel', rule: RULE_DEFAULT, flowId: 0, newFlow: false };
  private readonly key = new Uint32Array(KEY_WORDS);
  private readonly info: KeyInfo = { kind: 0, forward: true, tcpFlags: 0 };

  constructor(rules: RuleSet, options: FlowTableOptions = {}) {
    this.set = rules;
    this.classifier = classifierFor(rules);
    this.counters = createRuleCounters(rules.rules.length);
    this.flows = new FlowTable(options);
  }

  get rules(): RuleSet {
    return this.set;
  }

  /** Decides where a frame from the wire goes; the answer is in (and returned as) `this.result`. */
  steer(frame: Uint8Array, wireLen: number, now: number): SteeringResult {
    const r = this.result;
    const key = this.key;
    const info = this.info;
    const c = this.counters;
    r.newFlow = false;
    if (!extract(frame, key, info)) {
      const rule = this.classifier.classify(frame, wireLen);
      const at = rule < 0 ? c.packets.length - 1 : rule;
      c.packets[at] += 1;
      c.bytes[at] += wireLen;
      r.rule = rule < 0 ? RULE_DEFAULT : rule;
      r.action = rule < 0 ? this.set.defaultAction : this.set.rules[rule].action;
      r.flowId = 0;
      return r;
    }
    const t = this.flows;
    const h = hashOf(key);
    let slot = t.findHashed(key, h);
    if (slot < 0) slot = this.pin(frame, wireLen, h, now);
    t.touch(slot, info, now);
    r.action = CODE_ACTION[t.actionAt(slot)];
    r.flowId = t.flowIdAt(slot);
    const rule = t.ruleAt(slot);
    if (rule === RULE_LOCAL_PIN) r.rule = RULE_LOCAL_PIN;
    else if (t.generationAt(slot) === this.generation) {
      r.rule = rule;
      const at = rule < 0 ? c.packets.length - 1 : rule;
      c.packets[at] += 1;
      c.bytes[at] += wireLen;
    } else {
      r.rule = RULE_EARLIER_RULES;
      this.earlierRules.packets++;
      this.earlierRules.bytes += wireLen;
    }
    return r;
  }

  /** A new flow: classifies its first packet and pins the decision; returns the flow's slot. */
  private pin(frame: Uint8Array, wireLen: number, h: number, now: number): number {
    const rule = this.classifier.classify(frame, wireLen);
    const action = rule < 0 ? this.set.defaultAction : this.set.rules[rule].action;
    const c = this.counters;
    c.flows[rule < 0 ? c.flows.length - 1 : rule] += 1;
    this.result.newFlow = true;
    return this.flows.insertHashed(this.key, h, this.info.kind, ACTION_CODE[action], rule < 0 ? RULE_DEFAULT : rule, this.generation, now);
  }

  /**
   * Pins the flow of a frame the local bypass stack sends (a connection it opens) to bypass, so that
   * the replies come back to it whatever the rules say. Returns the flow id, or 0 for no flow.
   */
  pinLocal(frame: Uint8Array, now: number): number {
    if (!extract(frame, this.key, this.info)) return 0;
    let slot = this.flows.find(this.key);
    // Local pins belong to no rules generation: a reload never counts them as pinned to earlier rules.
    if (slot < 0) slot = this.flows.insert(this.key, this.info.kind, ACTION_CODE.bypass, RULE_LOCAL_PIN, LOCAL_GENERATION, now);
    this.flows.touch(slot, this.info, now);
    return this.flows.flowIdAt(slot);
  }

  /**
   * Swaps in new rules at once (a rule set with errors is refused and the old rules stay). New flows
   * follow the new rules; existing flows stay pinned. Returns how many flows are pinned to earlier rules.
   */
  reload(rules: RuleSet): { applied: boolean; pinnedToEarlierRules: number } {
    if (!rules.ok) return { applied: false, pinnedToEarlierRules: this.flows.pinnedBefore(this.generation) };
    const classifier = classifierFor(rules);
    this.set = rules;
    this.classifier = classifier;
    this.counters = createRuleCounters(rules.rules.length);
    this.generation++;
    return { applied: true, pinnedToEarlierRules: this.flows.pinnedBefore(this.generation) };
  }

  /** Flows pinned under rules since reloaded. */
  pinnedToEarlierRules(): number {
    return this.flows.pinnedBefore(this.generation);
  }

  /** Expires idle and closed flows, looking at up to `budget` table slots (the sweep goes round over calls). */
  poll(now: number, budget?: number): void {
    this.flows.poll(now, budget);
  }
}
