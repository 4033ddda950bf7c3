// Measures the classifier: packets per second with 10 and 1,000 rules on one core.
// Run: node --import tsx test/engine/steer/classify-rate.ts

import { classifierFor, parseRules } from '../../../engine/steer/rules';
import { ruleFile, traffic } from './workload';

export function measureClassifyRate(ruleCount: number, seconds = 1): { rules: number; pps: number; indexed: number; scanned: number } {
  const set = parseRules(ruleFile(ruleCount));
  if (!set.ok) throw new Error(set.diagnostics.map((d) => d.message).join('\n'));
  const c = classifierFor(set);
  const frames = traffic(4096);
  let sink = 0;
  const run = (secs: number): { packets: number; elapsed: number } => {
    let packets = 0;
    const start = process.hrtime.bigint();
    const limit = BigInt(Math.round(secs * 1e9));
    for (;;) {
      for (let r = 0; r < 20; r++) for (let k = 0; k < frames.length; k++) sink += c.classify(frames[k], frames[k].length);
      packets += 20 * frames.length;
      if (process.hrtime.bigint() - start > limit) break;
    }
    return { packets, elapsed: Number(process.hrtime.bigint() - start) / 1e9 };
  };
  // Warm up as a running engine would, so the rule functions are optimised before measuring.
  run(seconds / 2);
  const { packets, elapsed } = run(seconds);
  if (sink === 0.5) console.log(sink);
  return { rules: set.rules.length, pps: Math.round(packets / elapsed), ...c.stats };
}

if (process.argv[1]?.endsWith('classify-rate.ts')) {
  for (const n of [10, 1000]) console.log(JSON.stringify(measureClassifyRate(n, 2)));
}
