// steer: per-rule counters — packets, bytes and flows for each rule and for the default.
//
// A plain struct of typed arrays so the data path bumps numbers without allocating and a snapshot is
// three copies. Slot i counts rule i; the last slot counts the default. Float64Array keeps byte
// counts exact up to 2^53. The flow table (later) calls countFlow when it pins a new flow.

export interface RuleCounters {
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly flows: Float64Array;
}

/** Counters for `ruleCount` rules plus the default. */
export function createRuleCounters(ruleCount: number): RuleCounters {
  const n = ruleCount + 1;
  return { packets: new Float64Array(n), bytes: new Float64Array(n), flows: new Float64Array(n) };
}

/** The slot of a classification result: the rule index, or the default's slot for -1. */
export function counterSlot(c: RuleCounters, ruleIndex: number): number {
  return ruleIndex < 0 ? c.packets.length - 1 : ruleIndex;
}

export function countPacket(c: RuleCounters, ruleIndex: number, wireLen: number): void {
  const slot = ruleIndex < 0 ? c.packets.length - 1 : ruleIndex;
  c.packets[slot] += 1;
  c.bytes[slot] += wireLen;
}

export function countFlow(c: RuleCounters, ruleIndex: number): void {
  c.flows[ruleIndex < 0 ? c.flows.length - 1 : ruleIndex] += 1;
}

export function resetRuleCounters(c: RuleCounters): void {
  c.packets.fill(0);
  c.bytes.fill(0);
  c.flows.fill(0);
}

/** A copy that later counting does not change. */
export function snapshotRuleCounters(c: RuleCounters): RuleCounters {
  return { packets: c.packets.slice(), bytes: c.bytes.slice(), flows: c.flows.slice() };
}
