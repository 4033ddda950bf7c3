// workloads: http — a small HTTP/1.1 server and client (RFC 9112): one keep-alive connection, a few
// GETs of various sizes, bodies framed by Content-Length and checked byte for byte; the last request
// says `Connection: close`, and the client closes first once the last response is in.
//
// Not supported (said plainly): chunked transfer coding, pipelining, methods other than GET, request
// bodies. The server answers `GET /bytes/N` with N deterministic bytes and anything else with 404.
import type { Duplex } from 'node:stream';
import { pattern, RunState, type WorkloadHost, type WorkloadRun } from './api';

export interface HttpOptions {
  readonly port?: number;
  /** Body sizes of the GETs, in order. */
  readonly sizes?: readonly number[];
  /** Pause between requests, ms. */
  readonly intervalMs?: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');

export function body(n: number): Buffer {
  return pattern(n, 8080 + n);
}

export function startHttpServer(server: WorkloadHost, port: number, onError: (what: string) => void): void {
  const srv = server.net.createServer((s: Duplex) => {
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf(CRLF2);
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const [requestLine, ...fields] = head.split('\r\n');
        const m = /^GET (\S+) HTTP\/1\.1$/.exec(requestLine);
        const close = fields.some((f) => /^connection:\s*close$/i.test(f));
        const size = m ? /^\/bytes\/(\d{1,8})$/.exec(m[1]) : null;
        if (size !== null) {
          const b = body(Number(size[1]));
          s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${b.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`);
          s.write(b);
        } else {
          s.write(`HTTP/1.1 ${m ? '404 Not Found' : '400 Bad Request'}\r\nContent-Length: 0\r\n${close ? 'Connection: close\r\n' : ''}\r\n`);
        }
      }
    });
    s.on('end', () => s.end());
    s.on('error', (e: Error) => onError(`http server: ${e.message}`));
  });
  srv.on('error', (e) => onError(`http server: ${e.message}`));
  srv.listen(port);
}

export function http(server: WorkloadHost, client: WorkloadHost, options: HttpOptions = {}): WorkloadRun {
  const port = options.port ?? 8080;
  const sizes = options.sizes ?? [0, 100, 1460, 5000, 65536, 200_000];
  const interval = options.intervalMs ?? 20;
  let done = 0;
  let bytes = 0;
  const run = new RunState('http', () => `${done}/${sizes.length} GETs, ${bytes} body bytes verified (${client.name} → ${server.name}:${port})`);
  startHttpServer(server, port, (e) => run.fail(e));
  const s = client.net.connect({ host: server.address, port });
  let buf: Buffer = Buffer.alloc(0);
  let want = -1;
  const request = (): void => {
    const last = done === sizes.length - 1;
    s.write(`GET /bytes/${sizes[done]} HTTP/1.1\r\nHost: ${server.address}:${port}\r\nUser-Agent: bypass-scope\r\n${last ? 'Connection: close\r\n' : ''}\r\n`);
  };
  s.on('connect', request);
  s.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    for (;;) {
      if (want < 0) {
        const end = buf.indexOf(CRLF2);
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(head);
        const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!status || status[1] !== '200' || !len) {
          run.fail(`http: bad response head '${head.split('\r\n')[0]}'`);
          s.destroy();
          return;
        }
        want = Number(len[1]);
      }
      if (buf.length < want) return;
      const got = buf.subarray(0, want);
      buf = buf.subarray(want);
      if (!got.equals(body(sizes[done]))) run.fail(`http: body of GET /bytes/${sizes[done]} differs`);
      bytes += want;
      want = -1;
      done++;
      // The client closes first (its side goes FIN-WAIT-1 → FIN-WAIT-2/TIME-WAIT).
      if (done === sizes.length) s.end();
      else client.timers.setTimeout(request, interval);
    }
  });
  s.on('error', (e: Error) => run.fail(`http client: ${e.message}`));
  s.on('close', () => run.finish(done === sizes.length));
  return run;
}
