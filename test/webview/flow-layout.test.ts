// test/webview: the flow view's layout maths (webview/flow-layout.ts) in Node — the rails a packet's
// dot rides pass outside every station box (so no dot covers a station's text), for every way a
// packet can go through either lane, at the sizes the panel takes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LayerName } from '../../engine/trace/schema';
import { anchorOf, layoutFlow, railPath, type FlowLayout } from '../../webview/flow-layout';

/** The flow view draws a dot with this radius (flow-view.ts). */
const DOT_RADIUS = 3;

/** Points every `step` px along a polyline. */
function sample(points: readonly (readonly [number, number])[], step = 2): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i - 1];
    const [x2, y2] = points[i];
    const n = Math.max(1, Math.ceil(Math.hypot(x2 - x1, y2 - y1) / step));
    for (let k = 0; k <= n; k++) out.push([x1 + ((x2 - x1) * k) / n, y1 + ((y2 - y1) * k) / n]);
  }
  return out;
}

/** Stations a sample point (with the dot's radius) lies inside; the wire and app boxes, which dots enter at their ends, aside. */
function covered(L: FlowLayout, pts: readonly [number, number][]): string[] {
  const hits = new Set<string>();
  for (const s of L.stations.values()) {
    if (s.layer === 'wire' || s.layer === 'app') continue;
    for (const [x, y] of pts) {
      if (x > s.x - DOT_RADIUS && x < s.x + s.w + DOT_RADIUS && y > s.y - DOT_RADIUS && y < s.y + s.h + DOT_RADIUS) {
        hits.add(`${s.layer} at ${x.toFixed(0)},${y.toFixed(0)}`);
        break;
      }
    }
  }
  return [...hits];
}

const TRANSPORTS = ['tcp', 'udp', 'icmp'] as const;

/** Every hop sequence the engine writes, per lane and direction (as trace records list them). */
function journeys(lane: 'bypass' | 'kernel'): { dir: 'rx' | 'tx'; layers: LayerName[] }[] {
  const out: { dir: 'rx' | 'tx'; layers: LayerName[] }[] = [];
  for (const t of TRANSPORTS) {
    const inside = (lane === 'bypass' ? ['bypass.eth', 'bypass.ip', `bypass.${t}`, 'bypass.socket'] : ['kernel.driver', 'kernel.ip', `kernel.${t}`, 'kernel.socket', 'kernel.syscall']) as LayerName[];
    out.push({ dir: 'rx', layers: ['wire', 'nic.rx', 'steer', ...inside, 'app'] as LayerName[] });
    out.push({ dir: 'tx', layers: ['app', ...[...inside].reverse(), 'nic.tx', 'wire'] as LayerName[] });
  }
  return out;
}

describe('flow layout', () => {
  for (const [w, h] of [[1600, 610], [1200, 480], [900, 360]] as const) {
    it(`at ${w}×${h} every dot's rail passes outside the station boxes, in both lanes and both directions`, () => {
      const L = layoutFlow(w, h, false, false);
      for (const lane of ['bypass', 'kernel'] as const) {
        for (const j of journeys(lane)) {
          const stops = j.layers.filter((l) => L.stations.has(l)).map((layer) => ({ layer, at: anchorOf(L.stations, layer, layer.startsWith('bypass.') ? 'bypass' : layer.startsWith('kernel.') ? 'kernel' : lane, j.dir) }));
          const { points } = railPath(L.stations, stops);
          assert.deepEqual(covered(L, sample(points)), [], `${lane} ${j.dir} ${j.layers.join(' → ')}`);
        }
      }
      for (const r of L.routes) assert.deepEqual(covered(L, sample(r.points)), [], `the ${r.lane} ${r.dir} track`);
    });
  }

  it('with a kernel.stack span (a lab capture) the kernel rail passes outside the span box too', () => {
    const L = layoutFlow(1600, 610, true, false);
    const stops = (['wire', 'nic.rx', 'steer', 'kernel.driver', 'kernel.stack', 'kernel.syscall', 'app'] as LayerName[]).map((layer) => ({ layer, at: anchorOf(L.stations, layer, 'kernel', 'rx') }));
    assert.deepEqual(covered(L, sample(railPath(L.stations, stops).points)), []);
  });
});
