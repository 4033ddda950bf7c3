// tcp: the send buffer — a byte ring holding data from SND.UNA to the last byte the application wrote.

import { copyBytes, SubarrayCache } from '../wire/views';

const EMPTY = new Uint8Array(0);

/**
 * Bytes enter once (copy in from the application) and leave once per transmission: either copied
 * out into a segment's own payload, so a segment kept in flight never aliases memory the ring will
 * reuse, or lent as a view for a caller that writes the segment out at once (the stack, into its
 * frame buffer), which spares a buffer per segment.
 */
export class SendQueue {
  /** Allocated on first write, so half-open connections cost no buffer memory. */
  private buf: Uint8Array = EMPTY;
  private head = 0;
  private len = 0;
  /** A queue emptied by ACKs starts again at the ring's front: a request/response sends from the same view each time. */
  private readonly views = new SubarrayCache();

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.len;
  }

  get free(): number {
    return this.capacity - this.len;
  }

  /** Appends as much of `data` as fits; returns the count accepted. */
  push(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    if (n === 0) return 0;
    if (this.buf.length === 0) this.buf = new Uint8Array(this.capacity);
    const cap = this.buf.length;
    const tail = (this.head + this.len) % cap;
    const first = Math.min(n, cap - tail);
    copyBytes(this.buf, first === data.length ? data : data.subarray(0, first), tail);
    if (n > first) copyBytes(this.buf, data.subarray(first, n), 0);
    this.len += n;
    return n;
  }

  /** A fresh copy of `n` bytes starting `offset` bytes after the head. */
  copyOut(offset: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const cap = this.buf.length;
    const start = (this.head + offset) % cap;
    const first = Math.min(n, cap - start);
    out.set(this.buf.subarray(start, start + first), 0);
    if (n > first) out.set(this.buf.subarray(0, n - first), first);
    return out;
  }

  /**
   * `n` bytes starting `offset` bytes after the head, as a view into the ring when they lie in one
   * piece (the bytes stay put until `consume` passes them and `push` reuses the room), else a copy.
   */
  view(offset: number, n: number): Uint8Array {
    if (n === 0) return EMPTY;
    const start = (this.head + offset) % this.buf.length;
    return start + n <= this.buf.length ? this.views.subarray(this.buf, start, start + n) : this.copyOut(offset, n);
  }

  /** Drops `n` acknowledged bytes from the head. */
  consume(n: number): void {
    const k = Math.min(n, this.len);
    if (k === 0) return;
    this.head = (this.head + k) % this.buf.length;
    this.len -= k;
    if (this.len === 0) this.head = 0;
  }
}
