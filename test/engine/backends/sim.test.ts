import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock, SimWire } from '../../../engine/backends/sim';
import { ImpairedDevice } from '../../../engine/backends/impair';
import { SeededRng } from '../../../engine/tcp/rng';
import { TimerQueue } from '../../../engine/backends/timer-queue';

/** An Ethernet frame from MAC ..:0s to MAC ..:0d whose payload carries a sequence number. */
function frame(s: number, d: number, n: number, len = 64): Uint8Array {
  const f = new Uint8Array(len);
  f.set([2, 0, 0, 0, 0, d], 0);
  f.set([2, 0, 0, 0, 0, s], 6);
  f[12] = 0x08;
  f[13] = 0x00;
  f[14] = 0x45;
  new DataView(f.buffer).setUint32(20, n);
  return f;
}

const seqOf = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(20);

describe('SeededRng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new SeededRng(42), b = new SeededRng(42), c = new SeededRng(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    assert.deepEqual(Array.from({ length: 8 }, () => b.nextU32()), xs);
    assert.notDeepEqual(Array.from({ length: 8 }, () => c.nextU32()), xs);
  });

  it('spreads floats over [0, 1) evenly enough that each tenth gets about a tenth', () => {
    const rng = new SeededRng(7);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(rng.next() * 10)]++;
    for (const b of buckets) assert.ok(b > 9_500 && b < 10_500, `bucket holds ${b}, want about 10000`);
  });
});

describe('TimerQueue', () => {
  it('pops events in time order and keeps insertion order for equal times', () => {
    const q = new TimerQueue<string>();
    q.push(5, 'e'); q.push(1, 'a'); q.push(3, 'c1'); q.push(3, 'c2'); q.push(2, 'b');
    const out: string[] = [];
    for (let x = q.pop(); x !== undefined; x = q.pop()) out.push(x);
    assert.deepEqual(out, ['a', 'b', 'c1', 'c2', 'e']);
  });
});

describe('SimWire', () => {
  it('carries a frame built in a lent buffer as it is, and copies any other frame', () => {
    const wire = new SimWire({ latencyMs: 1 });
    const a = wire.attach('a'), b = wire.attach('b');
    const clock = new SimClock();
    clock.add(a); clock.add(b);
    const got: Uint8Array[] = [];
    const seqs: number[] = [];
    b.onReceive = (f) => {
      got.push(f);
      seqs.push(seqOf(f));
    };
    const lent = a.frameBuffer(64);
    assert.equal(lent.length, 64);
    lent.set(frame(1, 2, 7));
    a.transmit(lent, 0);
    const own = frame(1, 2, 8);
    a.transmit(own, 0);
    own.fill(0); // the sender reuses its buffer at once: the wire must have copied it
    clock.runUntil(5);
    assert.deepEqual(seqs, [7, 8]);
    assert.equal(got[0], lent, 'the lent buffer itself was delivered');
    assert.notEqual(got[1], own, 'a frame the wire did not lend was copied');
  });

  it('hands out a recycled buffer of the asked length after a delivery', () => {
    const wire = new SimWire({ latencyMs: 1 });
    const a = wire.attach('a'), b = wire.attach('b');
    const clock = new SimClock();
    clock.add(a); clock.add(b);
    b.onReceive = () => {};
    const first = a.frameBuffer(100);
    first.set(frame(1, 2, 1, 100));
    a.transmit(first, 0);
    clock.runUntil(5);
    const again = a.frameBuffer(100);
    assert.equal(again, first, 'the delivered frame came back to the pool');
    assert.equal(a.frameBuffer(1514).length, 1514);
  });

  it('delivers a frame after the propagation delay and not before', () => {
    const wire = new SimWire({ latencyMs: 2 });
    const a = wire.attach('a'), b = wire.attach('b');
    const clock = new SimClock();
    clock.add(a); clock.add(b);
    const got: number[] = [];
    b.onReceive = (_f, now) => got.push(now);
    a.transmit(frame(1, 2, 0), 0);
    clock.runUntil(1.9);
    assert.deepEqual(got, []);
    clock.runUntil(10);
    assert.deepEqual(got, [2]);
  });

  it('learns where a MAC lives and stops flooding frames to it', () => {
    const wire = new SimWire();
    const a = wire.attach('a'), b = wire.attach('b'), c = wire.attach('c');
    const clock = new SimClock();
    for (const p of [a, b, c]) clock.add(p);
    b.transmit(frame(2, 0xff, 0), 0); // b announces its MAC
    a.transmit(frame(1, 2, 1), 1);
    clock.runUntil(5);
    assert.equal(b.rxFrames, 1);
    assert.equal(c.rxFrames, 1, 'c saw only the first, flooded frame');
  });

  it('serializes frames at the link rate', () => {
    const wire = new SimWire({ latencyMs: 0, rateBps: 1e6 });
    const a = wire.attach('a'), b = wire.attach('b');
    const clock = new SimClock();
    clock.add(a); clock.add(b);
    const times: number[] = [];
    b.onReceive = (_f, now) => times.push(now);
    for (let i = 0; i < 3; i++) a.transmit(frame(1, 2, i, 101), 0); // (101 + 24) bytes = 1 ms at 1 Mbit/s
    clock.runUntil(100);
    assert.deepEqual(times.map((t) => Math.round(t * 1000) / 1000), [1, 2, 3]);
  });
});

describe('ImpairedDevice', () => {
  function pair(impairments: ConstructorParameters<typeof ImpairedDevice>[1], seed = 1) {
    const wire = new SimWire({ latencyMs: 0.1 });
    const a = new ImpairedDevice(wire.attach('a'), { direction: 'tx', ...impairments }, new SeededRng(seed));
    const b = wire.attach('b');
    const clock = new SimClock();
    clock.add(a); clock.add(b);
    const got: number[] = [];
    b.onReceive = (f) => got.push(seqOf(f));
    return { a, b, clock, got };
  }

  it('loses about the configured share of frames and counts each loss', () => {
    const { a, clock, got } = pair({ loss: 0.1 });
    for (let i = 0; i < 10_000; i++) a.transmit(frame(1, 2, i), i * 0.01);
    clock.runUntil(1000);
    assert.equal(got.length + a.counters.loss, 10_000);
    assert.ok(a.counters.loss > 900 && a.counters.loss < 1100, `lost ${a.counters.loss}, want about 1000`);
  });

  it('replays exactly the same losses from the same seed', () => {
    const run = () => {
      const { a, clock, got } = pair({ loss: 0.05, reorder: 0.05, duplicate: 0.05, jitterMs: 0.5 }, 99);
      for (let i = 0; i < 2000; i++) a.transmit(frame(1, 2, i), i * 0.01);
      clock.runUntil(1000);
      return got;
    };
    assert.deepEqual(run(), run());
  });

  it('reorders frames when some are held back', () => {
    const { a, clock, got } = pair({ reorder: 0.2, reorderGapMs: 1 });
    for (let i = 0; i < 1000; i++) a.transmit(frame(1, 2, i), i * 0.01);
    clock.runUntil(1000);
    assert.equal(got.length, 1000);
    assert.notDeepEqual(got, [...got].sort((x, y) => x - y));
    assert.deepEqual([...got].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  });

  it('duplicates and corrupts frames and says so in its counters', () => {
    const { a, clock, got } = pair({ duplicate: 0.1, corrupt: 0.1 });
    for (let i = 0; i < 1000; i++) a.transmit(frame(1, 2, i), i * 0.01);
    clock.runUntil(1000);
    assert.equal(got.length, 1000 + a.counters.duplicated);
    assert.ok(a.counters.duplicated > 50 && a.counters.corrupted > 50);
  });

  it('drops frames larger than the MTU', () => {
    const { a, clock, got } = pair({ mtu: 100 });
    a.transmit(frame(1, 2, 1, 114), 0);
    a.transmit(frame(1, 2, 2, 115), 0);
    clock.runUntil(10);
    assert.deepEqual(got, [1]);
    assert.equal(a.counters.mtu, 1);
  });

  it('limits the rate and drops at the tail when the queue is full', () => {
    const { a, clock, got } = pair({ rateMbit: 1, queueFrames: 10 });
    for (let i = 0; i < 20; i++) a.transmit(frame(1, 2, i, 125), 0); // 1 ms each at 1 Mbit/s
    clock.runUntil(100);
    assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => i));
    assert.equal(a.counters.queueFull, 10);
  });
});
