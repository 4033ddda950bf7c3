// rules: the steering preview — how the capture's packets would have been steered by edited rules.
//
// The capture store's packets are replayed, oldest first, through the engine's own Steering with the
// edited rules, flow pinning as live: the first packet of a flow is classified and later packets
// follow it, idle and closed flows expire on the session's sweep schedule when packets carry times.
// Flows the bypass stack opened (the NIC's pinLocal; their received packets carry rule -2) stay on
// bypass whatever the rules say, and frames the NIC did not steer (ARP replies go to both stacks,
// rule -3) are not steered here either. The pins are taken from the recorded rule, not re-made from
// the sent frames: a stack's reply is recorded before the received packet that caused it, so
// replaying pinLocal would pin flows that the rules really decided. Sent frames of the bypass stack
// still touch their flow (TCP close tracking sees both FINs, as live). Each steered packet's new path
// is compared with the path it took. The stacks are not re-run: the preview says where the captured
// packets would go, not what the stacks would have answered.
import type { RuleSet } from '../../engine/steer/rules';
import { FlowKind, KEY_WORDS, extractFlowKey, type KeyInfo } from '../../engine/steer/flow-key';
import { RULE_LOCAL_PIN, Steering } from '../../engine/steer/steering';
import { RULE_NOT_STEERED } from '../../engine/trace/schema';
import type { PreviewPacket } from './sources';

export type PathName = 'none' | 'bypass' | 'kernel' | 'drop';
const PATHS: readonly PathName[] = ['none', 'bypass', 'kernel', 'drop'];
const PATH_INDEX: Readonly<Record<PathName, number>> = { none: 0, bypass: 1, kernel: 2, drop: 3 };

export interface PathChange {
  readonly from: PathName;
  readonly to: PathName;
  readonly packets: number;
  readonly bytes: number;
  /** Flows whose first packet changed path (a flow changes as a whole). */
  readonly flows: number;
}

/** What one rule (or the default) would decide. */
export interface RulePreview {
  readonly packets: number;
  readonly bytes: number;
  readonly flows: number;
  /** Packets of it that would take another path than they did, by (from, to), most packets first. */
  readonly changes: readonly PathChange[];
  readonly changedPackets: number;
}

export interface PreviewResult {
  /** Packets the capture store visited. */
  readonly visited: number;
  /** Packets looked at (at most the limit). */
  readonly considered: number;
  /** Whether packets past the limit were left out. */
  readonly limited: boolean;
  /** Received packets steered by the rules in the preview. */
  readonly steered: number;
  /** Received packets that follow a flow the bypass stack opened (pinned to bypass whatever the rules say). */
  readonly localPinned: number;
  /** Received packets the NIC does not steer (ARP replies, delivered to both stacks). */
  readonly notSteered: number;
  /** Sent packets (not steered). */
  readonly transmitted: number;
  readonly changedPackets: number;
  readonly changedBytes: number;
  readonly changedFlows: number;
  /** One slot per rule of the edited set, then the default. */
  readonly perRule: readonly RulePreview[];
  /** The changed packets by the rule that decided them in the capture (trace numbering), most first. */
  readonly changedFrom: readonly { readonly rule: number; readonly packets: number }[];
}

export interface PreviewOptions {
  /** Most packets to look at (bounded work as you type). */
  readonly limit?: number;
  /** Flow-table size, as the engine's (default: the engine's default). */
  readonly maxFlows?: number;
}

/** The session sweeps the flow table every 100 virtual ms (its stats tick), 256 slots a sweep. */
const POLL_INTERVAL_MS = 100;
const POLL_BUDGET = 256;

/** Re-steers the capture's packets with `rules` and compares each steered packet's path with its real one. */
export function computePreview(
  rules: RuleSet,
  forEachPacket: (visit: (p: PreviewPacket) => void) => number,
  options: PreviewOptions = {},
): PreviewResult {
  const limit = options.limit ?? Infinity;
  const steering = new Steering(rules, options.maxFlows !== undefined ? { maxFlows: options.maxFlows } : {});
  const slots = rules.rules.length + 1;
  const packets = new Float64Array(slots);
  const bytes = new Float64Array(slots);
  const flows = new Float64Array(slots);
  // Per slot, 16 (from, to) cells of packets, bytes, flows; allocated when the slot's first change comes.
  const cells = new Map<number, Float64Array>();
  const changedFrom = new Map<number, number>();
  let considered = 0;
  let steered = 0;
  let localPinned = 0;
  let notSteered = 0;
  let transmitted = 0;
  let changedPackets = 0;
  let changedBytes = 0;
  let changedFlows = 0;
  let lastTick = 0;
  let now = 0;
  const key = new Uint32Array(KEY_WORDS);
  const info: KeyInfo = { kind: FlowKind.NONE, forward: true, tcpFlags: 0, opens: true };
  // A slot sweep never needs more than the whole table (twice maxFlows, rounded up to a power of two).
  const fullSweep = 4 * steering.flows.maxFlows;

  const visit = (p: PreviewPacket): void => {
    if (considered >= limit) return;
    considered++;
    if (p.timeNs !== undefined) {
      now = p.timeNs / 1e6;
      const tick = Math.floor(now / POLL_INTERVAL_MS);
      if (tick > lastTick) {
        steering.poll(now, Math.min((tick - lastTick) * POLL_BUDGET, fullSweep));
        lastTick = tick;
      }
    }
    if (p.direction === 'tx') {
      transmitted++;
      if (p.path === 'bypass' && extractFlowKey(p.frame, key, info)) {
        const slot = steering.flows.find(key);
        if (slot >= 0) steering.flows.touch(slot, info, now);
      }
      return;
    }
    if (p.rule === RULE_NOT_STEERED) {
      notSteered++;
      return;
    }
    if (p.rule === RULE_LOCAL_PIN) {
      localPinned++;
      return;
    }
    const r = steering.steer(p.frame, p.wireLen, now);
    steered++;
    const slot = r.rule < 0 ? slots - 1 : r.rule;
    packets[slot] += 1;
    bytes[slot] += p.wireLen;
    if (r.newFlow) flows[slot] += 1;
    const to: PathName = r.action;
    if (to === p.path) return;
    changedPackets++;
    changedBytes += p.wireLen;
    if (r.newFlow) changedFlows++;
    let c = cells.get(slot);
    if (c === undefined) {
      c = new Float64Array(48);
      cells.set(slot, c);
    }
    const cell = (PATH_INDEX[p.path] * 4 + PATH_INDEX[to]) * 3;
    c[cell] += 1;
    c[cell + 1] += p.wireLen;
    if (r.newFlow) c[cell + 2] += 1;
    changedFrom.set(p.rule, (changedFrom.get(p.rule) ?? 0) + 1);
  };
  const visited = forEachPacket(visit);

  const perRule: RulePreview[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const c = cells.get(slot);
    const changes: PathChange[] = [];
    let changed = 0;
    if (c !== undefined) {
      for (let from = 0; from < 4; from++) {
        for (let to = 0; to < 4; to++) {
          const i = (from * 4 + to) * 3;
          if (c[i] === 0) continue;
          changes.push({ from: PATHS[from], to: PATHS[to], packets: c[i], bytes: c[i + 1], flows: c[i + 2] });
          changed += c[i];
        }
      }
      changes.sort((a, b) => b.packets - a.packets);
    }
    perRule.push({ packets: packets[slot], bytes: bytes[slot], flows: flows[slot], changes, changedPackets: changed });
  }
  return {
    visited,
    considered,
    limited: visited > considered,
    steered,
    localPinned,
    notSteered,
    transmitted,
    changedPackets,
    changedBytes,
    changedFlows,
    perRule,
    changedFrom: [...changedFrom].map(([rule, n]) => ({ rule, packets: n })).sort((a, b) => b.packets - a.packets || a.rule - b.rule),
  };
}
