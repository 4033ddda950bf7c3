// webview/flow-view: the two lanes — bypass above, kernel below — with the trace vocabulary's layers as
// stations (SVG, labelled with packets/s and p50/p99 from the latest TraceStats), and the packets
// themselves moving along the hops they took (canvas, hit-tested with a quadtree). A packet is
// started at its capture time, scaled down; it then moves one station per STEP_MS so that every hop
// can be seen — the stations' figures, not the dots' speed, are the measured times.
import * as d3 from 'd3';
import { LAYERS, type LayerName, type TraceStats } from '../engine/trace/schema';
import { formatNs } from './inspector';
import type { PacketRow, TraceStore } from './store';

const STEP_MS = 110;
/** Capture time per wall time while replaying. */
const REPLAY_SCALE = 0.08;
const MAX_DOTS = 1500;

interface Station {
  readonly key: string;
  readonly layer: LayerName;
  readonly lane: 'shared' | 'bypass' | 'kernel';
  x: number;
  y: number;
}

interface Dot {
  readonly row: PacketRow;
  readonly start: number;
  readonly points: readonly Station[];
  readonly dropAt: number;
  x: number;
  y: number;
}

const SHARED_LEFT: readonly LayerName[] = ['wire', 'nic.rx', 'steer'];

function lanesLayers(lane: 'bypass' | 'kernel'): LayerName[] {
  return LAYERS.filter((l) => l.startsWith(lane + '.')) as LayerName[];
}

export class FlowView {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private stations: Station[] = [];
  private dots: Dot[] = [];
  private cursor = 0;
  private t0 = 0;
  private firstNs = 0;
  private active = false;
  private raf = 0;
  private tree = d3.quadtree<Dot>();
  private width = 0;
  private height = 0;

  constructor(parent: HTMLElement, private readonly store: TraceStore, private readonly onPick: (id: number) => void = () => {}) {
    this.element = document.createElement('div');
    this.element.className = 'flow-view';
    this.element.id = 'flow-view';
    const legend = document.createElement('div');
    legend.className = 'flow-legend';
    legend.textContent = `Each dot is a packet, started at its capture time ×${REPLAY_SCALE} and moved one station per ${STEP_MS} ms; station figures are the measured ones. Click a dot to select its packet.`;
    const stage = document.createElement('div');
    stage.className = 'flow-stage';
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'flow-canvas';
    this.svg = d3.select(stage).append('svg').attr('class', 'flow-svg').attr('id', 'flow-svg');
    stage.append(this.canvas);
    this.element.append(legend, stage);
    parent.append(this.element);
    this.canvas.addEventListener('click', (e) => {
      const r = this.canvas.getBoundingClientRect();
      const hit = this.tree.find(e.clientX - r.left, e.clientY - r.top, 8);
      if (hit) this.onPick(hit.row.id);
    });
    new ResizeObserver(() => this.layout()).observe(stage);
  }

  setActive(on: boolean): void {
    if (on && !this.active) {
      this.active = true;
      this.layout();
      this.restart();
      this.raf = requestAnimationFrame(this.frame);
    } else if (!on && this.active) {
      this.active = false;
      cancelAnimationFrame(this.raf);
    }
    if (on) this.drawStations();
  }

  private restart(): void {
    this.dots = [];
    this.cursor = 0;
    this.t0 = performance.now();
    this.firstNs = this.store.count ? this.store.timeNs(0) : 0;
  }

  private layout(): void {
    const stage = this.canvas.parentElement!;
    const w = Math.max(600, stage.clientWidth), h = Math.max(320, stage.clientHeight);
    this.width = w;
    this.height = h;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = w * dpr;
    this.canvas.height = h * dpr;
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.svg.attr('width', w).attr('height', h);
    const mid = h / 2, top = h * 0.24, bottom = h * 0.76;
    const st: Station[] = [];
    SHARED_LEFT.forEach((l, i) => st.push({ key: l, layer: l, lane: 'shared', x: 50 + i * 130, y: mid }));
    st.push({ key: 'nic.tx', layer: 'nic.tx', lane: 'shared', x: 180, y: mid + 90 });
    const x0 = 50 + SHARED_LEFT.length * 130 + 20, x1 = w - 110;
    for (const [lane, y] of [['bypass', top], ['kernel', bottom]] as const) {
      const ls = lanesLayers(lane);
      ls.forEach((l, i) => st.push({ key: l, layer: l, lane, x: x0 + ((x1 - x0) * i) / Math.max(1, ls.length - 1), y }));
    }
    st.push({ key: 'app', layer: 'app', lane: 'shared', x: w - 50, y: mid });
    this.stations = st;
    this.drawStations();
  }

  private station(layer: LayerName): Station | undefined {
    return this.stations.find((s) => s.layer === layer);
  }

  private drawStations(): void {
    const stats = this.store.stats;
    const s = stats[stats.length - 1];
    // The rate over the last ~200 ms of capture time (two snapshots can share a time: the final one).
    let prev: TraceStats | undefined;
    for (let i = stats.length - 2; i >= 0 && s; i--) {
      prev = stats[i];
      if (s.timeNs - stats[i].timeNs >= 2e8) break;
    }
    // Packets/s over the last window; when that window was quiet (a finished capture), the mean over the capture.
    const rate = (layer: string): string => {
      if (!s || !prev) return '';
      const dt = (s.timeNs - prev.timeNs) / 1e9;
      const n = (s.perLayer[layer]?.packets ?? 0) - (prev.perLayer[layer]?.packets ?? 0);
      if (dt > 0 && n > 0) return `${d3.format('.3~s')(n / dt)} pkt/s`;
      const all = s.perLayer[layer]?.packets ?? 0;
      return s.timeNs > 0 && all > 0 ? `${d3.format('.3~s')(all / (s.timeNs / 1e9))} pkt/s avg` : '0 pkt/s';
    };
    const drops = dropsByLayer(s);
    const x0band = 50 + SHARED_LEFT.length * 130 + 20;
    const lanes = [
      { key: 'bypass', y: this.height * 0.24, label: 'bypass (userspace stack)' },
      { key: 'kernel', y: this.height * 0.76, label: 'kernel' },
    ];
    this.svg.selectAll<SVGGElement, (typeof lanes)[number]>('g.lane').data(lanes, (d) => d.key)
      .join((enter) => {
        const g = enter.append('g').attr('class', (d) => `lane lane-${d.key}`);
        g.append('rect').attr('class', 'lane-band');
        g.append('text').attr('class', 'lane-label');
        return g;
      })
      .call((g) => {
        g.select('rect').attr('x', x0band - 40).attr('y', (d) => d.y - 46).attr('width', Math.max(0, this.width - 110 - x0band + 80)).attr('height', 110).attr('rx', 6);
        g.select('text').attr('x', x0band - 30).attr('y', (d) => d.y - 32).text((d) => d.label);
      });
    this.svg.selectAll<SVGGElement, Station>('g.station').data(this.stations, (d) => d.key)
      .join((enter) => {
        const g = enter.append('g').attr('class', (d) => `station lane-${d.lane}`);
        g.append('circle').attr('r', 9);
        g.append('text').attr('class', 'station-name').attr('text-anchor', 'middle').attr('dy', -14);
        g.append('text').attr('class', 'station-rate').attr('text-anchor', 'middle').attr('dy', 24);
        g.append('text').attr('class', 'station-lat').attr('text-anchor', 'middle').attr('dy', 36);
        g.append('text').attr('class', 'station-drop').attr('text-anchor', 'middle').attr('dy', 48);
        return g;
      })
      .attr('data-layer', (d) => d.layer)
      .attr('transform', (d) => `translate(${d.x},${d.y})`)
      .call((g) => {
        g.select('.station-name').text((d) => d.layer.replace(/^(bypass|kernel)\./, ''));
        g.select('.station-rate').text((d) => rate(d.layer));
        g.select('.station-lat').text((d) => {
          const l = s?.perLayer[d.layer]?.latency;
          return l && l.count > 0 ? `p50 ${formatNs(l.p50Ns)} p99 ${formatNs(l.p99Ns)}` : '';
        });
        g.select('.station-drop').text((d) => drops.get(d.layer) ?? '');
        g.classed('has-drops', (d) => drops.has(d.layer));
      });
  }

  private frame = (now: number): void => {
    if (!this.active) return;
    const store = this.store;
    const capNow = this.firstNs + (now - this.t0) * 1e6 * REPLAY_SCALE;
    while (this.cursor < store.count && store.timeNs(this.cursor) <= capNow && this.dots.length < MAX_DOTS) {
      const row = store.row(this.cursor++);
      const points: Station[] = [];
      let dropAt = -1;
      for (const h of row.hops) {
        const st = this.station(h.layer);
        if (!st) continue;
        points.push(st);
        if (h.verdict === 'drop') {
          dropAt = points.length - 1;
          break;
        }
      }
      if (points.length) this.dots.push({ row, start: now, points, dropAt, x: points[0].x, y: points[0].y });
    }
    if (this.cursor >= store.count && this.dots.length === 0 && store.count > 0 && now - this.t0 > 2000) this.restart();
    const ctx = this.canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    const css = getComputedStyle(this.element);
    const colour = (v: string, fallback: string) => css.getPropertyValue(v).trim() || fallback;
    const fill: Record<string, string> = {
      bypass: colour('--vscode-charts-green', 'green'),
      kernel: colour('--vscode-charts-blue', 'blue'),
      none: colour('--vscode-charts-foreground', 'gray'),
      drop: colour('--vscode-charts-red', 'red'),
    };
    const alive: Dot[] = [];
    for (const d of this.dots) {
      const k = (now - d.start) / STEP_MS;
      const i = Math.floor(k);
      if (i >= d.points.length - 1) {
        if (d.dropAt >= 0 && k < d.points.length + 4) {
          const p = d.points[d.points.length - 1];
          ctx.strokeStyle = fill.drop;
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.moveTo(p.x - 5, p.y - 5); ctx.lineTo(p.x + 5, p.y + 5);
          ctx.moveTo(p.x + 5, p.y - 5); ctx.lineTo(p.x - 5, p.y + 5);
          ctx.stroke();
          alive.push(d);
        }
        continue;
      }
      const a = d.points[i], b = d.points[i + 1], f = k - i;
      d.x = a.x + (b.x - a.x) * f;
      d.y = a.y + (b.y - a.y) * f;
      ctx.fillStyle = d.row.drop ? fill.drop : fill[d.row.path] ?? fill.none;
      ctx.beginPath();
      ctx.arc(d.x, d.y, d.row.retransmission ? 5 : 3.5, 0, Math.PI * 2);
      ctx.fill();
      alive.push(d);
    }
    this.dots = alive;
    this.tree = d3.quadtree<Dot>().x((d) => d.x).y((d) => d.y).addAll(alive);
    if (Math.floor(now / 500) !== Math.floor((now - 17) / 500)) this.drawStations();
    this.raf = requestAnimationFrame(this.frame);
  };
}

function dropsByLayer(s: TraceStats | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, n] of Object.entries(s?.drops ?? {})) {
    const [layer, reason] = key.split(': ');
    m.set(layer, `${m.has(layer) ? m.get(layer) + ', ' : '✕ '}${n} ${reason ?? ''}`.trim());
  }
  return m;
}
