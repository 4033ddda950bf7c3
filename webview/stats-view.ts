// webview/stats-view: the capture's figures — packets/s over time per path, drops by hop and reason,
// and latency histograms per path (whole stack) and per hop, all on one log time axis so that they
// can be compared (the log2 buckets of nanoseconds that TraceStats carries).
import * as d3 from 'd3';
import { LAYERS, type Histogram, type LayerName, type PathName, type TraceStats } from '../engine/trace/schema';
import { drawHistogram, formatNs, latencyDomain } from './charts';
import type { TraceStore } from './store';

type Sel = d3.Selection<HTMLDivElement, unknown, null, undefined>;

const PATHS_SHOWN: readonly PathName[] = ['bypass', 'kernel', 'drop', 'none'];
const PATH_TITLE: Record<PathName, string> = { bypass: 'bypass', kernel: 'kernel', drop: 'dropped by a rule', none: 'not steered (tx, ARP to both)' };

/** The hop histograms' rows: the shared stations, then each lane's layers in order. */
const HOP_GROUPS: readonly { readonly key: string; readonly title: string; readonly layers: readonly LayerName[] }[] = [
  { key: 'shared', title: 'Shared: NIC and steering', layers: ['steer', 'nic.tx'] },
  { key: 'bypass', title: 'Bypass lane', layers: LAYERS.filter((l) => l.startsWith('bypass.')) },
  { key: 'kernel', title: 'Kernel lane', layers: LAYERS.filter((l) => l.startsWith('kernel.')) },
];

export class StatsView {
  readonly element: HTMLDivElement;

  constructor(parent: HTMLElement, private readonly store: TraceStore) {
    this.element = document.createElement('div');
    this.element.className = 'stats-view';
    this.element.id = 'stats-view';
    this.element.tabIndex = 0;
    this.element.setAttribute('aria-label', 'Statistics: ↑ and ↓ scroll');
    parent.append(this.element);
  }

  focus(): void {
    this.element.focus();
  }

  render(): void {
    const stats = this.store.stats;
    const last = stats[stats.length - 1];
    const root: Sel = d3.select(this.element);
    root.selectAll('*').remove();
    if (!last) {
      root.append('p').attr('class', 'empty').text('No statistics yet: the engine sends them every half second while a capture runs.');
      return;
    }
    const hists = [...PATHS_SHOWN.flatMap((p) => (last.perPath[p] ? [last.perPath[p]!] : [])), ...Object.values(last.perLayer).map((l) => l.latency)];
    const domain = latencyDomain(hists);
    const top = root.append('div').attr('class', 'stats-row');
    this.rate(panel(top, 'rate', 'Packets/s over time, by path'), stats);
    this.drops(panel(top, 'drops', 'Drops by hop and reason'), last);
    const paths = panel(root, 'paths', `Latency by path — whole stack, first hop to last (log scale; ${last.recordsDropped ? `${last.recordsDropped} records sampled away` : 'every packet'})`);
    const pathGrid = paths.append('div').attr('class', 'hist-grid');
    for (const p of PATHS_SHOWN) {
      const h = last.perPath[p];
      if (!h || h.count === 0) continue;
      histogramCell(pathGrid, `path-${p}`, `${PATH_TITLE[p]}`, h, domain, 340, 130, `bars path-${p}`);
    }
    const hops = panel(root, 'hops', 'Latency by hop — what each layer cost a packet (log scale; the NIC’s receive and the application are instants)');
    for (const group of HOP_GROUPS) {
      const present = group.layers.filter((l) => last.perLayer[l]);
      if (present.length === 0) continue;
      const row = hops.append('div').attr('class', `hop-group group-${group.key}`);
      row.append('div').attr('class', 'hop-group-title').text(group.title);
      const grid = row.append('div').attr('class', 'hist-grid');
      for (const l of present) {
        const at = last.perLayer[l];
        const kinds = this.store.layers.kindsOf(l);
        histogramCell(grid, `hop-${l}`, `${l}${kinds.length && !(kinds.length === 1 && kinds[0] === 'measured') ? ` (${kinds.join(' + ')})` : ''}`,
          at.latency, domain, 250, 112, `bars lane-${group.key}`, at.packets);
      }
    }
  }

  private rate(el: Sel, stats: readonly TraceStats[]): void {
    if (stats.length < 2) {
      el.append('p').attr('class', 'empty').text('Waiting for a second statistics snapshot.');
      return;
    }
    const series = PATHS_SHOWN.map((p) => ({
      path: p,
      points: stats.slice(1).map((s, i) => {
        const prev = stats[i];
        const dt = (s.timeNs - prev.timeNs) / 1e9;
        return { t: s.timeNs / 1e9, v: dt > 0 ? Math.max(0, s.packets[p] - prev.packets[p]) / dt : 0 };
      }).filter((_p, i) => stats[i + 1].timeNs > stats[i].timeNs),
    })).filter((s) => s.points.some((p) => p.v > 0));
    const w = Math.max(420, (el.node()!.clientWidth || 600) - 8), h = 200, m = { l: 54, r: 150, t: 10, b: 30 };
    const x = d3.scaleLinear().domain(d3.extent(stats, (s) => s.timeNs / 1e9) as [number, number]).range([m.l, w - m.r]);
    const y = d3.scaleLinear().domain([0, d3.max(series, (s) => d3.max(s.points, (p) => p.v)) ?? 1]).nice().range([h - m.b, m.t]);
    const svg = el.append('svg').attr('width', w).attr('height', h).attr('id', 'rate-chart');
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${h - m.b})`).call(d3.axisBottom(x).ticks(6).tickFormat((v) => `${v}s`));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.l},0)`).call(d3.axisLeft(y).ticks(5, '~s'));
    svg.append('text').attr('class', 'axis-title').attr('x', m.l).attr('y', h - 2).text('capture time');
    svg.append('text').attr('class', 'axis-title').attr('transform', `translate(12,${m.t + 60}) rotate(-90)`).attr('text-anchor', 'middle').text('packets/s');
    const line = d3.line<{ t: number; v: number }>().x((d) => x(d.t)).y((d) => y(d.v));
    const g = svg.selectAll<SVGGElement, (typeof series)[number]>('g.series').data(series, (d) => d.path).join('g').attr('class', (d) => `series path-${d.path}`);
    g.append('path').attr('class', 'line').attr('d', (d) => line(d.points));
    const peak = (pts: { v: number }[]) => d3.max(pts, (p) => p.v) ?? 0;
    g.append('text').attr('class', 'series-label').attr('x', w - m.r + 10).attr('y', (_d, i) => m.t + 10 + i * 16).attr('dy', '0.35em')
      .text((d) => `— ${d.path} (peak ${d3.format('.3~s')(peak(d.points))}/s)`);
  }

  private drops(el: Sel, s: TraceStats): void {
    const entries = Object.entries(s.drops).sort((a, b) => b[1] - a[1]);
    if (entries.length === 0) {
      el.append('p').attr('class', 'empty').text('No drops.');
      return;
    }
    const w = Math.max(380, (el.node()!.clientWidth || 520) - 8), barH = 20, m = { l: 250, r: 50, t: 4 };
    const x = d3.scaleLinear().domain([0, d3.max(entries, (e) => e[1]) ?? 1]).range([0, w - m.l - m.r]);
    const svg = el.append('svg').attr('width', w).attr('height', m.t + entries.length * barH + 6).attr('id', 'drops-chart');
    const g = svg.selectAll('g').data(entries, (d) => (d as [string, number])[0]).join('g').attr('transform', (_d, i) => `translate(0,${m.t + i * barH})`);
    g.append('text').attr('class', 'bar-label').attr('x', m.l - 8).attr('y', barH / 2 + 4).attr('text-anchor', 'end').text((d) => d[0]);
    g.append('rect').attr('class', 'drop-bar').attr('x', m.l).attr('y', 3).attr('height', barH - 6).attr('width', (d) => Math.max(2, x(d[1])));
    g.append('text').attr('class', 'bar-value').attr('x', (d) => m.l + Math.max(2, x(d[1])) + 6).attr('y', barH / 2 + 4).text((d) => d[1].toLocaleString('en-US'));
  }
}

function panel(parent: Sel, key: string, title: string): Sel {
  const p = parent.append('div').attr('class', `stats-panel panel-${key}`).attr('id', `stats-${key}`);
  p.append('h3').text(title);
  return p;
}

function histogramCell(parent: Sel, id: string, title: string, h: Histogram, domain: [number, number],
  width: number, height: number, barClass: string, packets?: number): void {
  const cell = parent.append('div').attr('class', 'hist').attr('id', id);
  const svg = cell.append('svg') as unknown as d3.Selection<SVGSVGElement, unknown, null, undefined>;
  drawHistogram(svg, h, { width, height, domain, title, barClass });
  cell.append('div').attr('class', 'hist-sub').text(h.count > 0
    ? `${h.count.toLocaleString('en-US')} timed${packets !== undefined && packets !== h.count ? ` of ${packets.toLocaleString('en-US')}` : ''} · p50 ${formatNs(h.p50Ns)} · p99 ${formatNs(h.p99Ns)}`
    : `${packets?.toLocaleString('en-US') ?? 0} packets, none timed yet`);
}
