// capture: running statistics over finished packets — packets and bytes per path, per-layer counts and
// what each layer cost (hop durations), per-path latencies (a packet's measured cost from its first
// hop to the end of its last), drops by layer and reason — snapshotted as TraceStats.
import type { Steering } from '../steer/steering';
import { PATHS, type Histogram, type PathName, type TraceStats } from '../trace/schema';
import type { PacketTrace } from './nic';

const BUCKETS = 48;
/** Sub-buckets per power of two kept for the quantiles: about 9% resolution instead of a factor of 2. */
const SUB = 8;

/**
 * Histogram of nanoseconds. Its snapshot has the schema's log2 buckets (bucket 0 holds [0, 2), bucket
 * i > 0 holds [2^i, 2^(i+1))); inside, each power of two is cut into SUB parts, so that p50 and p99
 * are the middle of a bucket an eighth of an octave wide.
 */
export class LatencyHistogram {
  private readonly fine = new Float64Array(BUCKETS * SUB);
  count = 0;

  add(ns: number): void {
    let i: number;
    if (ns < 2) i = 0;
    else {
      const octave = ns < 4294967296 ? 31 - Math.clz32(ns) : Math.min(BUCKETS - 1, Math.floor(Math.log2(ns)));
      const sub = Math.min(SUB - 1, Math.floor((ns / 2 ** octave - 1) * SUB));
      i = octave * SUB + sub;
    }
    this.fine[i]++;
    this.count++;
  }

  /** The value at quantile `q`: the middle of the fine bucket that holds it (0 for values below 2 ns). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.fine.length; i++) {
      seen += this.fine[i];
      if (seen >= want) {
        const octave = Math.floor(i / SUB);
        if (octave === 0) return 0;
        return Math.round(2 ** octave * (1 + (i % SUB + 0.5) / SUB));
      }
    }
    return 2 ** (BUCKETS - 1);
  }

  /** Counts per log2 bucket, as the schema's Histogram has them. */
  get buckets(): number[] {
    const out = new Array<number>(BUCKETS).fill(0);
    for (let i = 0; i < this.fine.length; i++) out[Math.floor(i / SUB)] += this.fine[i];
    return out;
  }

  snapshot(): Histogram {
    return { buckets: this.buckets, count: this.count, p50Ns: this.quantile(0.5), p99Ns: this.quantile(0.99) };
  }
}

export class CaptureStats {
  readonly packets: Record<PathName, number> = { none: 0, bypass: 0, kernel: 0, drop: 0 };
  readonly bytes: Record<PathName, number> = { none: 0, bypass: 0, kernel: 0, drop: 0 };
  readonly perDirection = { rx: 0, tx: 0 };
  readonly layerPackets = new Map<string, number>();
  readonly layerLatency = new Map<string, LatencyHistogram>();
  readonly pathLatency = new Map<PathName, LatencyHistogram>();
  readonly drops = new Map<string, number>();
  total = 0;

  add(p: PacketTrace): void {
    this.total++;
    this.packets[p.path]++;
    this.bytes[p.path] += p.wireLen;
    this.perDirection[p.direction]++;
    for (let i = 0; i < p.hopCount; i++) {
      const layer = p.layers[i];
      this.layerPackets.set(layer, (this.layerPackets.get(layer) ?? 0) + 1);
      // What the layer cost this packet (schema.ts "Time"); 0 for instants and at trace level off.
      let h = this.layerLatency.get(layer);
      if (h === undefined) this.layerLatency.set(layer, (h = new LatencyHistogram()));
      h.add(p.durations[i]);
      if (p.verdicts[i] === 'drop') {
        const key = `${layer}: ${p.reasons[i] ?? 'unknown'}`;
        this.drops.set(key, (this.drops.get(key) ?? 0) + 1);
      }
    }
    let h = this.pathLatency.get(p.path);
    if (h === undefined) this.pathLatency.set(p.path, (h = new LatencyHistogram()));
    h.add(p.latencyNs);
  }

  snapshot(timeNs: number, recordsDropped: number, steering: Steering): TraceStats {
    const perLayer: Record<string, { packets: number; latency: Histogram }> = {};
    for (const [layer, n] of this.layerPackets) perLayer[layer] = { packets: n, latency: (this.layerLatency.get(layer) ?? new LatencyHistogram()).snapshot() };
    const perPath: Partial<Record<PathName, Histogram>> = {};
    for (const path of PATHS) {
      const h = this.pathLatency.get(path);
      if (h !== undefined) perPath[path] = h.snapshot();
    }
    return {
      timeNs,
      packets: { ...this.packets },
      bytes: { ...this.bytes },
      perLayer,
      perPath,
      drops: Object.fromEntries(this.drops),
      recordsDropped,
      flows: { live: steering.flows.size, pinnedToOldRules: steering.pinnedToEarlierRules(), evicted: steering.flows.counters.evicted },
      rules: { packets: Array.from(steering.counters.packets), bytes: Array.from(steering.counters.bytes), flows: Array.from(steering.counters.flows) },
    };
  }
}
