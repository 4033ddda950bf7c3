// test/interop: runs INSIDE a private namespace (ours-stack.test.ts starts it): makes a TAP as the
// lab bench harness does (kernel side 198.18.0.1/24), starts bench/lab/ours-stack.ts in each role and
// drives it with Linux clients (Node's net here, in the TAP's namespace). Prints ONE JSON line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { join } from 'node:path';
import { waitForCarrier } from '../../engine/backends/lab-topology';

const OURS = join(__dirname, '..', '..', 'bench', 'lab', 'ours-stack.ts');
const PERIOD = 251;

function sh(script: string): void {
  const r = spawnSync('sh', ['-ec', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr}`);
}

async function start(role: string, port: number, bytes: number, api: string): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', OURS, '--tap', 'bstap0', '--ip', '198.18.0.2', '--prefix', '24', '--mac', '02:00:00:00:00:02', '--port', String(port), '--role', role, '--bytes', String(bytes), '--api', api], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ours-stack ${role}: no 'ready' in 20 s: ${err}`)), 20_000);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`ours-stack ${role} exited ${code}: ${err}`)));
  });
  return { child, stderr: () => err };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

function pattern(offset: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (offset + i) % PERIOD;
  return b;
}

async function sink(bytes: number): Promise<unknown> {
  const s = net.connect(5001, '198.18.0.2');
  await new Promise<void>((resolve, reject) => (s.once('connect', () => resolve()), s.once('error', reject)));
  const t0 = performance.now();
  for (let off = 0; off < bytes; off += 1 << 20) if (!s.write(pattern(off, Math.min(1 << 20, bytes - off)))) await new Promise((r) => s.once('drain', r));
  s.end();
  // The sink reads to EOF, then closes: our side sees its FIN.
  await new Promise<void>((resolve) => s.on('close', () => resolve()).resume());
  return { bytes, ms: Math.round(performance.now() - t0) };
}

async function source(bytes: number): Promise<unknown> {
  const s = net.connect(5002, '198.18.0.2');
  let got = 0;
  let bad = -1;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length && bad < 0; i++) if (d[i] !== (got + i) % PERIOD) bad = got + i;
      got += d.length;
    });
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  s.destroy();
  return { bytes, got, firstBadByte: bad, ms: Math.round(performance.now() - t0) };
}

async function echo(n: number): Promise<unknown> {
  const s = net.connect(5003, '198.18.0.2');
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => (s.once('connect', () => resolve()), s.once('error', reject)));
  let ok = 0;
  const h = createHash('sha256');
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const msg = Buffer.alloc(64, i & 0xff);
    const back = await new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      const on = (d: Buffer): void => {
        got = Buffer.concat([got, d]);
        if (got.length >= 64) {
          s.off('data', on);
          resolve(got);
        }
      };
      s.on('data', on);
      s.write(msg);
    });
    if (back.equals(msg)) ok++;
    h.update(back);
  }
  const ms = performance.now() - t0;
  s.end();
  return { requests: n, ok, tps: Math.round(n / (ms / 1000)) };
}

async function main(): Promise<void> {
  sh(`ip link set lo up
ip tuntap add dev bstap0 mode tap
echo 1 > /proc/sys/net/ipv6/conf/bstap0/disable_ipv6
ip link set bstap0 mtu 1500 up
ip addr add 198.18.0.1/24 dev bstap0`);
  const bytes = 16 * 1024 * 1024;
  const result: Record<string, Record<string, unknown>> = { raw: {}, socket: {} };
  let first = true;
  for (const api of ['raw', 'socket'] as const) {
    for (const [role, port, fn] of [
      ['sink', 5001, () => sink(bytes)],
      ['source', 5002, () => source(bytes)],
      ['echo', 5003, () => echo(2000)],
    ] as const) {
      const p = await start(role, port, bytes, api);
      if (first) await waitForCarrier(undefined, 'bstap0');
      first = false;
      const ping = spawnSync('ping', ['-n', '-q', '-c', '2', '-i', '0.2', '-W', '2', '198.18.0.2'], { encoding: 'utf8' });
      const r = (await fn()) as Record<string, unknown>;
      const code = await stop(p.child);
      result[api][role] = { ...r, ping: Number(/(\d+) received/.exec(ping.stdout)?.[1] ?? -1), exitOnTerm: code, stderr: p.stderr().slice(0, 300) };
    }
  }
  process.stdout.write(`${JSON.stringify({ result })}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) })}\n`);
  process.exit(1);
});
