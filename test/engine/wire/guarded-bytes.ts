// test support: byte buffers that throw on any read outside their bounds, to prove a parser never
// reads past the end (a plain Uint8Array silently answers `undefined`, which bit operations turn into 0).

/** `bytes` behind a proxy whose integer-indexed reads outside [0, length) throw. */
export function guarded(bytes: Uint8Array): Uint8Array {
  return new Proxy(bytes, {
    get(target, prop) {
      if (typeof prop === 'string' && /^-?\d+$/.test(prop)) {
        const i = Number(prop);
        if (i < 0 || i >= target.length) {
          throw new RangeError(`read outside the buffer: index ${i} of a ${target.length}-byte buffer`);
        }
        return target[i];
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

/** 198.18.0.1 and friends as uint32 (test addresses, RFC 2544 benchmarking range). */
export function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
