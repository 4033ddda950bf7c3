// webview/charts: the small chart parts the views share — time formatting, the log-scaled latency
// axis (decades from tens of nanoseconds to milliseconds, so that a 100 ns hop and a 2 ms one sit on
// one axis), and a latency histogram drawn from a TraceStats log2 histogram.
import * as d3 from 'd3';
import type { Histogram } from '../engine/trace/schema';

export function formatNs(ns: number): string {
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(3)} s`;
}

/** Short form for axis ticks: 100ns, 1µs, 10ms. */
export function tickNs(ns: number): string {
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${+(ns / 1e3).toPrecision(3)}µs`;
  if (ns < 1e9) return `${+(ns / 1e6).toPrecision(3)}ms`;
  return `${+(ns / 1e9).toPrecision(3)}s`;
}

export function formatRate(perSecond: number): string {
  return `${d3.format('.3~s')(perSecond)} pkt/s`;
}

/** The latency axis' default span: 10 ns to 10 ms (powers of ten). */
export const LATENCY_DOMAIN: readonly [number, number] = [10, 1e7];

/**
 * The span of decades that covers every sample of `hists` and at least [100 ns, 1 ms]; bucket 0
 * ([0, 2) ns: "no measurable time") is drawn left of the axis, not on it.
 */
export function latencyDomain(hists: readonly Histogram[]): [number, number] {
  let lo = 100;
  let hi = 1e6;
  for (const h of hists) {
    h.buckets.forEach((c, i) => {
      if (c > 0 && i > 0) {
        lo = Math.min(lo, 2 ** i);
        hi = Math.max(hi, 2 ** (i + 1));
      }
    });
  }
  return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))];
}

export interface HistogramOptions {
  readonly width: number;
  readonly height: number;
  readonly domain: readonly [number, number];
  readonly title?: string;
  /** CSS class of the bars (colours by path or lane). */
  readonly barClass?: string;
}

/**
 * Draws `h` into `svg` (cleared first): one bar per log2 bucket on a log time axis with decade
 * ticks, the zero bucket as its own bar at the left ("0"), and p50/p99 markers.
 */
export function drawHistogram(svg: d3.Selection<SVGSVGElement, unknown, null, undefined>, h: Histogram, o: HistogramOptions): void {
  svg.selectAll('*').remove();
  svg.attr('width', o.width).attr('height', o.height).attr('class', 'histogram');
  const m = { l: 34, r: 12, t: o.title ? 26 : 14, b: 18 };
  const zeroW = 10;
  const x = d3.scaleLog().domain(o.domain as [number, number]).range([m.l + zeroW + 18, o.width - m.r]).clamp(true);
  const perDecade = (o.width - m.r - m.l - zeroW - 18) / Math.max(1, Math.log10(o.domain[1] / o.domain[0]));
  const bins = h.buckets.map((c, i) => ({ i, c })).filter((b) => b.c > 0);
  const maxC = d3.max(bins, (b) => b.c) ?? 1;
  const y = d3.scaleLinear().domain([0, maxC]).nice(3).range([o.height - m.b, m.t]);
  if (o.title) svg.append('text').attr('class', 'hist-title').attr('x', 2).attr('y', 11).text(o.title);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${o.height - m.b})`)
    .call(d3.axisBottom(x).tickValues(decades(o.domain)).tickFormat((v, i) => (perDecade >= 44 || i % 2 === 0 ? tickNs(Number(v)) : '')).tickSizeOuter(0));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.l},0)`)
    .call(d3.axisLeft(y).ticks(3, '~s').tickSizeOuter(0));
  const g = svg.append('g').attr('class', o.barClass ?? 'bars');
  svg.append('text').attr('class', 'hist-zero-label').attr('x', m.l + 2 + zeroW / 2).attr('y', o.height - 4).attr('text-anchor', 'middle').text('0');
  svg.append('line').attr('class', 'hist-zero-gap').attr('x1', m.l + zeroW + 8).attr('x2', m.l + zeroW + 8).attr('y1', o.height - m.b - 3).attr('y2', o.height - m.b + 3);
  g.selectAll('rect').data(bins, (b) => String((b as { i: number }).i)).join('rect')
    .attr('class', 'bar')
    .attr('x', (b) => (b.i === 0 ? m.l + 2 : x(2 ** b.i)))
    .attr('width', (b) => (b.i === 0 ? zeroW : Math.max(1, x(2 ** (b.i + 1)) - x(2 ** b.i) - 1)))
    .attr('y', (b) => y(b.c))
    .attr('height', (b) => y(0) - y(b.c))
    .append('title').text((b) => `${b.i === 0 ? '0–2 ns' : `${formatNs(2 ** b.i)}–${formatNs(2 ** (b.i + 1))}`}: ${b.c.toLocaleString('en-US')} hops`);
  if (h.count > 0) {
    for (const [name, v] of [['p50', h.p50Ns], ['p99', h.p99Ns]] as const) {
      const px = v < 2 ? m.l + 2 + zeroW / 2 : x(v);
      svg.append('line').attr('class', `quantile q-${name}`).attr('x1', px).attr('x2', px).attr('y1', m.t).attr('y2', o.height - m.b);
      // p50 labelled left of its line, p99 right of its line, so that close quantiles stay legible.
      svg.append('text').attr('class', `quantile-label q-${name}`).attr('x', name === 'p50' ? px - 2 : px + 2).attr('y', m.t - 3)
        .attr('text-anchor', name === 'p50' ? 'end' : 'start').text(name);
    }
  }
}

/** Powers of ten within a domain. */
export function decades(domain: readonly [number, number]): number[] {
  const out: number[] = [];
  for (let v = domain[0]; v <= domain[1] * 1.0001; v *= 10) out.push(v);
  return out;
}
