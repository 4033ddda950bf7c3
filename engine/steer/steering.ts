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

/** The actions by code, as `SteeringBatch.action` holds them. */
export const ACTION_BY_CODE: readonly Action[] = CODE_ACTION;

/**
 * Room for the answers of `steerBatch`, one slot per frame of a batch (slot j for frame from + j),
 * and for the batch's flow keys while it runs. Made once and reused: a batch allocates nothing.
 */
export class SteeringBatch {
  /** Action codes (ACTION_BY_CODE), rules (see RULE_*), flow ids (0: no flow), and 1 where the frame made a new flow. */
  readonly action: Uint8Array;
  readonly rule: Int32Array;
  readonly flowId: Uint32Array;
  readonly newFlow: Uint8Array;
  /** Per frame: whether it has a flow key, the key, its hash, and what the key extractor said besides. */
  readonly keyed: Uint8Array;
  readonly keys: Uint32Array[];
  readonly hashes: Int32Array;
  readonly kind: Uint8Array;
  readonly forward: Uint8Array;
  readonly tcpFlags: Uint8Array;
  readonly opens: Uint8Array;

  constructor(readonly capacity: number) {
    this.action = new Uint8Array(capacity);
    this.rule = new Int32Array(capacity);
    this.flowId = new Uint32Array(capacity);
    this.newFlow = new Uint8Array(capacity);
    this.keyed = new Uint8Array(capacity);
    const words = new Uint32Array(capacity * KEY_WORDS);
    this.keys = Array.from({ length: capacity }, (_, j) => words.subarray(j * KEY_WORDS, (j + 1) * KEY_WORDS));
    this.hashes = new Int32Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.forward = new Uint8Array(capacity);
    this.tcpFlags = new Uint8Array(capacity);
    this.opens = new Uint8Array(capacity);
  }
}

export class Steering {
  readonly flows: FlowTable;
  /** Bumped by every reload; flows remember the generation that decided them. */
  generation = 1;
  private set: RuleSet;
  private classifier: Classifier;
  /** Each rule's action code, and the default's. */
  private ruleAction: Uint8Array;
  private defaultAction: number;
  counters: RuleCounters;
  /** Packets and bytes of flows pinned under rules since reloaded. */
  readonly earlierRules = { packets: 0, bytes: 0 };
  /** The result of the last `steer` call, reused so that steering allocates nothing. */
  readonly result: SteeringResult = { action: 'kernel', rule: RULE_DEFAULT, flowId: 0, newFlow: false };
  private readonly key = new Uint32Array(KEY_WORDS);
  private readonly info: KeyInfo = { kind: 0, forward: true, tcpFlags: 0, opens: true };
  /** What the last batch's table reads came to (kept so that they are not optimised away). */
  private prefetched = 0;

  constructor(rules: RuleSet, options: FlowTableOptions = {}) {
    this.set = rules;
    this.classifier = classifierFor(rules);
    this.ruleAction = actionCodes(rules);
    this.defaultAction = ACTION_CODE[rules.defaultAction];
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
    const code = extract(frame, this.key, this.info)
      ? this.steerFlow(frame, wireLen, now, this.key, hashOf(this.key))
      : this.steerAlone(frame, wireLen);
    r.action = CODE_ACTION[code];
    return r;
  }

  /**
   * Steers frames[from..to) in order, exactly as `steer` on each in turn would (with `now` for all of
   * them, as one receive batch), into `out`. The batch's flow keys are read and their table slots
   * looked at before any frame is decided, so that the table's cache misses overlap instead of
   * stalling one frame after another.
   */
  steerBatch(frames: readonly Uint8Array[], wireLens: ArrayLike<number>, now: number, from: number, to: number, out: SteeringBatch): void {
    const n = to - from;
    if (n > out.capacity) throw new RangeError(`a batch of ${n} frames does not fit a SteeringBatch of ${out.capacity}`);
    const info = this.info;
    for (let j = 0; j < n; j++) {
      const key = out.keys[j];
      if (extract(frames[from + j], key, info)) {
        out.keyed[j] = 1;
        out.hashes[j] = hashOf(key);
        out.kind[j] = info.kind;
        out.forward[j] = info.forward ? 1 : 0;
        out.tcpFlags[j] = info.tcpFlags;
        out.opens[j] = info.opens ? 1 : 0;
      } else out.keyed[j] = 0;
    }
    this.prefetched ^= this.flows.prefetch(out.hashes, out.keyed, n);
    const r = this.result;
    for (let j = 0; j < n; j++) {
      const frame = frames[from + j];
      const wireLen = wireLens[from + j];
      r.newFlow = false;
      let code: number;
      if (out.keyed[j] === 1) {
        info.kind = out.kind[j] as KeyInfo['kind'];
        info.forward = out.forward[j] === 1;
        info.tcpFlags = out.tcpFlags[j];
        info.opens = out.opens[j] === 1;
        code = this.steerFlow(frame, wireLen, now, out.keys[j], out.hashes[j]);
      } else code = this.steerAlone(frame, wireLen);
      out.action[j] = code;
      out.rule[j] = r.rule;
      out.flowId[j] = r.flowId;
      out.newFlow[j] = r.newFlow ? 1 : 0;
    }
  }

  /** A frame with no flow: classified on its own. Returns the action code; rule and flow id go to `result`. */
  private steerAlone(frame: Uint8Array, wireLen: number): number {
    const r = this.result;
    const c = this.counters;
    const rule = this.classifier.classify(frame, wireLen);
    const at = rule < 0 ? c.packets.length - 1 : rule;
    c.packets[at] += 1;
    c.bytes[at] += wireLen;
    r.rule = rule < 0 ? RULE_DEFAULT : rule;
    r.flowId = 0;
    return rule < 0 ? this.defaultAction : this.ruleAction[rule];
  }

  /**
   * A frame of the flow `key` (hash `h`; `this.info` holds the extractor's flags): follows its pinned
   * decision, or classifies it and pins a new flow. Returns the action code; the rest goes to `result`.
   */
  private steerFlow(frame: Uint8Array, wireLen: number, now: number, key: Uint32Array, h: number): number {
    const r = this.result;
    const c = this.counters;
    const t = this.flows;
    let slot = t.findHashed(key, h);
    if (slot < 0) {
      if (!this.info.opens) return this.steerAlone(frame, wireLen);
      slot = this.pin(frame, wireLen, key, h, now);
    }
    t.touch(slot, this.info, now);
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
    return t.actionAt(slot);
  }

  /** A new flow: classifies its first packet and pins the decision; returns the flow's slot. */
  private pin(frame: Uint8Array, wireLen: number, key: Uint32Array, h: number, now: number): number {
    const rule = this.classifier.classify(frame, wireLen);
    const c = this.counters;
    c.flows[rule < 0 ? c.flows.length - 1 : rule] += 1;
    this.result.newFlow = true;
    const action = rule < 0 ? this.defaultAction : this.ruleAction[rule];
    return this.flows.insertHashed(key, h, this.info.kind, action, rule < 0 ? RULE_DEFAULT : rule, this.generation, now);
  }

  /**
   * Pins the flow of a frame the local bypass stack sends (a connection it opens) to bypass, so that
   * the replies come back to it whatever the rules say. Returns the flow id, or 0 for no flow.
   */
  pinLocal(frame: Uint8Array, now: number): number {
    if (!extract(frame, this.key, this.info)) return 0;
    let slot = this.flows.find(this.key);
    if (slot < 0 && !this.info.opens) return 0;
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
    this.ruleAction = actionCodes(rules);
    this.defaultAction = ACTION_CODE[rules.defaultAction];
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

function actionCodes(set: RuleSet): Uint8Array {
  return Uint8Array.from(set.rules, (r) => ACTION_CODE[r.action]);
}
