// bench/rules-editor: what the `.bypass` editor costs as you type — the steering preview re-steering
// a capture store's worth of packets (200,000, the default previewPacketLimit) with edited rules, beside
// the engine's own Steering.steer loop over the same received packets (the peer: the live data path),
// and the engine parser's time on rule files of 10, 100 and 1,000 rules (one parse per edit).
// Prints one JSON line.
//
// Run: node --import tsx bench/rules-editor.bench.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureSession } from '../engine/capture/session';
import { parseRules } from '../engine/steer/rules';
import { Steering } from '../engine/steer/steering';
import { computePreview } from '../extension/rules/preview';
import type { PreviewPacket } from '../extension/rules/sources';

const PACKETS = 200_000;
const PASSES = 7;
const root = join(__dirname, '..');
const routing = readFileSync(join(root, 'examples', 'routing.bypass'), 'utf8');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(): Promise<void> {
  // A real sim capture, as the capture store holds it, repeated up to the preview's default limit.
  const session = new CaptureSession({ rules: parseRules(routing), scenario: 'mixed', seed: 1, traceLevel: 'summary' });
  const captured: PreviewPacket[] = [];
  session.onPacket.push((p) => {
    captured.push({ frame: p.frame.slice(), wireLen: p.wireLen, direction: p.direction, path: p.path, rule: p.rule, timeNs: p.timeNs });
  });
  await session.run({ durationMs: 60_000 });
  const packets: PreviewPacket[] = [];
  while (packets.length < PACKETS) for (const p of captured) if (packets.length < PACKETS) packets.push(p);
  const visit = (v: (p: PreviewPacket) => void) => {
    for (const p of packets) v(p);
    return packets.length;
  };
  const edited = parseRules(routing.replace('bypass  tcp port 8080', 'kernel  tcp port 8080'));

  const preview: number[] = [];
  const steering: number[] = [];
  let changed = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    let t = performance.now();
    changed = computePreview(edited, visit).changedPackets;
    preview.push(performance.now() - t);
    t = performance.now();
    const s = new Steering(edited);
    for (const p of packets) if (p.direction === 'rx') s.steer(p.frame, p.wireLen, (p.timeNs ?? 0) / 1e6);
    steering.push(performance.now() - t);
  }

  const parse: Record<string, number> = {};
  for (const n of [10, 100, 1000]) {
    let text = 'default kernel\n';
    for (let i = 0; i < n; i++) text += `bypass udp and dst port ${1024 + i} and dst host 198.18.${(i >> 8) & 255}.${i & 255}\n`;
    const times: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const t = performance.now();
      parseRules(text);
      times.push(performance.now() - t);
    }
    parse[`parse_ms_${n}_rules`] = +median(times).toFixed(1);
  }

  const p = median(preview);
  const s = median(steering);
  console.log(JSON.stringify({
    bench: 'rules-editor',
    capture_packets: captured.length,
    preview_packets: PACKETS,
    preview_changed_packets: changed,
    preview_ms: +p.toFixed(1),
    peer_steering_loop_ms: +s.toFixed(1),
    preview_to_steering_ratio: +(p / s).toFixed(2),
    preview_pps: Math.round((PACKETS / p) * 1000),
    ...parse,
  }));
}

void main();
