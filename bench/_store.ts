import { readFileSync } from 'node:fs';
import { TraceStore } from '../webview/store';
const f = JSON.parse(readFileSync('test/fixtures/webview/trace.json','utf8'));
const batches = f.batches.map((b: any) => { const u = Buffer.from(b.records,'base64'); return { ...b, records: u.buffer.slice(u.byteOffset, u.byteOffset+u.byteLength) }; });
for (let round = 0; round < 5; round++) {
  const s = new TraceStore();
  const t0 = performance.now();
  for (let k = 0; k < 20; k++) { s.reset(); for (const b of batches) s.addBatch(b); }
  const ms = performance.now() - t0;
  console.log(`${(ms*1000/(20*1601)).toFixed(2)} µs/packet`);
}
