// webview/stats-view: the capture's figures over time — packets/s per path, latency histograms per
// path and per hop (log2 buckets of nanoseconds, as TraceStats carries them), and drops by reason.
import * as d3 from 'd3';
import type { Histogram, PathName, TraceStats } from '../engine/trace/schema';
import { formatNs } from './inspector';
import type { TraceStore } from './store';

const PATHS_SHOWN: readonly PathName[] = ['bypass', 'kernel', 'drop', 'none'];

export class StatsView {
  readonly element: HTMLElement;

  constructor(parent: HTMLElement, private readonly store: TraceStore) {
    this.element = document.createElement('div');
    this.element.className = 'stats-view';
    this.element.id = 'stats-view';
    parent.append(this.element);
  }

  render(): void {
    const stats = this.store.stats;
    const root = d3.select(this.element);
    const panels = [
      { key: 'rate', title: 'Packets/s by path', draw: (el: HTMLElement) => this.rate(el, stats) },
      { key: 'drops', title: 'Drops by hop and reason', draw: (el: HTMLElement) => this.drops(el, stats[stats.length - 1]) },
      { key: 'paths', title: 'Latency by path (whole stack)', draw: (el: HTMLElement) => this.histograms(el, pathHistograms(stats[stats.length - 1])) },
      { key: 'hops', title: 'Latency by hop', draw: (el: HTMLElement) => this.histograms(el, hopHistograms(stats[stats.length - 1])) },
    ];
    root.selectAll<HTMLDivElement, (typeof panels)[number]>('div.stats-panel')
      .data(panels, (d) => d.key)
      .join((enter) => {
        const p = enter.append('div').attr('class', (d) => `stats-panel panel-${d.key}`);
        p.append('h3').text((d) => d.title);
        p.append('div').attr('class', 'panel-body');
        return p;
      })
      .each(function (d) {
        const body = this.querySelector('.panel-body') as HTMLElement;
        d.draw(body);
      });
  }

  private rate(el: HTMLElement, stats: readonly TraceStats[]): void {
    const host = d3.select(el);
    host.selectAll('*').remove();
    if (stats.length < 2) {
      host.append('p').attr('class', 'empty').text('Waiting for two statistics snapshots.');
      return;
    }
    const series = PATHS_SHOWN.map((p) => ({
      path: p,
      points: stats.slice(1).map((s, i) => {
        const prev = stats[i];
        const dt = (s.timeNs - prev.timeNs) / 1e9;
        return { t: s.timeNs / 1e9, v: dt > 0 ? (s.packets[p] - prev.packets[p]) / dt : 0 };
      }),
    })).filter((s) => s.points.some((p) => p.v > 0));
    const w = Math.max(360, el.clientWidth || 520), h = 200, m = { l: 56, r: 80, t: 8, b: 26 };
    const x = d3.scaleLinear().domain(d3.extent(stats, (s) => s.timeNs / 1e9) as [number, number]).range([m.l, w - m.r]);
    const y = d3.scaleLinear().domain([0, d3.max(series, (s) => d3.max(s.points, (p) => p.v)) ?? 1]).nice().range([h - m.b, m.t]);
    const svg = host.append('svg').attr('width', w).attr('height', h).attr('id', 'rate-chart');
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${h - m.b})`).call(d3.axisBottom(x).ticks(6).tickFormat((v) => `${v}s`));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.l},0)`).call(d3.axisLeft(y).ticks(5, '~s'));
    const line = d3.line<{ t: number; v: number }>().x((d) => x(d.t)).y((d) => y(d.v));
    const g = svg.selectAll<SVGGElement, (typeof series)[number]>('g.series').data(series, (d) => d.path).join('g').attr('class', (d) => `series path-${d.path}`);
    g.append('path').attr('class', 'line').attr('d', (d) => line(d.points));
    g.append('text').attr('class', 'series-label').attr('x', w - m.r + 6)
      .attr('y', (_d, i) => m.t + 10 + i * 14).attr('dy', '0.35em').text((d) => `— ${d.path}`);
  }

  private drops(el: HTMLElement, s: TraceStats | undefined): void {
    const host = d3.select(el);
    host.selectAll('*').remove();
    const entries = Object.entries(s?.drops ?? {}).sort((a, b) => b[1] - a[1]);
    if (entries.length === 0) {
      host.append('p').attr('class', 'empty').text('No drops.');
      return;
    }
    const w = Math.max(360, el.clientWidth || 520), barH = 18, m = { l: 220, r: 40 };
    const x = d3.scaleLinear().domain([0, d3.max(entries, (e) => e[1]) ?? 1]).range([0, w - m.l - m.r]);
    const svg = host.append('svg').attr('width', w).attr('height', entries.length * (barH + 4) + 4).attr('id', 'drops-chart');
    const g = svg.selectAll<SVGGElement, [string, number]>('g.drop').data(entries, (d) => d[0]).join('g').attr('class', 'drop')
      .attr('transform', (_d, i) => `translate(0,${i * (barH + 4) + 2})`);
    g.append('text').attr('class', 'bar-label').attr('x', m.l - 6).attr('y', barH / 2).attr('dy', '0.35em').attr('text-anchor', 'end').text((d) => d[0]);
    g.append('rect').attr('class', 'bar drop-bar').attr('x', m.l).attr('height', barH).attr('width', (d) => Math.max(1, x(d[1])));
    g.append('text').attr('class', 'bar-value').attr('x', (d) => m.l + x(d[1]) + 4).attr('y', barH / 2).attr('dy', '0.35em').text((d) => d[1]);
  }

  private histograms(el: HTMLElement, hs: readonly { key: string; h: Histogram }[]): void {
    const host = d3.select(el);
    host.selectAll('*').remove();
    const withData = hs.filter((x) => x.h.count > 0);
    const note = hs.length - withData.length;
    if (withData.length === 0) {
      host.append('p').attr('class', 'empty').text(
        hs.length ? 'No latency samples: every hop here took no time (the sim backend runs each stack at one virtual instant).' : 'No statistics yet.');
      return;
    }
    if (note) host.append('p').attr('class', 'note').text(`${note} more with no samples.`);
    const cellW = 210, cellH = 96;
    const cells = host.append('div').attr('class', 'hist-grid');
    cells.selectAll<HTMLDivElement, (typeof withData)[number]>('div.hist').data(withData, (d) => d.key).join('div').attr('class', 'hist')
      .each(function (d) {
        const nz = d.h.buckets.map((c, i) => ({ i, c })).filter((b) => b.c > 0);
        // At least 12 buckets wide, so that one full bucket reads as a bar, not a block.
        const lo = Math.max(0, (nz[0]?.i ?? 0) - 1);
        const hi = Math.min(d.h.buckets.length - 1, Math.max(lo + 11, (nz[nz.length - 1]?.i ?? 0) + 1));
        const bins = d3.range(lo, hi + 1).map((i) => ({ i, c: d.h.buckets[i] }));
        const x = d3.scaleBand<number>().domain(bins.map((b) => b.i)).range([4, cellW - 4]).padding(0.1);
        const y = d3.scaleLinear().domain([0, d3.max(bins, (b) => b.c) ?? 1]).range([cellH - 34, 4]);
        const svg = d3.select(this).append('svg').attr('width', cellW).attr('height', cellH + 8);
        svg.append('text').attr('class', 'hist-axis').attr('x', 4).attr('y', cellH - 20).text(formatNs(2 ** lo));
        svg.append('text').attr('class', 'hist-axis').attr('x', cellW - 4).attr('y', cellH - 20).attr('text-anchor', 'end').text(formatNs(2 ** (hi + 1)));
        svg.append('text').attr('class', 'hist-title').attr('x', 4).attr('y', cellH - 8).text(d.key);
        svg.append('text').attr('class', 'hist-sub').attr('x', 4).attr('y', cellH + 4).text(`n ${d.h.count} · p50 ${formatNs(d.h.p50Ns)} · p99 ${formatNs(d.h.p99Ns)}`);
        svg.selectAll('rect').data(bins, (b) => String((b as { i: number }).i)).join('rect').attr('class', 'bar')
          .attr('x', (b) => x(b.i) ?? 0).attr('width', x.bandwidth()).attr('y', (b) => y(b.c)).attr('height', (b) => cellH - 34 - y(b.c))
          .append('title').text((b) => `${formatNs(2 ** b.i)}–${formatNs(2 ** (b.i + 1))}: ${b.c}`);
      });
  }
}

function pathHistograms(s: TraceStats | undefined): { key: string; h: Histogram }[] {
  if (!s) return [];
  return PATHS_SHOWN.flatMap((p) => (s.perPath[p] ? [{ key: p, h: s.perPath[p]! }] : []));
}

function hopHistograms(s: TraceStats | undefined): { key: string; h: Histogram }[] {
  if (!s) return [];
  return Object.entries(s.perLayer).map(([k, v]) => ({ key: k, h: v.latency }));
}
