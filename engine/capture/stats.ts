// capture: running statistics over finished packets — packets and bytes per path, per-layer counts and
// hop latencies, per-path latencies, drops by layer and reason — snapshotted as TraceStats.
import type { Steering } from '../steer/steering';
import { PATHS, type Histogram, type PathName, type TraceStats } from '../trace/schema';
import type { PacketTrace } from './nic';

const BUCKETS = 48;

/** Log2 histogram of nanoseconds: bucket 0 holds [0, 2), bucket i > 0 holds [2^i, 2^(i+1)). */
export class LatencyHistogram {
  readonly buckets = new Float64Array(BUCKETS);
  count = 0;

  add(ns: number): void {
    const i = ns < 2 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(ns)));
    this.buckets[i]++;
    this.count++;
  }

  /** The lower edge of the bucket holding quantile `q` (0 for bucket 0): a log2 histogram's resolution. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.buckets[i];
      if (seen >= want) return i === 0 ? 0 : 2 ** i;
    }
    return 2 ** (BUCKETS - 1);
  }

  snapshot(): Histogram {
    return { buckets: Array.from(this.buckets), count: this.count, p50Ns: this.quantile(0.5), p99Ns: this.quantile(0.99) };
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
  /** Packets per rule index (rx, steered by a rule of the current set; -1 the default). */
  readonly rulePackets = new Map<number, number>();
  total = 0;

  add(p: PacketTrace): void {
    this.total++;
    this.packets[p.path]++;
    this.bytes[p.path] += p.wireLen;
    this.perDirection[p.direction]++;
    if (p.direction === 'rx' && p.path !== 'none') this.rulePackets.set(p.rule, (this.rulePackets.get(p.rule) ?? 0) + 1);
    for (let i = 0; i < p.hopCount; i++) {
      const layer = p.layers[i];
      this.layerPackets.set(layer, (this.layerPackets.get(layer) ?? 0) + 1);
      // A hop's duration runs to the next hop; the last hop has none.
      if (i + 1 < p.hopCount) {
        let h = this.layerLatency.get(layer);
        if (h === undefined) this.layerLatency.set(layer, (h = new LatencyHistogram()));
        h.add(p.times[i + 1] - p.times[i]);
      }
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
    };
  }
}
