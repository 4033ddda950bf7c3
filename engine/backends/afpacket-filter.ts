// backends: the kernel filter of the `afpacket` backend — one classic BPF program, compiled from the
// rules with steer's compiler, that accepts exactly the frames the engine must see: ARP, and packets
// to the bypass stack's address that the rules steer to bypass (first match wins, as in the engine),
// or that answer a flow the bypass stack opened (its ephemeral ports: such flows are pinned to it).
//
// One difference from steering inside the engine, said plainly: in classic BPF a load past the end of
// a short frame rejects the whole program, so a rule reading far into a packet (`tcp[100] = 1`) that
// does not fit makes the kernel drop the frame where the engine would go on to the next rule.
import { condToBpf, filterToCond, type BpfInsn, type Cond } from '../steer/bpf';
import { parseFilter } from '../steer/parser';
import type { RuleSet } from '../steer/rules';
import { ipv4ToString } from '../wire/address';

const TRUE: Cond = { kind: 'const', value: true };
const FALSE: Cond = { kind: 'const', value: false };

function or(a: Cond, b: Cond): Cond {
  if (a.kind === 'const') return a.value ? TRUE : b;
  if (b.kind === 'const') return b.value ? TRUE : a;
  return { kind: 'or', a, b };
}

function and(a: Cond, b: Cond): Cond {
  if (a.kind === 'const') return a.value ? b : FALSE;
  if (b.kind === 'const') return b.value ? a : FALSE;
  return { kind: 'and', a, b };
}

function not(a: Cond): Cond {
  return a.kind === 'const' ? { kind: 'const', value: !a.value } : { kind: 'not', a };
}

function expr(text: string): Cond {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(`internal filter '${text}': ${r.error.message}`);
  return filterToCond(r.filter);
}

/** Frames the rules steer to bypass: the first rule that matches decides, else the default. */
export function bypassCond(rules: RuleSet): Cond {
  let c: Cond = rules.defaultAction === 'bypass' ? TRUE : FALSE;
  for (let i = rules.rules.length - 1; i >= 0; i--) {
    const r = rules.rules[i];
    const m = filterToCond(r.filter);
    c = r.action === 'bypass' ? or(m, c) : and(not(m), c);
  }
  return c;
}

/** The program for SO_ATTACH_FILTER: ARP, or to `address` and (steered to bypass, or to the stack's ephemeral ports). */
export function afpacketFilter(rules: RuleSet, address: number, ephemeral: readonly [number, number]): BpfInsn[] {
  const local = expr(`(tcp or udp) and dst portrange ${ephemeral[0]}-${ephemeral[1]}`);
  const ours = and(expr(`dst host ${ipv4ToString(address)}`), or(bypassCond(rules), local));
  return condToBpf(or(expr('arp'), ours));
}
