// Helpers for the wire tests: unwrapping results with readable failures, and a buffer that throws on out-of-range reads.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Result, WireError } from '../../../engine/wire/result';

/** The value of an ok result; fails the test with the wire error otherwise. */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`want ok, got ${r.error.code} at ${r.error.offset}: ${r.error.message}`);
  return r.value;
}

/** The error of a failed result; fails the test when it parsed. */
export function failure<T>(r: Result<T>): WireError {
  if (r.ok) assert.fail('want an error, got a parsed value');
  return r.error;
}

/**
 * A Uint8Array stand-in that throws on any index read outside [0, length). A plain Uint8Array gives
 * `undefined` there, which bitwise arithmetic silently turns into 0 — exactly the bug these tests
 * hunt. Methods run on the real array, so `subarray`/`slice` results are ordinary (unguarded) arrays.
 */
export function guarded(bytes: Uint8Array): Uint8Array {
  return new Proxy(bytes, {
    get(target, key) {
      if (typeof key === 'string' && /^-?\d+$/.test(key)) {
        const i = Number(key);
        if (i < 0 || i >= target.length) throw new RangeError(`read at index ${i} of a ${target.length}-byte buffer`);
        return target[i];
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A copy of the first `n` bytes, so nothing past `n` exists to be read. */
export function prefix(bytes: Uint8Array, n: number): Uint8Array {
  return guarded(bytes.slice(0, n));
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export { hex } from './frames';

/** Bytes as hex, for readable got/want diffs. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** 198.18.0.1 and friends as uint32 (test addresses, RFC 2544 benchmarking range). */
export function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Asserts two byte arrays are equal, showing both in hex. */
export function assertBytes(got: Uint8Array, want: Uint8Array, what = 'bytes'): void {
  assert.equal(toHex(got), toHex(want), `${what}: got and want differ`);
}

/** fc.record with plain objects (fast-check builds them with a null prototype, which deepStrictEqual tells apart). */
export function record<T extends Record<string, fc.Arbitrary<unknown>>>(
  model: T,
): fc.Arbitrary<{ [K in keyof T]: T[K] extends fc.Arbitrary<infer U> ? U : never }> {
  return fc.record(model).map((o) => ({ ...o }) as { [K in keyof T]: T[K] extends fc.Arbitrary<infer U> ? U : never });
}

/** The fields of `got` named by the keys of `want`, to compare a parsed packet with the representation it came from. */
export function pick<T extends object>(got: object, want: T): T {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(want)) out[k] = (got as Record<string, unknown>)[k];
  return out as T;
}
