// test support for engine/capture: sessions on the sim topology, decoded traces, and what a valid hop
// path and a legal TCP transition are.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Impairments } from '../../../engine/backends/impair';
import { CaptureSession, type SessionOptions } from '../../../engine/capture/session';
import { parseRules } from '../../../engine/steer/rules';
import { StringTable, decodeBatch } from '../../../engine/trace/codec';
import type { PacketRecord, TraceRecord, TransitionRecord } from '../../../engine/trace/schema';
import type { Scenario } from '../../../engine/workloads/mixed';

export const root = join(__dirname, '..', '..', '..');
export const ROUTING = readFileSync(join(root, 'examples', 'routing.bypass'), 'utf8');

export function session(options: { rules?: string; scenario?: string | Scenario; impairments?: Impairments; seed?: number } & Omit<Partial<SessionOptions>, 'rules' | 'scenario'> = {}): {
  s: CaptureSession;
  records: TraceRecord[];
} {
  const s = new CaptureSession({ ...options, rules: parseRules(options.rules ?? ROUTING), scenario: options.scenario ?? 'mixed', impairments: options.impairments, seed: options.seed ?? 1 });
  const records: TraceRecord[] = [];
  const strings = new StringTable();
  s.onBatches.push((batches) => {
    for (const b of batches) decodeBatch(b, strings, (r) => records.push(r.type === 'packet' ? { ...r, bytes: r.bytes.slice() } : r));
  });
  return { s, records };
}

export function packets(records: readonly TraceRecord[]): PacketRecord[] {
  return records.filter((r): r is PacketRecord => r.type === 'packet');
}

export function transitions(records: readonly TraceRecord[]): TransitionRecord[] {
  return records.filter((r): r is TransitionRecord => r.type === 'transition');
}

const BYPASS_RX = ['bypass.eth', 'bypass.ip', /^bypass\.(tcp|udp|icmp)$/, 'bypass.socket', 'app'];
const KERNEL_RX = ['kernel.driver', 'kernel.ip', /^kernel\.(tcp|udp|icmp)$/, 'kernel.socket', 'kernel.syscall', 'app'];

function matches(layer: string, want: string | RegExp): boolean {
  return typeof want === 'string' ? layer === want : want.test(layer);
}

/** Checks that `layers` is a prefix of `chain` (in order, no gaps); returns a complaint or undefined. */
function prefixOf(layers: readonly string[], chain: readonly (string | RegExp)[]): string | undefined {
  if (layers.length > chain.length) return `too many hops for ${chain.join('→')}`;
  for (let i = 0; i < layers.length; i++) if (!matches(layers[i], chain[i])) return `hop ${i} is ${layers[i]}, want ${chain[i]}`;
  return undefined;
}

/**
 * Why a packet record's hops are not a valid path of the vocabulary (DESIGN.md "Paths and hops"), or
 * undefined when they are. Receive: [wire drop] | nic.rx → [wire] → steer → one stack's chain (a prefix, ending
 * at the layer that delivered or dropped it); an ARP reply goes to both stacks' link layers. Transmit:
 * a stack's chain reversed (a suffix of it), then nic.tx, then perhaps a wire hop.
 */
export function pathProblem(p: PacketRecord): string | undefined {
  const layers = p.hops.map((h) => h.layer);
  const last = p.hops[p.hops.length - 1];
  if (p.hops.length === 0) return 'no hops';
  for (let i = 0; i + 1 < p.hops.length; i++) if (p.hops[i].verdict === 'drop') return `hop ${i} (${layers[i]}) drops but is not the last`;
  if (p.direction === 'rx') {
    if (layers[0] === 'wire') return layers.length === 1 && last.verdict === 'drop' ? undefined : 'a wire hop on receive must be a lone drop';
    // What the impairments did to a frame on its way in follows nic.rx (they sit on the wire side of the NIC).
    const impaired = layers[1] === 'wire' ? 1 : 0;
    if (impaired && p.hops[1].verdict !== 'pass') return 'a wire hop after nic.rx must pass';
    if (layers[0] !== 'nic.rx' || layers[1 + impaired] !== 'steer') return `starts ${layers.slice(0, 2 + impaired).join('→')}, want nic.rx→[wire→]steer`;
    const rest = layers.slice(2 + impaired);
    if (p.path === 'drop') return rest.length === 0 && p.hops[1 + impaired].verdict === 'drop' ? undefined : 'a steering drop must end at steer';
    if (p.path === 'none') return rest.join(',') === 'bypass.eth,kernel.driver' ? undefined : `unsteered frame went ${rest.join('→')}`;
    const chain = p.path === 'bypass' ? BYPASS_RX : KERNEL_RX;
    const problem = prefixOf(rest, chain);
    if (problem !== undefined) return problem;
    if (rest.length === 0) return 'steered but no stack saw it';
    if (last.verdict === 'pass') return `ends at ${last.layer} with pass`;
    return undefined;
  }
  const nic = layers.indexOf('nic.tx');
  let stackLayers = layers;
  if (nic >= 0) {
    const after = layers.slice(nic + 1);
    if (!(after.length === 0 || (after.length === 1 && after[0] === 'wire'))) return `after nic.tx: ${after.join('→')}`;
    stackLayers = layers.slice(0, nic);
  } else if (last.verdict !== 'drop') return 'a transmit that never reached nic.tx must end in a drop';
  const chain = [...(p.path === 'bypass' ? BYPASS_RX : KERNEL_RX)].reverse();
  // A suffix of the reversed chain: where the packet was made, down to the link.
  const start = chain.length - stackLayers.length;
  if (start < 0) return 'too many transmit hops';
  for (let i = 0; i < stackLayers.length; i++) {
    if (!matches(stackLayers[i], chain[start + i])) {
      // UDP/ICMP/TCP are made at their own layer; app/socket hops appear only for socket sends.
      return `transmit hop ${i} is ${stackLayers[i]}, want ${chain[start + i]}`;
    }
  }
  if (nic >= 0 && stackLayers.length > 0 && !/(\.eth|\.driver)$/.test(stackLayers[stackLayers.length - 1])) return 'nic.tx not after the link layer';
  return undefined;
}

/** The edges of the RFC 9293 state diagram (Figure 5), plus aborts and resets to CLOSED from any state. */
const EDGES = new Set([
  'CLOSED>LISTEN',
  'CLOSED>SYN-SENT',
  'LISTEN>SYN-RECEIVED',
  'LISTEN>SYN-SENT',
  'LISTEN>CLOSED',
  'SYN-SENT>SYN-RECEIVED',
  'SYN-SENT>ESTABLISHED',
  'SYN-SENT>CLOSED',
  'SYN-RECEIVED>ESTABLISHED',
  'SYN-RECEIVED>FIN-WAIT-1',
  'SYN-RECEIVED>LISTEN',
  'ESTABLISHED>FIN-WAIT-1',
  'ESTABLISHED>CLOSE-WAIT',
  'FIN-WAIT-1>FIN-WAIT-2',
  'FIN-WAIT-1>CLOSING',
  'FIN-WAIT-1>TIME-WAIT',
  'FIN-WAIT-2>TIME-WAIT',
  'CLOSING>TIME-WAIT',
  'CLOSE-WAIT>LAST-ACK',
  'LAST-ACK>CLOSED',
  'TIME-WAIT>CLOSED',
]);

export function legalTransition(from: string, to: string): boolean {
  return EDGES.has(`${from}>${to}`) || to === 'CLOSED';
}
