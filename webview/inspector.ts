// webview/inspector: one packet in depth — the per-layer field tree (from the dissector, with byte
// ranges), the hop waterfall (each hop's offset and duration; measured, span and emulated hops drawn
// differently), and a hex dump that lights the bytes of the selected layer or field.
import * as d3 from 'd3';
import { PacketFlag } from '../engine/trace/schema';
import { LATENCY_DOMAIN, decades, formatNs, tickNs } from './charts';
import { fieldTree, type FieldLayer } from './fields';
import { formatTime } from './packet-list';
import type { PacketRow } from './store';

interface TreeItem {
  readonly key: string;
  readonly depth: 0 | 1;
  readonly label: string;
  readonly value: string;
  readonly offset: number;
  readonly length: number;
  readonly layerKey: string;
  readonly problem?: string;
}

/** Layers that take no time by the trace schema's definition. */
const INSTANT_LAYERS = new Set(['nic.rx', 'app', 'wire']);

export class Inspector {
  readonly element: HTMLElement;
  private readonly header: HTMLElement;
  private readonly tree: HTMLElement;
  private readonly waterfall: HTMLElement;
  private readonly hex: HTMLElement;
  private row: PacketRow | undefined;
  private layers: FieldLayer[] = [];
  private collapsed = new Set<string>();
  private selectedKey: string | undefined;

  constructor(parent: HTMLElement, private readonly onFieldSelect: (key: string | undefined) => void = () => {}) {
    this.element = document.createElement('div');
    this.element.className = 'inspector';
    this.element.id = 'inspector';
    this.header = document.createElement('div');
    this.header.className = 'inspector-header';
    const body = document.createElement('div');
    body.className = 'inspector-body';
    this.tree = document.createElement('div');
    this.tree.className = 'field-tree';
    this.tree.id = 'field-tree';
    this.tree.tabIndex = 0;
    this.tree.setAttribute('role', 'tree');
    this.tree.setAttribute('aria-label', 'Fields');
    const right = document.createElement('div');
    right.className = 'inspector-right';
    this.waterfall = document.createElement('div');
    this.waterfall.className = 'waterfall';
    this.waterfall.id = 'waterfall';
    this.hex = document.createElement('div');
    this.hex.className = 'hex-dump';
    this.hex.id = 'hex-dump';
    this.hex.setAttribute('aria-label', 'Frame bytes');
    right.append(this.waterfall, this.hex);
    body.append(this.tree, right);
    this.element.append(this.header, body);
    parent.append(this.element);
    this.tree.addEventListener('keydown', (e) => this.onKey(e));
    this.show(undefined);
  }

  get selectedField(): string | undefined {
    return this.selectedKey;
  }

  focusTree(): void {
    this.tree.focus();
  }

  show(row: PacketRow | undefined, fieldKey?: string): void {
    this.row = row;
    if (!row) {
      this.header.textContent = 'No packet selected. Pick one in the list (↑/↓ move, / filters).';
      this.layers = [];
      this.selectedKey = undefined;
      this.renderTree();
      this.renderHex();
      d3.select(this.waterfall).selectAll('*').remove();
      d3.select(this.waterfall).append('p').attr('class', 'empty')
        .text('A selected packet’s hops appear here: each layer it passed, when, and for how long. Its header fields are on the left, its bytes below.');
      return;
    }
    const d = row.dissection;
    this.layers = fieldTree(d, row.bytes);
    // A partial TCP/UDP checksum (left to a device with checksum offload) is a note of the dissector's, not a problem.
    const problems = d.problems.map((p) => p.message);
    const offloaded = (row.flags & PacketFlag.OFFLOAD) !== 0;
    this.header.textContent =
      `Packet ${row.id} · ${formatTime(row.timeNs)} s · ${row.direction === 'rx' ? 'received' : 'sent'} · path ${row.path} · ` +
      `${row.wireLen} bytes on wire, ${row.bytes.length} captured` + (offloaded ? ' · crossed a device with checksum offload' : '') +
      (problems.length ? ` · ${problems.join('; ')}` : '');
    this.selectedKey = fieldKey !== undefined && this.items().some((i) => i.key === fieldKey) ? fieldKey : this.layers[this.layers.length - 1]?.key;
    this.renderTree();
    this.renderHex();
    this.renderWaterfall();
  }

  selectField(key: string): void {
    this.selectedKey = key;
    this.renderTree();
    this.highlight();
    this.onFieldSelect(key);
  }

  private items(): TreeItem[] {
    const out: TreeItem[] = [];
    for (const l of this.layers) {
      out.push({ key: l.key, depth: 0, label: l.title, value: '', offset: l.offset, length: l.length, layerKey: l.key });
      if (this.collapsed.has(l.key)) continue;
      for (const f of l.fields) {
        out.push({ key: f.key, depth: 1, label: f.label, value: f.value, offset: f.offset, length: f.length, layerKey: l.key, ...(f.problem ? { problem: f.problem } : {}) });
      }
    }
    return out;
  }

  private renderTree(): void {
    const items = this.items();
    d3.select(this.tree)
      .selectAll<HTMLDivElement, TreeItem>('div.tree-item')
      .data(items, (d) => d.key)
      .join((enter) => {
        const div = enter.append('div').attr('role', 'treeitem');
        div.append('span').attr('class', 'twisty');
        div.append('span').attr('class', 'label');
        div.append('span').attr('class', 'value');
        div.append('span').attr('class', 'range');
        return div;
      })
      .attr('class', (d) => `tree-item depth-${d.depth}${d.key === this.selectedKey ? ' selected' : ''}${d.problem ? ' problem' : ''}`)
      .attr('aria-selected', (d) => String(d.key === this.selectedKey))
      .attr('aria-expanded', (d) => (d.depth === 0 ? String(!this.collapsed.has(d.key)) : null))
      .attr('data-key', (d) => d.key)
      .attr('title', (d) => d.problem ?? '')
      .on('click', (_e, d) => {
        if (d.depth === 0 && d.key === this.selectedKey) this.toggle(d.key);
        this.selectField(d.key);
        this.tree.focus();
      })
      .call((sel) => {
        sel.select('.twisty').text((d) => (d.depth === 0 ? (this.collapsed.has(d.key) ? '▸' : '▾') : ''));
        sel.select('.label').text((d) => (d.depth === 0 ? d.label : `${d.label}:`));
        sel.select('.value').text((d) => d.value);
        sel.select('.range').text((d) => (d.length > 0 ? `[${d.offset}…${d.offset + d.length - 1}]` : ''));
      })
      .order();
    this.tree.querySelector('.tree-item.selected')?.scrollIntoView({ block: 'nearest' });
  }

  private toggle(key: string): void {
    if (this.collapsed.has(key)) this.collapsed.delete(key);
    else this.collapsed.add(key);
    this.renderTree();
  }

  private onKey(e: KeyboardEvent): void {
    const items = this.items();
    const i = items.findIndex((x) => x.key === this.selectedKey);
    const cur = items[i];
    let next: TreeItem | undefined;
    if (e.key === 'ArrowDown') next = items[Math.min(items.length - 1, i + 1)];
    else if (e.key === 'ArrowUp') next = items[Math.max(0, i - 1)];
    else if (e.key === 'Home') next = items[0];
    else if (e.key === 'End') next = items[items.length - 1];
    else if (e.key === 'ArrowLeft' && cur) {
      if (cur.depth === 0 && !this.collapsed.has(cur.key)) this.toggle(cur.key);
      else next = items.find((x) => x.key === cur.layerKey);
    } else if ((e.key === 'ArrowRight' || e.key === 'Enter') && cur?.depth === 0) {
      if (this.collapsed.has(cur.key)) this.toggle(cur.key);
      else next = items[i + 1];
    } else return;
    e.preventDefault();
    if (next) this.selectField(next.key);
  }

  private renderHex(): void {
    const bytes = this.row?.bytes ?? new Uint8Array(0);
    const lines = d3.range(0, bytes.length, 16).map((off) => ({ off, bytes: Array.from(bytes.subarray(off, off + 16)) }));
    d3.select(this.hex)
      .selectAll<HTMLDivElement, { off: number; bytes: number[] }>('div.hex-line')
      .data(lines, (d) => String(d.off))
      .join((enter) => {
        const l = enter.append('div').attr('class', 'hex-line');
        l.append('span').attr('class', 'hex-off');
        l.append('span').attr('class', 'hex-bytes');
        l.append('span').attr('class', 'hex-ascii');
        return l;
      })
      .call((sel) => {
        sel.select('.hex-off').text((d) => d.off.toString(16).padStart(4, '0'));
        sel.select('.hex-bytes')
          .selectAll<HTMLSpanElement, { i: number; v: number }>('span.b')
          .data((d) => d.bytes.map((v, k) => ({ i: d.off + k, v })), (d) => String(d.i))
          .join('span')
          .attr('class', (d) => (d.i % 8 === 7 ? 'b gap' : 'b'))
          .attr('data-i', (d) => d.i)
          .text((d) => d.v.toString(16).padStart(2, '0'))
          .on('click', (_e, d) => this.selectByte(d.i));
        sel.select('.hex-ascii')
          .selectAll<HTMLSpanElement, { i: number; v: number }>('span.a')
          .data((d) => d.bytes.map((v, k) => ({ i: d.off + k, v })), (d) => String(d.i))
          .join('span')
          .attr('class', 'a')
          .attr('data-i', (d) => d.i)
          .text((d) => (d.v >= 0x20 && d.v < 0x7f ? String.fromCharCode(d.v) : '.'))
          .on('click', (_e, d) => this.selectByte(d.i));
      });
    this.highlight();
  }

  /** Clicking a byte selects the innermost field that covers it. */
  private selectByte(i: number): void {
    const hit = this.items()
      .filter((x) => x.depth === 1 && i >= x.offset && i < x.offset + x.length)
      .sort((a, b) => a.length - b.length)[0];
    const layer = this.layers.find((l) => i >= l.offset && i < l.offset + l.length);
    const key = hit?.key ?? layer?.key;
    if (key) this.selectField(key);
  }

  private highlight(): void {
    const item = this.items().find((x) => x.key === this.selectedKey) ?? this.layers.map((l) => ({ ...l, layerKey: l.key, depth: 0 as const })).find((l) => this.selectedKey?.startsWith(l.key + '.'));
    const layer = this.layers.find((l) => l.key === item?.layerKey);
    const inField = (i: number) => item !== undefined && i >= item.offset && i < item.offset + item.length;
    const inLayer = (i: number) => layer !== undefined && i >= layer.offset && i < layer.offset + layer.length;
    d3.select(this.hex)
      .selectAll<HTMLSpanElement, { i: number }>('span.b, span.a')
      .classed('hl-field', (d) => inField(d.i))
      .classed('hl-layer', (d) => !inField(d.i) && inLayer(d.i));
    this.hex.querySelector('.hl-field')?.scrollIntoView({ block: 'nearest' });
  }

  /**
   * The hop waterfall, as DevTools draws a request's timing: one row per hop with its layer and how
   * its time was obtained, a bar on the packet's own linear time axis (where the hop starts and how
   * long it lasts), its start offset and duration, and the duration again on a shared log scale
   * (10 ns – 10 ms) so that a 100 ns hop and a 2 ms one can both be read. A hop's duration is what
   * its layer cost (the trace's durationNs); a gap between one hop's end and the next one's start is
   * a wait, drawn as a dotted line.
   */
  private renderWaterfall(): void {
    const row = this.row;
    const host = d3.select(this.waterfall);
    host.selectAll('*').remove();
    if (!row) return;
    const hops = row.hops;
    const first = hops[0]?.offsetNs ?? 0;
    const end = hops.length ? hops[hops.length - 1].offsetNs + hops[hops.length - 1].durationNs : 0;
    // From reaching the first layer to leaving the last: the engine's per-path latency.
    const total = end - first;
    const width = Math.max(560, this.waterfall.clientWidth - 4);
    const rowH = 19;
    const top = 34;
    const cols = { layer: 6, kind: 112, bar: 182, barEnd: width - 356, start: width - 346, dur: width - 262, log: width - 186, logEnd: width - 24 };
    const height = top + hops.length * rowH + 22;
    const x = d3.scaleLinear().domain([0, Math.max(1, total)]).range([cols.bar, cols.barEnd]);
    const lx = d3.scaleLog().domain(LATENCY_DOMAIN as [number, number]).range([cols.log, cols.logEnd]).clamp(true);
    const svg = host.append('svg').attr('width', width).attr('height', height).attr('role', 'img').attr('aria-label', 'Hop waterfall').attr('id', 'waterfall-svg');
    svg.append('defs').append('pattern').attr('id', 'hatch').attr('width', 5).attr('height', 5).attr('patternUnits', 'userSpaceOnUse').attr('patternTransform', 'rotate(45)')
      .append('line').attr('class', 'hatch-line').attr('x1', 0).attr('y1', 0).attr('x2', 0).attr('y2', 5);
    const drop = hops.find((h) => h.verdict === 'drop');
    svg.append('text').attr('class', 'waterfall-title').attr('id', 'waterfall-title').attr('x', cols.layer).attr('y', 12)
      .text(`${hops.length} hops · ${formatNs(total)} from ${hops[0]?.layer ?? '—'} to ${hops[hops.length - 1]?.layer ?? '—'}` +
        (drop ? ` · dropped at ${drop.layer}: ${drop.reason ?? 'unknown'}` : '') + (total === 0 && hops.length > 1 ? ' · no time measured (trace level off, or a version 1 sim trace)' : ''));
    const headY = top - 6;
    for (const [at, text, anchor] of [[cols.layer, 'Layer', 'start'], [cols.kind, 'Timing', 'start'], [cols.bar, 'Waterfall (linear)', 'start'],
      [cols.dur - 8, 'Start', 'end'], [cols.log - 8, 'Duration', 'end'], [cols.log, 'Duration, log scale', 'start']] as const) {
      svg.append('text').attr('class', 'waterfall-head').attr('x', at).attr('y', headY).attr('text-anchor', anchor).text(text);
    }
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${top + hops.length * rowH + 2})`)
      .call(d3.axisBottom(x).ticks(Math.max(2, Math.floor((cols.barEnd - cols.bar) / 90))).tickFormat((v) => tickNs(Number(v))).tickSizeOuter(0));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${top + hops.length * rowH + 2})`)
      .call(d3.axisBottom(lx).tickValues(decades(LATENCY_DOMAIN)).tickFormat((v, i) => (i % 2 === 0 ? tickNs(Number(v)) : '')).tickSizeOuter(0));
    // What each layer cost the packet; the NIC's receive, the application and the wire are instants.
    const dur = (i: number) => hops[i].durationNs;
    const instant = (i: number) => hops[i].durationNs === 0 && INSTANT_LAYERS.has(hops[i].layer);
    const waitBefore = (i: number) => (i > 0 ? hops[i].offsetNs - (hops[i - 1].offsetNs + hops[i - 1].durationNs) : 0);
    const g = svg.selectAll<SVGGElement, (typeof hops)[number]>('g.hop')
      .data(hops, (d, i) => `${i}:${d.layer}`)
      .join('g')
      .attr('class', (d) => `hop kind-${d.kind} verdict-${d.verdict}`)
      .attr('data-layer', (d) => d.layer)
      .attr('transform', (_d, i) => `translate(0,${top + i * rowH})`);
    g.append('rect').attr('class', 'hop-stripe').attr('x', 0).attr('y', 0).attr('width', width).attr('height', rowH);
    g.append('text').attr('class', 'hop-layer').attr('x', cols.layer).attr('y', rowH / 2 + 4).text((d) => d.layer);
    g.append('text').attr('class', 'hop-kind').attr('x', cols.kind).attr('y', rowH / 2 + 4).text((d) => d.kind);
    g.append('rect')
      .attr('class', 'hop-bar')
      .attr('x', (d) => x(d.offsetNs - first))
      .attr('y', 4)
      .attr('height', rowH - 8)
      .attr('width', (d, i) => Math.max(2, x(d.offsetNs - first + dur(i)) - x(d.offsetNs - first)));
    g.append('text').attr('class', 'hop-value').attr('x', cols.dur - 8).attr('y', rowH / 2 + 4).attr('text-anchor', 'end')
      .text((d) => `+${formatNs(d.offsetNs - first)}`);
    g.append('text').attr('class', 'hop-value hop-duration').attr('x', cols.log - 8).attr('y', rowH / 2 + 4).attr('text-anchor', 'end')
      .text((d, i) => (d.verdict === 'drop' ? `✕ ${d.reason ?? 'drop'}` : instant(i) ? 'instant' : formatNs(dur(i))));
    g.filter((d) => d.durationNs > 0).append('rect').attr('class', 'hop-bar hop-logbar')
      .attr('x', cols.log).attr('y', 5).attr('height', rowH - 10)
      .attr('width', (d) => Math.max(2, lx(d.durationNs) - cols.log));
    // A gap before a hop is a wait (for ARP, for the kernel to wake the application), not a layer's work.
    // (Inside a filtered selection the index is the filtered one: the hop's own index comes from the data.)
    g.filter((_d, i) => waitBefore(i) > 0).append('line').attr('class', 'hop-wait')
      .attr('x1', (d) => x(d.offsetNs - waitBefore(hops.indexOf(d)) - first)).attr('x2', (d) => x(d.offsetNs - first))
      .attr('y1', rowH / 2).attr('y2', rowH / 2);
    g.append('title').text((d, i) => `${d.layer}: ${d.kind} hop, ${d.verdict}${d.reason ? ` (${d.reason})` : ''}, starts at +${formatNs(d.offsetNs - first)}` +
      (instant(i) ? ', an instant' : `, its layer took ${formatNs(dur(i))}`) + (waitBefore(i) > 0 ? `, after a wait of ${formatNs(waitBefore(i))}` : ''));
  }
}
