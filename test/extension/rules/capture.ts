// test support for the rules language: a real sim capture recorded as the capture store hands packets
// to the steering preview, and a RulesSources-shaped view of it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureSession } from '../../../engine/capture/session';
import { parseRules } from '../../../engine/steer/rules';
import type { PreviewPacket } from '../../../extension/rules/sources';

export const root = join(__dirname, '..', '..', '..');
export const ROUTING = readFileSync(join(root, 'examples', 'routing.bypass'), 'utf8');

/** Runs the mixed sim scenario with `rules` for `durationMs` of virtual time and keeps every packet as PreviewPackets. */
export async function recordCapture(rules = ROUTING, durationMs = 3000): Promise<PreviewPacket[]> {
  const s = new CaptureSession({ rules: parseRules(rules), scenario: 'mixed', seed: 1, traceLevel: 'summary' });
  const out: PreviewPacket[] = [];
  s.onPacket.push((p) => {
    out.push({ frame: p.frame.slice(), wireLen: p.wireLen, direction: p.direction, path: p.path, rule: p.rule, timeNs: p.timeNs });
  });
  await s.run({ durationMs });
  return out;
}

/** forEachPacket over a recorded list, as the capture store offers it. */
export function visitor(packets: readonly PreviewPacket[]): (visit: (p: PreviewPacket) => void) => number {
  return (visit) => {
    for (const p of packets) visit(p);
    return packets.length;
  };
}
