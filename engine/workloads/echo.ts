// workloads: echo — a TCP echo server (RFC 862) and a client that sends messages of varied sizes one
// after another and checks that each comes back byte for byte.
import type { Duplex } from 'node:stream';
import { pattern, RunState, type WorkloadHost, type WorkloadRun } from './api';

export interface EchoOptions {
  readonly port?: number;
  readonly messages?: number;
  /** Pause between messages, ms. */
  readonly intervalMs?: number;
  readonly seed?: number;
}

export function startEchoServer(server: WorkloadHost, port: number, onError: (what: string) => void): void {
  const srv = server.net.createServer((s: Duplex) => {
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', (e: Error) => onError(`echo server: ${e.message}`));
  });
  srv.on('error', (e) => onError(`echo server: ${e.message}`));
  srv.listen(port);
}

export function echo(server: WorkloadHost, client: WorkloadHost, options: EchoOptions = {}): WorkloadRun {
  const port = options.port ?? 7;
  const count = options.messages ?? 20;
  const interval = options.intervalMs ?? 10;
  let bytes = 0;
  let sent = 0;
  const run = new RunState('echo', () => `${sent}/${count} messages, ${bytes} bytes echoed (${client.name} → ${server.name}:${port})`);
  startEchoServer(server, port, (e) => run.fail(e));
  const sizes = [1, 64, 100, 512, 1400, 3000];
  const messages = Array.from({ length: count }, (_, i) => pattern(sizes[i % sizes.length], (options.seed ?? 7) * 1000 + i));
  const s = client.net.connect({ host: server.address, port });
  let got: Buffer = Buffer.alloc(0);
  const sendNext = (): void => {
    if (sent === count) {
      s.end();
      return;
    }
    s.write(messages[sent]);
  };
  s.on('connect', sendNext);
  s.on('data', (d: Buffer) => {
    got = got.length === 0 ? d : Buffer.concat([got, d]);
    const want = messages[sent];
    if (want === undefined) return run.fail(`echo: ${d.length} unexpected bytes`);
    if (got.length < want.length) return;
    if (!got.subarray(0, want.length).equals(want)) run.fail(`echo: message ${sent} came back different`);
    bytes += want.length;
    got = got.subarray(want.length);
    sent++;
    client.timers.setTimeout(sendNext, interval);
  });
  s.on('error', (e: Error) => run.fail(`echo client: ${e.message}`));
  s.on('close', () => run.finish(sent === count));
  return run;
}
