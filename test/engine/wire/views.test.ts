// Tests for engine/wire/views.ts: the reused subarray.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyBytes, SubarrayCache } from '../../../engine/wire/views';

describe('SubarrayCache', () => {
  it('returns the view it made last for the same array, start and end', () => {
    const c = new SubarrayCache();
    const buf = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const v = c.subarray(buf, 1, 4);
    assert.deepEqual([...v], [2, 3, 4]);
    assert.equal(v.buffer, buf.buffer, 'a view, not a copy');
    assert.equal(c.subarray(buf, 1, 4), v);
  });

  it('makes a new view when the array, the start or the end differs', () => {
    const c = new SubarrayCache();
    const buf = new Uint8Array(8);
    const v = c.subarray(buf, 0, 4);
    for (const [src, start, end] of [[buf, 1, 4], [buf, 0, 5], [new Uint8Array(8), 0, 4]] as const) {
      const w = c.subarray(src, start, end);
      assert.notEqual(w, v, `[${start}, ${end})`);
      assert.equal(w.length, end - start);
      assert.equal(w.buffer, src.buffer);
    }
  });

  it('keeps a Buffer a Buffer, as subarray does', () => {
    const v = new SubarrayCache().subarray(Buffer.from('abcdef'), 2, 4);
    assert.ok(Buffer.isBuffer(v));
    assert.equal(v.toString(), 'cd');
  });
});

describe('copyBytes', () => {
  it('copies the source to the offset, as TypedArray.prototype.set does', () => {
    const dst = new Uint8Array(8);
    copyBytes(dst, new Uint8Array([1, 2, 3]), 4);
    assert.deepEqual([...dst], [0, 0, 0, 0, 1, 2, 3, 0]);
  });

  it('leaves a source already in place as it is, and copies overlapping ranges as if through a temporary', () => {
    const buf = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    copyBytes(buf, buf.subarray(2, 5), 2);
    assert.deepEqual([...buf], [0, 1, 2, 3, 4, 5, 6, 7]);
    copyBytes(buf, buf.subarray(0, 4), 1);
    assert.deepEqual([...buf], [0, 0, 1, 2, 3, 5, 6, 7]);
  });

  it('throws a RangeError when the source does not fit, as set does', () => {
    assert.throws(() => copyBytes(new Uint8Array(4), new Uint8Array(3), 2), RangeError);
  });
});
