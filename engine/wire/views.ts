// wire: reused views — a subarray asked for again with the same bytes, start and end is made once —
// and the byte copy the per-packet paths use.
//
// Every `subarray` is a new typed-array object (about 100 bytes and 50–100 ns, then garbage). On a
// hot path the same view is often asked for over and over: a device reads each frame into the same
// buffer, a pooled frame buffer comes back for the next frame of its length, a request/response
// puts every message at the start of an empty queue. Handing back the view made last time is then
// exactly what a fresh subarray would be: the same bytes of the same buffer.

const EMPTY = new Uint8Array(0);

/** Remembers the last view it made; asked again for the same range of the same array, returns it. */
export class SubarrayCache {
  private src: Uint8Array | undefined = undefined;
  private start = 0;
  private end = 0;
  private view: Uint8Array = EMPTY;

  /** `src.subarray(start, end)`, with `0 <= start <= end <= src.length` (the caller checked). */
  subarray(src: Uint8Array, start: number, end: number): Uint8Array {
    if (src === this.src && start === this.start && end === this.end) return this.view;
    this.src = src;
    this.start = start;
    this.end = end;
    this.view = src.subarray(start, end);
    return this.view;
  }
}

const typedArraySet = Uint8Array.prototype.set;

/**
 * `dst.set(src, offset)`, for copies on a per-packet path. Called as a method, TypedArray's `set` is
 * looked up with V8's generic property load (a LoadIC call even from optimized code, Node 20), a
 * fifth or more of what copying a 64-byte payload costs; called through a saved reference it is not.
 */
export function copyBytes(dst: Uint8Array, src: Uint8Array, offset: number): void {
  typedArraySet.call(dst, src, offset);
}
