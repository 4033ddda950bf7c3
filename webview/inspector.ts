// webview/inspector: one packet in depth — the per-layer field tree (from the dissector, with byte
// ranges), the hop waterfall (each hop's offset and duration; measured, span and emulated hops drawn
// differently), and a hex dump that lights the bytes of the selected layer or field.
import * as d3 from 'd3';
import { dissect } from '../engine/wire/dissect';
import { PacketFlag } from '../engine/trace/schema';
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

export function formatNs(ns: number): string {
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(3)} s`;
}

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
      return;
    }
    const d = dissect(row.bytes);
    // A record that crossed a device with checksum offload carries partial TCP/UDP checksums: not errors.
    const offloaded = (row.flags & PacketFlag.OFFLOAD) !== 0;
    this.layers = fieldTree(d, row.bytes, offloaded);
    const problems = d.problems.filter((p) => !(offloaded && p.code === 'bad-checksum' && (p.layer === 'tcp' || p.layer === 'udp'))).map((p) => p.message);
    this.header.textContent =
      `Packet ${row.id} · ${formatTime(row.timeNs)} s · ${row.direction === 'rx' ? 'received' : 'sent'} · path ${row.path} · ` +
      `${row.wireLen} bytes on wire, ${row.bytes.length} captured` + (problems.length ? ` · ${problems.join('; ')}` : '');
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

  private renderWaterfall(): void {
    const row = this.row;
    const host = d3.select(this.waterfall);
    host.selectAll('*').remove();
    if (!row) return;
    const hops = row.hops;
    const last = hops.length ? hops[hops.length - 1].offsetNs : 0;
    // In the sim every stack runs at one virtual instant: all offsets are 0 and there is no time axis to draw.
    const instant = last === 0;
    const total = Math.max(1, last);
    const width = Math.max(320, this.waterfall.clientWidth || 480);
    const rowH = 18;
    const labelW = 104;
    const valueW = 170;
    const top = 16;
    const height = top + hops.length * rowH + (instant ? 6 : 24);
    const x = d3.scaleLinear().domain([0, total]).range([labelW, width - valueW]);
    const svg = host.append('svg').attr('width', width).attr('height', height).attr('role', 'img').attr('aria-label', 'Hop waterfall');
    const defs = svg.append('defs');
    defs.append('pattern').attr('id', 'hatch').attr('width', 5).attr('height', 5).attr('patternUnits', 'userSpaceOnUse').attr('patternTransform', 'rotate(45)')
      .append('line').attr('class', 'hatch-line').attr('x1', 0).attr('y1', 0).attr('x2', 0).attr('y2', 5);
    svg.append('text').attr('class', 'waterfall-title').attr('x', 4).attr('y', 11)
      .text(instant ? `${hops.length} hops, all at +0 ns (virtual time: the sim runs each stack at one instant)` : `${hops.length} hops over ${formatNs(last)}`);
    if (!instant) {
      svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${top + hops.length * rowH + 2})`)
        .call(d3.axisBottom(x).ticks(5).tickFormat((v) => formatNs(Number(v))));
    }
    const legend = svg.append('g').attr('class', 'legend').attr('transform', `translate(${width - 250},11)`);
    (['measured', 'span', 'emulated'] as const).forEach((k, i) => {
      const lg = legend.append('g').attr('class', `legend-item kind-${k}`).attr('transform', `translate(${i * 82},0)`);
      lg.append('rect').attr('class', 'hop-bar').attr('width', 10).attr('height', 8).attr('y', -8);
      lg.append('text').attr('class', 'legend-text').attr('x', 13).text(k);
    });
    const g = svg.selectAll<SVGGElement, (typeof hops)[number]>('g.hop')
      .data(hops, (d, i) => `${i}:${d.layer}`)
      .join('g')
      .attr('class', (d) => `hop kind-${d.kind} verdict-${d.verdict}`)
      .attr('transform', (_d, i) => `translate(0,${top + i * rowH})`);
    g.append('text').attr('class', 'hop-layer').attr('x', 4).attr('y', rowH / 2 + 4).text((d) => d.layer);
    const dur = (i: number) => (i + 1 < hops.length ? hops[i + 1].offsetNs - hops[i].offsetNs : 0);
    g.append('rect')
      .attr('class', 'hop-bar')
      .attr('x', (d) => x(d.offsetNs))
      .attr('y', 3)
      .attr('height', rowH - 6)
      .attr('width', (d, i) => Math.max(2, x(d.offsetNs + dur(i)) - x(d.offsetNs)));
    g.append('text')
      .attr('class', 'hop-value')
      .attr('x', width - valueW + 6)
      .attr('y', rowH / 2 + 4)
      .text((d, i) => {
        const v = d.verdict === 'drop' ? `✕ ${d.reason ?? 'drop'}` : `+${formatNs(d.offsetNs)}${dur(i) ? ` · ${formatNs(dur(i))}` : ''}`;
        return `${v} ${d.kind === 'measured' ? '' : `(${d.kind})`}`.trim();
      });
    g.append('title').text((d, i) => `${d.layer}: ${d.kind}, ${d.verdict}${d.reason ? ` (${d.reason})` : ''}, at +${formatNs(d.offsetNs)}, took ${formatNs(dur(i))}`);
  }
}
