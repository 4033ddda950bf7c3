// workloads: rr — request/response latency: the client sends a 64-byte request, the server answers
// with 64 bytes, the client records the round-trip time and sends the next one after a pause.
import type { Duplex } from 'node:stream';
import { pattern, percentile, RunState, type WorkloadHost, type WorkloadRun } from './api';

export interface RrOptions {
  readonly port?: number;
  readonly requests?: number;
  readonly size?: number;
  readonly intervalMs?: number;
}

export interface RrRun extends WorkloadRun {
  /** Round-trip times in the host's time unit (ms), in order. */
  readonly rtts: readonly number[];
}

export function rr(server: WorkloadHost, client: WorkloadHost, options: RrOptions = {}): RrRun {
  const port = options.port ?? 9000;
  const count = options.requests ?? 50;
  const size = options.size ?? 64;
  const interval = options.intervalMs ?? 5;
  const rtts: number[] = [];
  const base = new RunState('rr', () => {
    const p50 = percentile(rtts, 0.5);
    const p99 = percentile(rtts, 0.99);
    return `${rtts.length}/${count} requests of ${size} B, RTT p50 ${fmt(p50)} p99 ${fmt(p99)} (${client.name} → ${server.name}:${port})`;
  });
  const run = Object.assign(base, { rtts });
  const srv = server.net.createServer((s: Duplex) => {
    let pending = 0;
    s.on('data', (d: Buffer) => {
      pending += d.length;
      while (pending >= size) {
        pending -= size;
        s.write(pattern(size, 2));
      }
    });
    s.on('end', () => s.end());
    s.on('error', (e: Error) => run.fail(`rr server: ${e.message}`));
  });
  srv.on('error', (e) => run.fail(`rr server: ${e.message}`));
  srv.listen(port);
  const request = pattern(size, 1);
  const response = pattern(size, 2);
  const s = client.net.connect({ host: server.address, port });
  let sentAt = 0;
  let got: Buffer = Buffer.alloc(0);
  const send = (): void => {
    if (rtts.length === count) {
      s.end();
      return;
    }
    sentAt = client.timers.now();
    s.write(request);
  };
  s.on('connect', send);
  s.on('data', (d: Buffer) => {
    got = got.length === 0 ? d : Buffer.concat([got, d]);
    while (got.length >= size) {
      if (!got.subarray(0, size).equals(response)) run.fail(`rr: response ${rtts.length} differs`);
      got = got.subarray(size);
      rtts.push(client.timers.now() - sentAt);
      client.timers.setTimeout(send, interval);
    }
  });
  s.on('error', (e: Error) => run.fail(`rr client: ${e.message}`));
  s.on('close', () => run.finish(rtts.length === count));
  return run;
}

function fmt(ms: number): string {
  if (Number.isNaN(ms)) return '-';
  return ms < 1 ? `${Math.round(ms * 1000)}µs` : `${ms.toFixed(2)}ms`;
}
