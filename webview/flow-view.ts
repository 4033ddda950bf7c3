// webview/flow-view: the two lanes — bypass above, kernel below — with the trace vocabulary's layers
// as stations (SVG boxes: packets/s, hop latency p50/p99 on a shared log scale, drops with their
// reason; measured, span and emulated hops drawn differently), and the packets themselves moving
// along the hops they took (canvas, hit-tested with a quadtree). A dot takes longer between two
// stations the longer that hop took (log scale), so slow hops are seen as slow; the figures in the
// boxes are the measured ones. A live capture shows packets as they arrive (sampled when there are
// more than the eye can follow); a finished one is replayed at a chosen fraction of capture time.
import * as d3 from 'd3';
import { LAYERS, Layer, type Hop, type LayerName, type TraceStats } from '../engine/trace/schema';
import { LATENCY_DOMAIN, decades, drawHistogram, formatNs, formatRate, latencyDomain, tickNs } from './charts';
import { button, dropdown, link } from './controls';
import { anchorOf, layoutFlow, railPath, type FlowLayout, type Lane, type StationBox } from './flow-layout';
import type { PacketRow, TraceStore } from './store';

/** Wall time a dot takes between two stations: a base, plus this much per decade above 100 ns of the time between them (the layer's cost, and any wait). */
const SEG_BASE_MS = 100;
const SEG_PER_DECADE_MS = 110;
const DROP_SHOWN_MS = 1400;
const MAX_DOTS = 2500;
/** Dots started per frame at most; beyond it packets are sampled (and the toolbar says so). */
const SPAWN_PER_FRAME = 12;
const SPEEDS: readonly (readonly [string, string])[] = [['1', '×1 capture time'], ['0.1', '×0.1'], ['0.01', '×0.01'], ['0.001', '×0.001']];

const INSTANTS = new Set<LayerName>(['nic.rx', 'app', 'wire']);

interface Dot {
  readonly index: number;
  readonly id: number;
  readonly cls: 'bypass' | 'kernel' | 'none';
  readonly retrans: boolean;
  readonly points: readonly (readonly [number, number])[];
  /** Cumulative wall milliseconds at which the dot reaches each point. */
  readonly at: readonly number[];
  readonly dropped: boolean;
  readonly start: number;
  x: number;
  y: number;
}

/** What the flow view keeps across a hide and show of the panel. */
export interface FlowState {
  readonly station: LayerName;
  readonly speed: number;
  readonly playing: boolean;
}

interface StationFigures {
  readonly packets: number;
  readonly rate: string;
  readonly p50?: number;
  readonly p99?: number;
  readonly samples: number;
  readonly drops: readonly (readonly [string, number])[];
  readonly kinds: readonly string[];
}

export class FlowView {
  readonly element: HTMLElement;
  private readonly stage: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly note: HTMLElement;
  private readonly detailStation: HTMLElement;
  private readonly detailPacket: HTMLElement;
  private readonly playButton: HTMLElement;
  private layout: FlowLayout | undefined;
  private dots: Dot[] = [];
  private active = false;
  private raf = 0;
  private lastFrame = 0;
  /** The animation's own clock (stands still while paused). */
  private clock = 0;
  private playing = true;
  private speed = 0.1;
  private live = false;
  private cursor = 0;
  private playNs = 0;
  private spawned = 0;
  private skipped = 0;
  private lastStations = 0;
  private focusLayer: LayerName = 'steer';
  private highlighted: number | undefined;
  private colours: Record<string, string> = {};
  private coloursFor = '';
  private spanShape = '';

  private readonly speedControl: ReturnType<typeof dropdown>;

  constructor(
    parent: HTMLElement,
    private readonly store: TraceStore,
    private readonly onPick: (id: number) => void = () => {},
    private readonly onChange: () => void = () => {},
  ) {
    this.element = document.createElement('div');
    this.element.className = 'flow-view';
    this.element.id = 'flow-view';
    const bar = document.createElement('div');
    bar.className = 'flow-toolbar';
    this.playButton = button(bar, 'Pause', { id: 'flow-play', title: 'Pause or play the packets (Space)', onClick: () => this.setPlaying(!this.playing) });
    button(bar, 'Replay from start', { id: 'flow-restart', title: 'Start the replay again from the first packet', onClick: () => this.restart() });
    const speedLabel = document.createElement('span');
    speedLabel.className = 'flow-label';
    speedLabel.textContent = 'Replay speed';
    bar.append(speedLabel);
    this.speedControl = dropdown(bar, SPEEDS, { id: 'flow-speed', label: 'Replay speed (fraction of capture time)', value: String(this.speed), onChange: (v) => {
      this.speed = Number(v);
      this.onChange();
    } });
    const legend = document.createElement('span');
    legend.className = 'flow-legend';
    legend.title = 'Each dot is a packet. Received packets ride a rail just above the boxes left to right, sent ones a rail just below them right to left; ' +
      'a dot takes longer over a hop that cost more (log scale). The figures in the boxes are the measured ones.';
    for (const [cls, text] of [['kind-measured', 'measured'], ['kind-span', 'span'], ['kind-emulated', 'emulated']] as const) {
      const item = document.createElement('span');
      item.className = 'legend-item';
      const sw = document.createElement('span');
      sw.className = `swatch ${cls}`;
      item.append(sw, document.createTextNode(text));
      legend.append(item);
    }
    const dir = document.createElement('span');
    dir.className = 'legend-item';
    dir.textContent = '→ received (above the boxes) · ← sent (below) · ✕ drop · slower dot = costlier hop';
    legend.append(dir);
    this.note = document.createElement('span');
    this.note.className = 'flow-note';
    this.note.id = 'flow-note';
    bar.append(legend, this.note);

    this.stage = document.createElement('div');
    this.stage.className = 'flow-stage';
    this.stage.tabIndex = 0;
    this.stage.setAttribute('role', 'application');
    this.stage.setAttribute('aria-label', 'Flow: arrow keys move between stations, Enter selects the latest packet through one, Space pauses');
    this.svg = d3.select(this.stage).append('svg').attr('class', 'flow-svg').attr('id', 'flow-svg');
    const defs = this.svg.append('defs');
    defs.append('pattern').attr('id', 'flow-hatch').attr('width', 6).attr('height', 6).attr('patternUnits', 'userSpaceOnUse').attr('patternTransform', 'rotate(45)')
      .append('line').attr('class', 'hatch-line').attr('x1', 0).attr('y1', 0).attr('x2', 0).attr('y2', 6);
    for (const g of ['lanes', 'routes', 'ghosts', 'stations', 'focus']) this.svg.append('g').attr('class', `layer-${g}`);
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'flow-canvas';
    this.stage.append(this.canvas);

    const detail = document.createElement('div');
    detail.className = 'flow-detail';
    this.detailStation = document.createElement('div');
    this.detailStation.className = 'detail-station';
    this.detailStation.id = 'flow-station-detail';
    this.detailPacket = document.createElement('div');
    this.detailPacket.className = 'detail-packet';
    this.detailPacket.id = 'flow-packet-detail';
    this.detailPacket.textContent = 'Click a packet (a dot) to see the hops it took.';
    detail.append(this.detailStation, this.detailPacket);
    this.element.append(bar, this.stage, detail);
    parent.append(this.element);

    this.stage.addEventListener('click', (e) => this.onClick(e));
    this.stage.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver(() => this.relayout()).observe(this.stage);
  }

  setActive(on: boolean): void {
    if (on && !this.active) {
      this.active = true;
      this.relayout();
      if (!this.live && this.cursor === 0) this.restart();
      this.lastFrame = performance.now();
      this.raf = requestAnimationFrame(this.frame);
    } else if (!on && this.active) {
      this.active = false;
      cancelAnimationFrame(this.raf);
    }
    if (on) this.drawStations();
  }

  /** A running capture is shown as it arrives; a stopped one is replayed. */
  setLive(live: boolean): void {
    if (live === this.live) return;
    this.live = live;
    if (live) this.cursor = this.store.count;
    else this.restart();
  }

  /** Marks a packet's dot (the packet selected elsewhere). */
  highlight(id: number | undefined): void {
    this.highlighted = id;
  }

  /** The store let rows go: the playhead keeps its place among the rows still held. */
  compacted(): void {
    const moves = this.store.lastMoves;
    let j = Math.min(this.cursor, moves.length) - 1;
    while (j >= 0 && moves[j] < 0) j--;
    this.cursor = j < 0 ? 0 : moves[j] + 1;
  }

  /** New data or a reset (the stations redraw on the view's own clock, twice a second). */
  refresh(): void {
    if (this.cursor > this.store.count) {
      this.dots = [];
      this.cursor = 0;
      if (this.active) this.drawStations();
    }
  }

  private setPlaying(on: boolean): void {
    this.playing = on;
    this.playButton.textContent = on ? 'Pause' : 'Play';
    this.onChange();
  }

  focus(): void {
    this.stage.focus();
  }

  state(): FlowState {
    return { station: this.focusLayer, speed: this.speed, playing: this.playing };
  }

  restore(s: FlowState): void {
    if ((LAYERS as readonly string[]).includes(s.station)) this.focusLayer = s.station;
    if (SPEEDS.some(([v]) => Number(v) === s.speed)) {
      this.speed = s.speed;
      this.speedControl.setValue(String(s.speed));
    }
    this.playing = s.playing !== false;
    this.playButton.textContent = this.playing ? 'Pause' : 'Play';
  }

  private restart(): void {
    this.dots = [];
    this.cursor = 0;
    this.spawned = 0;
    this.skipped = 0;
    this.playNs = this.store.count ? this.store.timeNs(0) : 0;
  }

  private relayout(): void {
    const w = this.stage.clientWidth;
    const h = this.stage.clientHeight;
    if (w === 0 || h === 0) return;
    const k = this.store.layers;
    const span = k.packets[Layer['kernel.stack']] > 0;
    const insides = ['kernel.ip', 'kernel.tcp', 'kernel.udp', 'kernel.icmp', 'kernel.socket'].some((l) => k.packets[Layer[l as LayerName]] > 0);
    this.spanShape = `${span}/${insides}`;
    this.layout = layoutFlow(w, h, span, insides);
    const dpr = window.devicePixelRatio || 1;
    const L = this.layout;
    this.canvas.width = L.width * dpr;
    this.canvas.height = L.height * dpr;
    this.canvas.style.width = `${L.width}px`;
    this.canvas.style.height = `${L.height}px`;
    this.svg.attr('width', L.width).attr('height', L.height);
    if (!L.stations.has(this.focusLayer)) this.focusLayer = 'steer';
    this.dots = [];
    this.drawFrame();
    this.drawStations();
  }

  // ---- the diagram (SVG)

  private drawFrame(): void {
    const L = this.layout!;
    this.svg.select('g.layer-lanes').selectAll<SVGGElement, FlowLayout['lanes'][number]>('g.lane').data(L.lanes, (d) => d.lane)
      .join((enter) => {
        const g = enter.append('g').attr('class', (d) => `lane lane-${d.lane}`);
        g.append('rect').attr('class', 'lane-band').attr('rx', 6);
        g.append('text').attr('class', 'lane-label');
        g.append('text').attr('class', 'lane-figures');
        return g;
      })
      .call((g) => {
        g.select('rect').attr('x', (d) => d.x).attr('y', (d) => d.y).attr('width', (d) => d.w).attr('height', (d) => d.h);
        g.select('.lane-label').attr('x', (d) => d.x + 10).attr('y', (d) => d.y + 17);
        g.select('.lane-figures').attr('x', (d) => d.x + d.w - 10).attr('y', (d) => d.y + 17).attr('text-anchor', 'end');
      });
    const line = d3.line();
    this.svg.select('g.layer-routes').selectAll<SVGPathElement, FlowLayout['routes'][number]>('path.route').data(L.routes, (d) => `${d.lane}-${d.dir}`)
      .join('path')
      .attr('class', (d) => `route lane-${d.lane} dir-${d.dir}`)
      .attr('d', (d) => line(d.points as [number, number][]));
    this.svg.select('g.layer-ghosts').selectAll<SVGGElement, FlowLayout['ghosts'][number]>('g.ghost').data(L.ghosts, (d) => `${d.lane}-${d.x}`)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'ghost');
        g.append('rect').attr('rx', 5);
        g.append('foreignObject').append('xhtml:div').attr('class', 'ghost-text');
        return g;
      })
      .attr('transform', (d) => `translate(${d.x},${d.y})`)
      .call((g) => {
        g.select('rect').attr('width', (d) => d.w).attr('height', (d) => d.h);
        g.select('foreignObject').attr('width', (d) => d.w).attr('height', (d) => d.h).select('div').text((d) => d.text);
      });
  }

  private figures(s: TraceStats | undefined, prev: TraceStats | undefined, layer: LayerName, drops: Map<string, [string, number][]>): StationFigures {
    const k = this.store.layers;
    const at = s?.perLayer[layer];
    // The engine's count (which includes records sampled away) or, when statistics lag behind the
    // batches, the packets the webview already holds.
    const packets = Math.max(at?.packets ?? 0, k.packets[Layer[layer]]);
    let rate = '';
    if (s && prev && s.timeNs > prev.timeNs) {
      const n = packets - (prev.perLayer[layer]?.packets ?? 0);
      rate = n > 0 ? formatRate(n / ((s.timeNs - prev.timeNs) / 1e9)) : '';
    }
    if (!rate && s && s.timeNs > 0) rate = packets > 0 ? `${formatRate(packets / (s.timeNs / 1e9))} avg` : '0 pkt/s';
    // The NIC's receive, the application and the wire take no time by definition: no figures to show.
    const lat = INSTANTS.has(layer) ? undefined : at?.latency;
    return {
      packets,
      rate,
      ...(lat && lat.count > 0 ? { p50: lat.p50Ns, p99: lat.p99Ns } : {}),
      samples: lat?.count ?? 0,
      drops: drops.get(layer) ?? (k.drops[Layer[layer]] > 0 ? [['drop', k.drops[Layer[layer]]]] : []),
      kinds: k.kindsOf(layer),
    };
  }

  private drawStations(): void {
    const L = this.layout;
    if (!L) return;
    const k = this.store.layers;
    if (`${k.packets[Layer['kernel.stack']] > 0}/${['kernel.ip', 'kernel.tcp', 'kernel.udp', 'kernel.icmp', 'kernel.socket'].some((l) => k.packets[Layer[l as LayerName]] > 0)}` !== this.spanShape) {
      this.relayout();
      return;
    }
    const stats = this.store.stats;
    const s = stats[stats.length - 1];
    // Rates over the last ~200 ms of capture time.
    let prev: TraceStats | undefined;
    for (let i = stats.length - 2; i >= 0 && s; i--) {
      prev = stats[i];
      if (s.timeNs - stats[i].timeNs >= 2e8) break;
    }
    const drops = dropsByLayer(s);
    const figs = new Map<LayerName, StationFigures>();
    for (const st of L.stations.values()) figs.set(st.layer, this.figures(s, prev, st.layer, drops));
    const strip = d3.scaleLog().domain(LATENCY_DOMAIN as [number, number]).clamp(true);
    this.svg.select('g.layer-stations').selectAll<SVGGElement, StationBox>('g.station').data([...L.stations.values()], (d) => d.layer)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'station');
        g.append('rect').attr('class', 'box').attr('rx', 5);
        g.append('rect').attr('class', 'box-hatch').attr('rx', 5);
        g.append('title');
        return g;
      })
      .attr('data-layer', (d) => d.layer)
      .attr('transform', (d) => `translate(${d.x},${d.y})`)
      .each(function (d) {
        const f = figs.get(d.layer)!;
        const g = d3.select(this);
        const kind = f.kinds.length === 0 ? 'none' : f.kinds.length === 1 ? f.kinds[0] : 'mixed';
        g.attr('class', `station lane-${d.lane} kind-${kind}${f.packets === 0 ? ' idle' : ''}${f.drops.length ? ' has-drops' : ''}`);
        g.select('rect.box').attr('width', d.w).attr('height', d.h);
        g.select('rect.box-hatch').attr('width', d.w).attr('height', d.h).attr('display', f.kinds.includes('span') ? null : 'none');
        const cols = Math.max(6, Math.floor((d.w - 14) / 6.7));
        const lines: { text: string; cls: string }[] = [];
        const add = (text: string, cls: string) => {
          for (const t of wrap(text, cols)) lines.push({ text: t, cls });
        };
        const kindText = kind !== 'measured' && kind !== 'none' ? f.kinds.join(' + ') : '';
        if (kindText && d.label.length + kindText.length + 2 <= cols) add(`${d.label}`, 'st-name');
        else {
          add(d.label, 'st-name');
          if (kindText) add(kindText, 'st-kind');
        }
        const total = f.drops.reduce((a, [, n]) => a + n, 0);
        if (cols >= 24) {
          add(f.packets ? `${f.packets.toLocaleString('en-US')} pkts${f.rate ? ` · ${f.rate}` : ''}` : 'no packets', 'st-count');
          if (f.p50 !== undefined && f.p99 !== undefined) add(`p50 ${formatNs(f.p50)} · p99 ${formatNs(f.p99)}`, 'st-lat');
          else if (INSTANTS.has(d.layer) && f.packets) add('an instant: no cost', 'st-lat');
        } else {
          // A narrow box: one figure a line, the rate in its short form (the tooltip has it all).
          add(f.packets ? `${f.packets.toLocaleString('en-US')} pkts` : 'no packets', 'st-count');
          if (f.rate) add(f.rate.replace(/ pkt\/s( avg)?$/, '/s'), 'st-rate');
          if (f.p50 !== undefined && f.p99 !== undefined) add(`p50 ${formatNs(f.p50)}`, 'st-lat'), add(`p99 ${formatNs(f.p99)}`, 'st-lat');
          else if (INSTANTS.has(d.layer) && f.packets) add('instant', 'st-lat');
        }
        if (total) {
          if (f.drops.length === 1) add(`✕ ${total} ${f.drops[0][0]}`, 'st-drop');
          else add(`✕ ${total}: ${f.drops.map(([r, n]) => `${n} ${r}`).join(', ')}`, 'st-drop');
        }
        const lineH = 13;
        const fit = Math.max(1, Math.floor((d.h - 8) / lineH));
        const shown = lines.slice(0, fit);
        // The tall boxes (wire, app) keep their figures between the tracks that cross them.
        const top = d.layer === 'wire' || d.layer === 'app' ? Math.max(4, d.h / 2 - (shown.length * lineH) / 2) : 4;
        g.selectAll<SVGTextElement, { text: string; cls: string }>('text.st-line').data(shown)
          .join('text')
          .attr('class', (l) => `st-line ${l.cls}`)
          .attr('x', 7)
          .attr('y', (_l, i) => top + 12 + i * lineH)
          .text((l) => l.text);
        g.selectAll<SVGTextElement, string>('text.st-kind-right').data(kindText && d.label.length + kindText.length + 2 <= cols ? [kindText] : [])
          .join('text')
          .attr('class', 'st-line st-kind st-kind-right')
          .attr('x', d.w - 7)
          .attr('y', top + 12)
          .attr('text-anchor', 'end')
          .text((t) => t);
        // The hop-time distribution on the shared log scale (10 ns – 10 ms): a small histogram where
        // the box has room under its figures, else the p50–p99 range as a strip.
        const below = top + 12 + shown.length * lineH - 6;
        const room = d.h - below - 6;
        const wide = d.w >= 130 && f.p50 !== undefined;
        const mode = wide && room >= 46 ? 'hist' : wide && room >= 22 ? 'strip' : 'none';
        strip.range([8, d.w - 8]);
        const sg = g.selectAll<SVGGElement, string>('g.st-dist').data(mode === 'none' ? [] : [mode]).join((enter) => enter.append('g').attr('class', 'st-dist'));
        sg.attr('transform', `translate(0,${below})`);
        sg.selectAll('*').remove();
        if (mode !== 'none') {
          const axisY = mode === 'hist' ? Math.min(room - 12, 70) : 5;
          sg.append('line').attr('class', 'strip-axis').attr('x1', 8).attr('x2', d.w - 8).attr('y1', axisY).attr('y2', axisY);
          for (const v of decades(LATENCY_DOMAIN)) sg.append('line').attr('class', 'strip-tick').attr('x1', strip(v)).attr('x2', strip(v)).attr('y1', axisY - 2).attr('y2', axisY + 3);
          sg.append('text').attr('class', 'strip-label').attr('x', 8).attr('y', axisY + 12).text(tickNs(LATENCY_DOMAIN[0]));
          sg.append('text').attr('class', 'strip-label').attr('x', (8 + d.w - 8) / 2).attr('y', axisY + 12).attr('text-anchor', 'middle').text(tickNs(Math.sqrt(LATENCY_DOMAIN[0] * LATENCY_DOMAIN[1])));
          sg.append('text').attr('class', 'strip-label').attr('x', d.w - 8).attr('y', axisY + 12).attr('text-anchor', 'end').text(tickNs(LATENCY_DOMAIN[1]));
          const lat = s?.perLayer[d.layer]?.latency;
          if (mode === 'hist' && lat) {
            const max = Math.max(1, ...lat.buckets);
            const hh = axisY - 4;
            lat.buckets.forEach((c, b) => {
              if (c <= 0) return;
              // Bucket 0 ([0, 2) ns) sits at the axis' left end.
              const x0 = b === 0 ? 4 : strip(2 ** b), x1 = b === 0 ? 10 : strip(2 ** (b + 1));
              const bh = Math.max(1.5, (hh * c) / max);
              sg.append('rect').attr('class', 'st-bar').attr('x', x0).attr('width', Math.max(1.5, x1 - x0 - 0.5)).attr('y', axisY - bh).attr('height', bh);
            });
            const p = strip(Math.max(LATENCY_DOMAIN[0], f.p99!));
            sg.append('line').attr('class', 'strip-p99').attr('x1', p).attr('x2', p).attr('y1', 0).attr('y2', axisY);
          } else {
            const lo = strip(Math.max(LATENCY_DOMAIN[0], f.p50!)), hi = strip(Math.max(LATENCY_DOMAIN[0], f.p99!));
            sg.append('rect').attr('class', 'strip-range').attr('x', lo).attr('y', axisY - 3).attr('width', Math.max(2, hi - lo)).attr('height', 6);
            sg.append('line').attr('class', 'strip-p50').attr('x1', lo).attr('x2', lo).attr('y1', axisY - 5).attr('y2', axisY + 5);
          }
        }
        g.select('title').text(`${d.layer}: ${f.packets} packets${f.rate ? `, ${f.rate}` : ''}` +
          (f.p50 !== undefined ? `, hop time p50 ${formatNs(f.p50)}, p99 ${formatNs(f.p99!)} (${f.samples} hops timed)` : '') +
          (f.kinds.length ? `; hops ${f.kinds.join(', ')}` : '') + (f.drops.length ? `; drops: ${f.drops.map(([r, n]) => `${n} ${r}`).join(', ')}` : ''));
      });
    // Lane headers: what the lane is and its whole-path figures.
    this.svg.select('g.layer-lanes').selectAll<SVGGElement, FlowLayout['lanes'][number]>('g.lane').each(function (d) {
      const g = d3.select(this);
      const kinds = new Set<string>();
      for (const st of L.stations.values()) if (st.lane === d.lane) for (const kk of k.kindsOf(st.layer)) kinds.add(kk);
      const what = d.lane === 'bypass' ? 'bypass — the userspace TCP/IP stack' :
        kinds.has('emulated') ? 'kernel — an emulated Linux stack (hops labelled emulated)' : 'kernel — the Linux kernel';
      g.select('.lane-label').text(what);
      const h = s?.perPath[d.lane];
      const n = s?.packets[d.lane] ?? 0;
      g.select('.lane-figures').text(s ? `${n.toLocaleString('en-US')} packets` + (h && h.count ? ` · whole path p50 ${formatNs(h.p50Ns)} · p99 ${formatNs(h.p99Ns)}` : '') : '');
    });
    this.drawFocus();
    this.renderStationDetail(figs.get(this.focusLayer), s);
  }

  private drawFocus(): void {
    const st = this.layout?.stations.get(this.focusLayer);
    this.svg.select('g.layer-focus').selectAll<SVGRectElement, StationBox>('rect.focus-ring').data(st ? [st] : [])
      .join('rect')
      .attr('class', 'focus-ring')
      .attr('rx', 7)
      .attr('x', (d) => d.x - 3)
      .attr('y', (d) => d.y - 3)
      .attr('width', (d) => d.w + 6)
      .attr('height', (d) => d.h + 6);
    this.svg.selectAll<SVGGElement, StationBox>('g.station').classed('focused', (d) => d.layer === this.focusLayer);
  }

  private renderStationDetail(f: StationFigures | undefined, s: TraceStats | undefined): void {
    const el = d3.select(this.detailStation);
    el.selectAll('*').remove();
    const layer = this.focusLayer;
    if (!f) return;
    const head = el.append('div').attr('class', 'detail-head');
    head.append('span').attr('class', 'detail-title').attr('id', 'flow-station-name').text(layer);
    head.append('span').attr('class', 'detail-sub').text(
      ` · ${f.packets.toLocaleString('en-US')} packets${f.rate ? ` · ${f.rate}` : ''}` +
      (f.p50 !== undefined ? ` · hop time p50 ${formatNs(f.p50)} · p99 ${formatNs(f.p99!)}` : f.packets ? ' · no timing yet (the engine sends statistics every half second)' : '') +
      (f.kinds.length ? ` · ${f.kinds.join(' + ')}` : ''));
    const body = el.append('div').attr('class', 'detail-body');
    const h = s?.perLayer[layer]?.latency;
    if (h && h.count > 0) {
      const svg = body.append('svg') as unknown as d3.Selection<SVGSVGElement, unknown, null, undefined>;
      drawHistogram(svg, h, { width: 340, height: 96, domain: latencyDomain([h]), title: 'hop time', barClass: `bars lane-${layer.split('.')[0]}` });
    }
    const lists = body.append('div').attr('class', 'detail-lists');
    if (f.drops.length) {
      lists.append('div').attr('class', 'detail-drops').text(`Drops here: ${f.drops.map(([r, n]) => `${n} × ${r}`).join(', ')}`);
    }
    const addIds = (title: string, rows: number[], cls: string) => {
      if (!rows.length) return;
      const line = lists.append('div').attr('class', cls);
      line.append('span').text(`${title}: `);
      for (const i of rows) {
        const id = this.store.id(i);
        link(line.node() as HTMLElement, `#${id}`, { title: `Select packet ${id} in the list`, onClick: () => this.pick(id) });
      }
    };
    addIds('Latest packets through here', this.store.layers.latest(layer).slice(0, 8), 'detail-latest');
    addIds('Latest dropped here', this.store.layers.latest(layer, true).slice(0, 8), 'detail-latest-drops');
  }

  private pick(id: number): void {
    this.highlighted = id;
    this.onPick(id);
    this.renderPacketDetail(this.store.get(id));
  }

  private renderPacketDetail(row: PacketRow | undefined): void {
    const el = d3.select(this.detailPacket);
    el.text('');
    if (!row) return;
    el.append('div').attr('class', 'detail-title').text(`Packet ${row.id} · ${row.direction === 'rx' ? 'received' : 'sent'} · ${row.path} path`);
    el.append('div').attr('class', 'detail-info').text(row.info);
    const chain = el.append('div').attr('class', 'hop-chain');
    row.hops.forEach((h, i) => {
      const item = chain.append('span').attr('class', `chain-hop kind-${h.kind}${h.verdict === 'drop' ? ' verdict-drop' : ''}`);
      item.append('span').attr('class', 'chain-layer').text(h.layer);
      item.append('span').attr('class', 'chain-time').text(h.verdict === 'drop' ? ` ✕ ${h.reason ?? 'drop'}` : h.durationNs > 0 ? ` ${formatNs(h.durationNs)}` : '');
      if (i + 1 < row.hops.length) chain.append('span').attr('class', 'chain-arrow').text(' → ');
    });
  }

  // ---- the packets (canvas)

  private spawn(index: number, now: number): void {
    const L = this.layout!;
    const row = this.store.row(index);
    const hops = row.hops;
    const lane: Lane | 'none' = row.path === 'bypass' || row.path === 'kernel' ? row.path : 'none';
    const stops: { layer: LayerName; at: [number, number] }[] = [];
    const stopTimes: number[] = [];
    let t = 0;
    let dropped = false;
    let prev: Hop | undefined;
    for (let k = 0; k < hops.length; k++) {
      const h = hops[k];
      if (!L.stations.has(h.layer)) continue;
      // A wire hop between others notes what the impairments did to a received frame (schema.ts):
      // the packet does not go back to the wire for it.
      if (h.layer === 'wire' && h.verdict !== 'drop' && k > 0 && k < hops.length - 1) continue;
      if (prev) t += SEG_BASE_MS + SEG_PER_DECADE_MS * Math.log10(1 + Math.max(0, h.offsetNs - prev.offsetNs) / 100);
      const hopLane = h.layer.startsWith('bypass.') ? 'bypass' : h.layer.startsWith('kernel.') ? 'kernel' : lane;
      stops.push({ layer: h.layer, at: anchorOf(L.stations, h.layer, hopLane, row.direction) });
      stopTimes.push(t);
      prev = h;
      if (h.verdict === 'drop') {
        dropped = true;
        break;
      }
    }
    // Along the rails, turning beside the boxes; a turn's time is its share of the hop it is in.
    const rail = railPath(L.stations, stops);
    const points = rail.points;
    const at = rail.stop.map((f) => {
      const i = Math.floor(f);
      return f === i ? stopTimes[i] : stopTimes[i] + (stopTimes[i + 1] - stopTimes[i]) * (f - i);
    });
    if (points.length === 0) return;
    if (points.length === 1) {
      points.push(points[0]);
      at.push(SEG_BASE_MS);
    }
    this.dots.push({
      index,
      id: row.id,
      cls: row.path === 'bypass' || row.path === 'kernel' ? row.path : 'none',
      retrans: row.retransmission,
      points,
      at,
      dropped,
      start: now,
      x: points[0][0],
      y: points[0][1],
    });
    this.spawned++;
  }

  /** Starts the dots of the packets due this frame (newly arrived ones live; those the playhead passed in a replay). */
  private spawnDue(dt: number): void {
    const store = this.store;
    const room = Math.max(0, Math.min(SPAWN_PER_FRAME, MAX_DOTS - this.dots.length));
    let due: number;
    if (this.live) due = store.count;
    else {
      this.playNs += dt * 1e6 * this.speed;
      due = this.cursor;
      while (due < store.count && store.timeNs(due) <= this.playNs) due++;
      if (due === store.count && this.cursor === store.count && this.dots.length === 0 && store.count > 0) {
        this.restart();
        return;
      }
    }
    const n = due - this.cursor;
    if (n <= 0) return;
    // More due than the eye can follow: every k-th packet.
    const step = Math.max(1, Math.ceil(n / Math.max(1, room)));
    for (let i = this.cursor; i < due; i++) {
      if ((i - this.cursor) % step === 0 && this.dots.length < MAX_DOTS) this.spawn(i, this.clock);
      else this.skipped++;
    }
    this.cursor = due;
  }

  private readColours(): void {
    const key = document.body.className;
    if (key === this.coloursFor) return;
    this.coloursFor = key;
    const css = getComputedStyle(this.element);
    const v = (name: string) => css.getPropertyValue(name).trim();
    // Theme colours only; where a theme lacks one, its foreground.
    const fg = v('--vscode-foreground');
    const or = (x: string) => x || fg;
    this.colours = { bypass: or(v('--c-bypass')), kernel: or(v('--c-kernel')), none: or(v('--c-none')), drop: or(v('--c-drop')), retrans: or(v('--c-retrans')), focus: or(v('--vscode-focusBorder')) };
  }

  private frame = (now: number): void => {
    if (!this.active) return;
    const dt = Math.min(100, now - this.lastFrame);
    this.lastFrame = now;
    if (this.playing && this.layout) {
      this.clock += dt;
      this.spawnDue(dt);
    }
    this.drawDots();
    if (now - this.lastStations > 500) {
      this.lastStations = now;
      this.drawStations();
      const shown = this.spawned, all = this.spawned + this.skipped;
      this.note.textContent = (this.live ? 'live' : `replay at ×${this.speed}`) + (all > shown ? ` · sampled: ${shown.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} packets drawn` : ' · every packet drawn') + (this.playing ? '' : ' · paused');
    }
    this.raf = requestAnimationFrame(this.frame);
  };

  private drawDots(): void {
    const L = this.layout;
    if (!L) return;
    this.readColours();
    const ctx = this.canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, L.width, L.height);
    const byColour: Record<string, Dot[]> = { bypass: [], kernel: [], none: [] };
    const crosses: { x: number; y: number; a: number }[] = [];
    const alive: Dot[] = [];
    let marked: Dot | undefined;
    for (const d of this.dots) {
      const t = this.clock - d.start;
      const end = d.at[d.at.length - 1];
      if (t >= end) {
        if (d.dropped && t < end + DROP_SHOWN_MS) {
          const p = d.points[d.points.length - 1];
          crosses.push({ x: p[0], y: p[1], a: 1 - (t - end) / DROP_SHOWN_MS });
          alive.push(d);
        }
        continue;
      }
      let i = 0;
      while (i + 1 < d.at.length && d.at[i + 1] <= t) i++;
      const a = d.points[i], b = d.points[Math.min(i + 1, d.points.length - 1)];
      const span = d.at[i + 1] - d.at[i] || 1;
      const f = Math.min(1, (t - d.at[i]) / span);
      d.x = a[0] + (b[0] - a[0]) * f;
      d.y = a[1] + (b[1] - a[1]) * f;
      byColour[d.cls].push(d);
      if (d.id === this.highlighted) marked = d;
      alive.push(d);
    }
    this.dots = alive;
    for (const cls of ['none', 'kernel', 'bypass'] as const) {
      ctx.fillStyle = this.colours[cls];
      ctx.beginPath();
      for (const d of byColour[cls]) {
        ctx.moveTo(d.x + 3.5, d.y);
        ctx.arc(d.x, d.y, 3.5, 0, Math.PI * 2);
      }
      ctx.fill();
      ctx.strokeStyle = this.colours.retrans;
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (const d of byColour[cls]) if (d.retrans) {
        ctx.moveTo(d.x + 6, d.y);
        ctx.arc(d.x, d.y, 6, 0, Math.PI * 2);
      }
      ctx.stroke();
    }
    ctx.strokeStyle = this.colours.drop;
    ctx.lineWidth = 2.5;
    for (const c of crosses) {
      ctx.globalAlpha = Math.max(0, c.a);
      ctx.beginPath();
      ctx.moveTo(c.x - 6, c.y - 6);
      ctx.lineTo(c.x + 6, c.y + 6);
      ctx.moveTo(c.x + 6, c.y - 6);
      ctx.lineTo(c.x - 6, c.y + 6);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    if (marked) {
      ctx.strokeStyle = this.colours.focus;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(marked.x, marked.y, 9, 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  // ---- input

  private onClick(e: MouseEvent): void {
    const r = this.stage.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const moving = this.dots.filter((d) => this.clock - d.start < d.at[d.at.length - 1]);
    const hit = d3.quadtree<Dot>().x((d) => d.x).y((d) => d.y).addAll(moving).find(x, y, 9);
    if (hit) {
      this.pick(hit.id);
      return;
    }
    const st = [...(this.layout?.stations.values() ?? [])].find((s) => x >= s.x && x <= s.x + s.w && y >= s.y && y <= s.y + s.h);
    if (st) this.focusStation(st.layer);
    this.stage.focus();
  }

  private focusStation(layer: LayerName): void {
    this.focusLayer = layer;
    this.drawStations();
    this.onChange();
  }

  private onKey(e: KeyboardEvent): void {
    const L = this.layout;
    if (!L) return;
    const cur = L.stations.get(this.focusLayer)!;
    let next: LayerName | undefined;
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      // Reading order: left to right, then top to bottom.
      const sorted = [...L.stations.values()].sort((a, b) => a.x - b.x || a.y - b.y);
      const k = sorted.findIndex((s) => s.layer === this.focusLayer);
      next = sorted[(k + (e.key === 'ArrowRight' ? 1 : sorted.length - 1)) % sorted.length].layer;
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const down = e.key === 'ArrowDown';
      const cx = cur.x + cur.w / 2;
      const cands = [...L.stations.values()].filter((s) => (down ? s.y > cur.y + cur.h / 2 : s.y + s.h < cur.y + cur.h / 2));
      cands.sort((a, b) => Math.abs(a.x + a.w / 2 - cx) - Math.abs(b.x + b.w / 2 - cx) || (down ? a.y - b.y : b.y - a.y));
      next = cands[0]?.layer;
    } else if (e.key === 'Enter') {
      const latest = this.store.layers.latest(this.focusLayer)[0];
      if (latest !== undefined) this.pick(this.store.id(latest));
    } else if (e.key === ' ') {
      this.setPlaying(!this.playing);
    } else return;
    e.preventDefault();
    e.stopPropagation();
    if (next) this.focusStation(next);
  }
}

/** Breaks `text` at spaces into lines of at most `cols` characters (a longer word gets a line of its own). */
function wrap(text: string, cols: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > cols) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/** TraceStats' "layer: reason" drop counts, by layer, most first. */
function dropsByLayer(s: TraceStats | undefined): Map<string, [string, number][]> {
  const m = new Map<string, [string, number][]>();
  for (const [key, n] of Object.entries(s?.drops ?? {})) {
    const at = key.indexOf(': ');
    const layer = at < 0 ? key : key.slice(0, at);
    const reason = at < 0 ? 'drop' : key.slice(at + 2);
    if (!m.has(layer)) m.set(layer, []);
    m.get(layer)!.push([reason, n]);
  }
  for (const list of m.values()) list.sort((a, b) => b[1] - a[1]);
  return m;
}
