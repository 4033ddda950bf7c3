// rules: timers for editor work — per-key debouncing (as you type) and a trailing throttle (live hits).
import type { Disposable } from 'vscode';

/** Runs `fn(key)` once `ms` after the last `schedule(key)` for that key. */
export class Debouncer<K> implements Disposable {
  private readonly timers = new Map<K, ReturnType<typeof setTimeout>>();
  constructor(private readonly ms: number, private readonly fn: (key: K) => void) {}

  schedule(key: K): void {
    const t = this.timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.fn(key);
    }, this.ms));
  }

  cancel(key: K): void {
    const t = this.timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(key);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** Runs `fn` at most once every `ms`: the first call at once, later ones at the end of the interval. */
export class Throttle implements Disposable {
  private last = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(private readonly ms: number, private readonly fn: () => void) {}

  run(): void {
    if (this.timer !== undefined) return;
    const wait = this.last + this.ms - Date.now();
    if (wait <= 0) {
      this.last = Date.now();
      this.fn();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.last = Date.now();
      this.fn();
    }, wait);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
