// test support: running the installed tcpdump (libpcap 1.10) as the oracle for the steer tests.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { BpfInsn } from '../../../engine/steer/bpf';
import { pcapIndices } from './frames';

export const TCPDUMP = '/usr/bin/tcpdump';
export const haveTcpdump = existsSync(TCPDUMP);

export type TcpdumpAnswer = { ok: true; matches: number[] } | { ok: false; error: string };

function run(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TCPDUMP, args, { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString('utf8') });
    });
  });
}

function errorText(stderr: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('tcpdump: ')) ?? stderr.trim();
  return line.replace(/^tcpdump: /, '');
}

/** Frame indices (0-based) tcpdump's filter keeps from `pcapPath`, or tcpdump's error. */
export async function tcpdumpMatches(pcapPath: string, expr: string): Promise<TcpdumpAnswer> {
  const r = await run(['-r', pcapPath, '-w', '-', '--', expr]);
  if (r.code !== 0) return { ok: false, error: errorText(r.stderr) };
  return { ok: true, matches: pcapIndices(new Uint8Array(r.stdout)) };
}

/** libpcap's own program for the expression (`tcpdump -ddd`), for the link type of `pcapPath`. */
export async function tcpdumpProgram(pcapPath: string, expr: string): Promise<BpfInsn[] | string> {
  const r = await run(['-r', pcapPath, '-ddd', '--', expr]);
  if (r.code !== 0) return errorText(r.stderr);
  const lines = r.stdout.toString('utf8').trim().split('\n');
  return lines.slice(1).map((l) => {
    const [code, jt, jf, k] = l.trim().split(/\s+/).map(Number);
    return { code, jt, jf, k: k >>> 0 };
  });
}

/** Runs `fn` over `items` with at most `limit` calls under way. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
