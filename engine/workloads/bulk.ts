// workloads: bulk — N bytes one way; the receiver answers with the SHA-256 of what it got, and the
// sender checks it against the hash of what it sent.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { pattern, RunState, sha256, writeAll, type WorkloadHost, type WorkloadRun } from './api';

export interface BulkOptions {
  readonly port?: number;
  readonly bytes?: number;
  readonly seed?: number;
}

export function bulk(server: WorkloadHost, client: WorkloadHost, options: BulkOptions = {}): WorkloadRun {
  const port = options.port ?? 5001;
  const size = options.bytes ?? 1 << 20;
  let received = 0;
  let startedAt = 0;
  let endedAt = 0;
  const run: RunState = new RunState('bulk', (): string => {
    const ms = endedAt - startedAt;
    const rate = ms > 0 ? ` in ${ms.toFixed(1)} ms (${((received * 8) / ms / 1000).toFixed(1)} Mbit/s)` : '';
    return `${received}/${size} bytes${rate}, SHA-256 ${run.verified ? 'matched' : 'not confirmed'} (${client.name} → ${server.name}:${port})`;
  });
  const data = pattern(size, options.seed ?? 42);
  const want = sha256(data);
  const srv = server.net.createServer((s: Duplex) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => {
      received += d.length;
      h.update(d);
    });
    s.on('end', () => {
      endedAt = server.timers.now();
      s.end(h.digest('hex'));
    });
    s.on('error', (e: Error) => run.fail(`bulk server: ${e.message}`));
  });
  srv.on('error', (e) => run.fail(`bulk server: ${e.message}`));
  srv.listen(port);
  const s = client.net.connect({ host: server.address, port });
  let answer = '';
  s.on('connect', () => {
    startedAt = client.timers.now();
    writeAll(s, data, true);
  });
  s.on('data', (d: Buffer) => {
    answer += d.toString('latin1');
  });
  s.on('error', (e: Error) => run.fail(`bulk client: ${e.message}`));
  s.on('close', () => {
    if (answer !== want) run.fail(`bulk: receiver's SHA-256 ${answer.slice(0, 16) || '(none)'}…, want ${want.slice(0, 16)}…`);
    run.finish(answer === want && received === size);
  });
  return run;
}
