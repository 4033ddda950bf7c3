// steer: steering — the rules, the flow table and the per-rule counters together: the first packet
// of a flow is classified and the decision pinned; later packets follow it. Rules reload atomically;
// new flows follow the new rules, and flows pinned under earlier rules are counted until they end.
import { countFlow, countPacket, createRuleCounters, type RuleCounters } from './counters';
import { FlowKind, KEY_WORDS, extractFlowKey, type KeyInfo } from './flow-key';
import { FlowTable, type FlowTableOptions } from './flow-table';
import type { Classifier } from './matcher';
import { actionFor, classifierFor, type Action, type RuleSet } from './rules';

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
  private readonly info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0 };

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
    r.newFlow = false;
    if (!extractFlowKey(frame, this.key, this.info)) {
      const rule = this.classifier.classify(frame, wireLen);
      countPacket(this.counters, rule, wireLen);
      r.rule = rule < 0 ? RULE_DEFAULT : rule;
      r.action = actionFor(this.set, rule);
      r.flowId = 0;
      return r;
    }
    const t = this.flows;
    let slot = t.find(this.key);
    if (slot < 0) {
      const rule = this.classifier.classify(frame, wireLen);
      const action = actionFor(this.set, rule);
      slot = t.insert(this.key, this.info.kind, ACTION_CODE[action], rule < 0 ? RULE_DEFAULT : rule, this.generation, now);
      countFlow(this.counters, rule);
      r.newFlow = true;
    }
    t.touch(slot, wireLen, this.info, now);
    r.action = CODE_ACTION[t.actionAt(slot)];
    r.flowId = t.flowIdAt(slot);
    const rule = t.ruleAt(slot);
    if (rule === RULE_LOCAL_PIN) r.rule = RULE_LOCAL_PIN;
    else if (t.generationAt(slot) === this.generation) {
      r.rule = rule;
      countPacket(this.counters, r.rule, wireLen);
    } else {
      r.rule = RULE_EARLIER_RULES;
      this.earlierRules.packets++;
      this.earlierRules.bytes += wireLen;
    }
    return r;
  }

  /**
   * Pins the flow of a frame the local bypass stack sends (a connection it opens) to bypass, so that
   * the replies come back to it whatever the rules say. Returns the flow id, or 0 for no flow.
   */
  pinLocal(frame: Uint8Array, now: number): number {
    if (!extractFlowKey(frame, this.key, this.info)) return 0;
    let slot = this.flows.find(this.key);
    // Local pins belong to no rules generation: a reload never counts them as pinned to earlier rules.
    if (slot < 0) slot = this.flows.insert(this.key, this.info.kind, ACTION_CODE.bypass, RULE_LOCAL_PIN, LOCAL_GENERATION, now);
    this.flows.touch(slot, frame.length, this.info, now);
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
