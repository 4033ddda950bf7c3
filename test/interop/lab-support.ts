// test/interop: running lab cases from a test — each case runs in a child process started in a
// private network namespace (`unshare -Urn`, or `unshare -n` as root) that vanishes with it, so no
// device, address or route ever exists outside; every child is bounded in time and killed by PID.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_NAMESPACE_ENV, privateNamespaceCommand } from '../../engine/backends/lab-topology';

export const ROOT = join(__dirname, '..', '..');
const CASES = join(__dirname, 'lab-cases.ts');

let problem: string | undefined | null = null;

/** Why the lab cannot run here (no Linux, no koffi, no user namespaces, no TUN), or undefined. */
export function labProblem(): string | undefined {
  if (problem !== null) return problem;
  problem = undefined;
  if (process.platform !== 'linux') problem = 'the lab needs Linux';
  else if (!existsSync('/dev/net/tun')) problem = 'no /dev/net/tun (modprobe tun)';
  else {
    try {
      require('koffi');
    } catch (e) {
      problem = `koffi does not load: ${(e as Error).message}`;
    }
    const { command, args } = privateNamespaceCommand(['true']);
    const r = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
    if (problem === undefined && r.status !== 0) problem = `${command} ${args.join(' ')} fails here: ${(r.stderr || r.error?.message || '').trim()}`;
  }
  return problem;
}

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `argv` in a fresh private namespace; resolves when it exits or is killed at `timeoutMs`. */
export function runInNamespace(argv: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  const { command, args } = privateNamespaceCommand(argv);
  return runChild(command, args, timeoutMs, { ...env, [LAB_NAMESPACE_ENV]: '1' });
}

/** Runs `command` from the project root with `env` added to this process's; resolves when it exits or is killed at `timeoutMs`. */
export function runChild(command: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs one case of lab-cases.ts in its own namespace and returns its result (throws with its error or output). */
export async function runCase<T = Record<string, unknown>>(name: string, args: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
  const r = await runInNamespace([process.execPath, '--import', 'tsx', CASES, name, JSON.stringify(args)], timeoutMs);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  const parsed = line === undefined ? undefined : (JSON.parse(line) as { result?: T; error?: string });
  if (parsed?.result === undefined) throw new Error(`lab case ${name} ${JSON.stringify(args)} failed (exit ${r.code}): ${parsed?.error ?? ''}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
  return parsed.result;
}

/** What a bulk-transfer case reports (test/interop/lab-cases.ts `bulk`). */
export interface Bulk {
  linuxSent?: string;
  bypassReceived?: string;
  bypassSent?: string;
  linuxReceived?: string;
  curlReceived?: string;
  bypassBytes?: number;
  linuxBytes?: number;
  mbps: number;
  impaired?: { loss: number; reordered: number };
}

/** The receiver's SHA-256 equals the one the sender reported. */
export function sameHash(sent: string | undefined, received: string | undefined, what: string): void {
  assert.match(sent ?? '', /^[0-9a-f]{64}$/, `${what}: the sender reported no SHA-256 (got ${sent})`);
  assert.equal(received, sent, `${what}: SHA-256 received ${received}, want the sender's ${sent}`);
}
