// bench/lab/programs: the lab bench's programs — builds the C ones with gcc (lwIP from Debian's
// liblwip-dev, installed when missing and we are root), starts stack programs in a namespace and
// waits for their `ready`, stops them by PID, and runs the Linux-side clients.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { Netns } from './netns';

export interface Built {
  client: string;
  kernel: string;
  /** Our stack program as the engine ships: one esbuild bundle (koffi outside it), or why there is none. */
  ours: { path: string } | { error: string };
  /** The lwIP stack program, or why there is none. */
  lwip: { path: string; build: Record<string, number | string> } | { error: string };
}

function gcc(out: string, sources: string[], extra: string[]): string | undefined {
  const res = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', out, ...sources, ...extra], { encoding: 'utf8' });
  if (res.error) return `gcc: ${res.error.message} (install it with \`apt-get install -y gcc\`)`;
  if (res.status !== 0) return `gcc failed building ${out}:\n${res.stderr}`;
  return undefined;
}

const LWIP_HEADER = '/usr/include/lwip/lwip/tcp.h';

/** Makes sure Debian's lwIP is there: installs liblwip-dev when root, else says what to install. */
function ensureLwip(log: (s: string) => void): string | undefined {
  if (existsSync(LWIP_HEADER)) return undefined;
  const want = 'lwIP is not installed: run `apt-get install -y liblwip-dev` (Debian) as root';
  if (process.getuid?.() !== 0 || process.env.BENCH_LAB_USERNS) return want;
  log('bench lab: installing liblwip-dev');
  const install = (): number | null =>
    spawnSync('apt-get', ['install', '-y', 'liblwip-dev'], { stdio: ['ignore', 2, 2], timeout: 300_000 }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 2, 2], timeout: 300_000 });
    if (install() !== 0) return `${want}; \`apt-get install -y liblwip-dev\` failed here`;
  }
  return existsSync(LWIP_HEADER) ? undefined : want;
}

/** Builds every C program into outDir. Throws if the clients or the kernel server cannot be built. */
export function buildPrograms(root: string, outDir: string, log: (s: string) => void): Built {
  mkdirSync(outDir, { recursive: true });
  const src = (f: string): string => join(root, 'bench', 'lab', f);
  const client = join(outDir, 'lab-client');
  const kernel = join(outDir, 'kernel-stack');
  for (const [out, file] of [[client, 'lab-client.c'], [kernel, 'kernel-stack.c']]) {
    const err = gcc(out, [src(file)], []);
    if (err) throw new Error(err);
  }
  const ours = bundleOurs(root, outDir);
  const missing = ensureLwip(log);
  if (missing) return { client, kernel, ours, lwip: { error: missing } };
  const lwipPath = join(outDir, 'lwip-stack');
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', 'lwip'], { encoding: 'utf8' });
  const flags = pc.status === 0 ? pc.stdout.trim().split(/\s+/) : ['-I/usr/include/lwip', '-llwip'];
  const err = gcc(lwipPath, [src('lwip/lwip-stack.c'), src('lwip/tapnetif.c')], flags);
  if (err) return { client, kernel, ours, lwip: { error: err } };
  const cfg = spawnSync(lwipPath, ['--print-config'], { encoding: 'utf8' });
  if (cfg.status !== 0) return { client, kernel, ours, lwip: { error: `lwip-stack --print-config failed: ${cfg.stderr}` } };
  return { client, kernel, ours, lwip: { path: lwipPath, build: JSON.parse(cfg.stdout) } };
}

/**
 * Bundles bench/lab/ours-stack.ts with esbuild as scripts/build.mjs bundles the engine (CommonJS,
 * es2022, koffi left outside), so the bench measures the code as it ships rather than through tsx's
 * per-module loader.
 */
function bundleOurs(root: string, outDir: string): { path: string } | { error: string } {
  const path = join(outDir, 'ours-stack.js');
  try {
    buildSync({
      entryPoints: [join(root, 'bench', 'lab', 'ours-stack.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'es2022',
      external: ['koffi'],
      outfile: path,
      logLevel: 'error',
    });
    return { path };
  } catch (e) {
    return { error: `bundling bench/lab/ours-stack.ts failed: ${(e as Error).message}` };
  }
}

/** The stderr a process left, trimmed to its last lines for an error message. */
function tail(s: string, lines = 6): string {
  return s.trim().split('\n').slice(-lines).join(' | ');
}

/** A stack program (lab-bench-interface.md) running in a namespace. */
export class StackProcess {
  private child: ChildProcess | undefined;
  private stderr = '';
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  constructor(
    readonly label: string,
    private readonly ns: Netns,
    private readonly argv: string[],
    private readonly cwd: string,
    private readonly readyMs: number,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Why the program is not running, from its exit and its stderr. */
  get death(): string {
    const c = this.child;
    if (!c) return `${this.label} was not started`;
    const how = c.signalCode ? `was killed by ${c.signalCode}` : `exited ${c.exitCode}`;
    return `${this.label} ${how}${this.stderr.trim() ? `: ${tail(this.stderr)}` : ''}`;
  }

  /** Starts it and resolves once it printed `ready`; rejects (and kills it) otherwise. */
  async start(): Promise<void> {
    this.stderr = '';
    const [cmd, ...args] = this.ns.enter(this.argv);
    const child = spawn(cmd, args, { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 64 * 1024) this.stderr = this.stderr.slice(-32 * 1024);
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        this.kill();
        reject(new Error(`${this.label} did not print "ready" within ${this.readyMs} ms${this.stderr.trim() ? `: ${tail(this.stderr)}` : ''}`));
      }, this.readyMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^ready$/m.test(out)) {
          clearTimeout(timer);
          out = '';
          resolve();
        } else if (out.length > 64 * 1024) out = out.slice(-1024);
      });
      child.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(this.death));
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`${this.label}: ${e.message}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after a grace period; tells how it ended (the interface wants exit 0). */
  async stop(graceMs = 5000): Promise<string | undefined> {
    if (!this.child || !this.exited) return undefined;
    if (!this.alive) return this.death;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), graceMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    if (code === 0) return undefined;
    return `${this.label} did not exit 0 on SIGTERM (${signal ? `killed by ${signal} after ${graceMs} ms` : `exit ${code}`})` +
      (this.stderr.trim() ? `: ${tail(this.stderr)}` : '');
  }

  /** Kills it at once by PID (teardown). */
  kill(): void {
    if (this.alive) this.child!.kill('SIGKILL');
  }
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in a namespace to its end; a hard timer kills it (by PID) if it outlives that. */
export function runIn(ns: Netns, argv: string[], hardMs: number, onSpawn: (c: ChildProcess) => void): Promise<Ran> {
  const [cmd, ...args] = ns.enter(argv);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), hardMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export type ClientResult = { ok: true; json: Record<string, number | boolean | string> } | { ok: false; error: string };

/** Runs one of the lab clients, which prints one JSON line on success. */
export async function runClient(ns: Netns, argv: string[], hardMs: number, onSpawn: (c: ChildProcess) => void): Promise<ClientResult> {
  const r = await runIn(ns, argv, hardMs, onSpawn);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code === 0 && line) {
    try {
      return { ok: true, json: JSON.parse(line) };
    } catch { /* reported below */ }
  }
  return { ok: false, error: tail(r.stderr, 3) || (r.signal ? `killed by ${r.signal}` : `exit ${r.code}`) };
}
