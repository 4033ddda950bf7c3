// webview/ladder: a connection's packets as a sequence (ladder) diagram, as Wireshark's flow graph
// draws one — time on the left, one vertical line per endpoint, an arrow per segment labelled with
// its flags and relative seq/ack/len/win, and a comment column that says what a packet caused (a
// state transition), that it was a retransmission, or where and why it was dropped. Only the rows in
// view are drawn (a connection can have hundreds of thousands of segments).
import * as d3 from 'd3';
import type { ConnectionInfo, TransitionRecord } from '../engine/trace/schema';
import { formatTime } from './packet-list';
import type { PacketRow } from './store';

const ROW_H = 24;
const OVERSCAN = 10;
const TIME_W = 96;
/** The comment column, and the room left for the right host's label before it. */
const COMMENT_W = 250;
const LABEL_HALF = 64;

export class Ladder {
  readonly element: HTMLElement;
  private readonly header: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private pkts: readonly PacketRow[] = [];
  /** The transitions each packet caused (a FIN that acknowledges ours causes two). */
  private causing = new Map<number, TransitionRecord[]>();
  private current: number | undefined;
  private isn = new Map<number, number>();
  private frame = 0;

  constructor(parent: HTMLElement, private readonly onPacket: (id: number) => void) {
    this.element = document.createElement('div');
    this.element.className = 'ladder';
    this.element.id = 'ladder';
    this.header = d3.select(this.element).append('svg').attr('class', 'ladder-head');
    this.scroller = document.createElement('div');
    this.scroller.className = 'ladder-scroll';
    this.spacer = document.createElement('div');
    this.spacer.className = 'ladder-spacer';
    this.scroller.append(this.spacer);
    this.element.append(this.scroller);
    this.svg = d3.select(this.spacer).append('svg').attr('class', 'ladder-svg').attr('role', 'img').attr('aria-label', 'Ladder diagram');
    this.svg.append('defs').append('marker').attr('id', 'ladder-arrow').attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
      .attr('markerWidth', 6).attr('markerHeight', 6).attr('orient', 'auto')
      .append('path').attr('class', 'arrowhead').attr('d', 'M0,0 L10,5 L0,10 z');
    this.svg.append('g').attr('class', 'ends');
    this.svg.append('g').attr('class', 'msgs');
    parent.append(this.element);
    this.scroller.addEventListener('scroll', () => this.schedule());
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
  }

  /** Shows a connection's packets; `current` is the packet of the step shown, kept in view. */
  show(pkts: readonly PacketRow[], info: ConnectionInfo | undefined, transitions: readonly TransitionRecord[], current: number | undefined): void {
    this.pkts = pkts;
    this.causing = new Map();
    for (const t of transitions) if (t.packetId) this.causing.set(t.packetId, [...(this.causing.get(t.packetId) ?? []), t]);
    this.current = current;
    this.isn = isnOf(pkts);
    this.spacer.style.height = `${pkts.length * ROW_H + 8}px`;
    this.drawHeader(info);
    if (current !== undefined) this.reveal(current);
    this.render();
  }

  private reveal(id: number): void {
    const i = this.pkts.findIndex((p) => p.id === id);
    if (i < 0) return;
    const s = this.scroller;
    const y = i * ROW_H;
    if (y < s.scrollTop + ROW_H || y > s.scrollTop + s.clientHeight - 2 * ROW_H) s.scrollTop = Math.max(0, y - s.clientHeight / 2);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Where the two endpoint lines go: the comment column gives up room first when the panel is narrow. */
  private geometry(): { width: number; lx: number; rx: number } {
    const width = Math.max(460, this.scroller.clientWidth - 4);
    const lx = TIME_W + LABEL_HALF - 10;
    const comment = Math.max(120, Math.min(COMMENT_W, width * 0.3));
    return { width, lx, rx: Math.max(lx + 240, width - comment - LABEL_HALF) };
  }

  private drawHeader(info: ConnectionInfo | undefined): void {
    const { width, lx, rx } = this.geometry();
    this.header.attr('width', width).attr('height', 40);
    const ends = [
      { key: 'l', x: lx, label: info ? `${info.localAddress}:${info.localPort}` : 'this host', sub: info ? `${info.stack} stack, ${info.open} open` : '' },
      { key: 'r', x: rx, label: info ? `${info.remoteAddress}:${info.remotePort}` : 'peer', sub: 'peer' },
      { key: 't', x: 4, label: 'Time (s)', sub: '' },
      { key: 'c', x: rx + LABEL_HALF, label: 'Comment', sub: '' },
    ];
    this.header.selectAll<SVGGElement, (typeof ends)[number]>('g.end-head').data(ends, (d) => d.key)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'end-head');
        g.append('text').attr('class', 'end-label');
        g.append('text').attr('class', 'end-sub');
        return g;
      })
      .call((g) => {
        const anchor = (d: (typeof ends)[number]) => (d.key === 'l' || d.key === 'r' ? 'middle' : 'start');
        g.select('.end-label').attr('x', (d) => d.x).attr('y', 15).attr('text-anchor', anchor).text((d) => d.label);
        g.select('.end-sub').attr('x', (d) => d.x).attr('y', 30).attr('text-anchor', anchor).text((d) => d.sub);
      });
  }

  private render(): void {
    const { width, lx, rx } = this.geometry();
    const s = this.scroller;
    const first = Math.max(0, Math.floor(s.scrollTop / ROW_H) - OVERSCAN);
    const last = Math.min(this.pkts.length, Math.ceil((s.scrollTop + s.clientHeight) / ROW_H) + OVERSCAN);
    const top = first * ROW_H;
    const height = Math.max(ROW_H, (last - first) * ROW_H + 8);
    this.svg.attr('width', width).attr('height', height).style('transform', `translateY(${top}px)`);
    this.svg.select('g.ends').selectAll<SVGLineElement, number>('line').data([lx, rx]).join('line')
      .attr('x1', (d) => d).attr('x2', (d) => d).attr('y1', 0).attr('y2', height);
    const rows = this.pkts.slice(first, last).map((p, k) => ({ p, y: k * ROW_H + 8 }));
    const isn = this.isn;
    const causing = this.causing;
    const current = this.current;
    this.svg.select('g.msgs').selectAll<SVGGElement, (typeof rows)[number]>('g.msg')
      .data(rows, (d) => String(d.p.id))
      .join((enter) => {
        const g = enter.append('g');
        g.append('rect').attr('class', 'msg-hit');
        g.append('line').attr('class', 'msg-line');
        g.append('text').attr('class', 'msg-label');
        g.append('text').attr('class', 'msg-time');
        g.append('text').attr('class', 'msg-mark');
        g.append('text').attr('class', 'msg-comment');
        g.append('title');
        return g;
      })
      .attr('class', (d) => `msg${d.p.retransmission ? ' retrans' : ''}${d.p.drop ? ' dropped' : ''}${d.p.id === current ? ' current' : ''}${causing.has(d.p.id) ? ' causing' : ''}`)
      .attr('data-id', (d) => d.p.id)
      .on('click', (_e, d) => this.onPacket(d.p.id))
      .each(function (d) {
        const g = d3.select(this);
        const p = d.p;
        const fromX = p.direction === 'tx' ? lx : rx;
        const toX = p.direction === 'tx' ? rx : lx;
        // A drop on the wire ends the arrow midway; a drop in a stack ends it just short of that host.
        const endX = p.drop ? (p.drop.layer === 'wire' ? (fromX + toX) / 2 : toX + (fromX - toX) * 0.06) : toX;
        const y0 = d.y + 4, y1 = d.y + ROW_H - 8;
        const endY = y0 + (y1 - y0) * Math.abs((endX - fromX) / (toX - fromX));
        g.select('.msg-hit').attr('x', 0).attr('y', d.y - 8).attr('width', width).attr('height', ROW_H);
        g.select('.msg-line').attr('x1', fromX).attr('y1', y0).attr('x2', endX).attr('y2', endY)
          .attr('marker-end', p.drop ? null : 'url(#ladder-arrow)');
        g.select('.msg-label').attr('x', (lx + rx) / 2).attr('y', y0 - 1).attr('text-anchor', 'middle').text(segmentLabel(p, isn));
        g.select('.msg-time').attr('x', 4).attr('y', y0 + 6).text(formatTime(p.timeNs));
        g.select('.msg-mark').attr('x', endX).attr('y', endY + 4).attr('text-anchor', 'middle').text(p.drop ? '✕' : '');
        const tr = causing.get(p.id);
        const comment = [
          tr ? [tr[0].from, ...tr.map((t) => t.to)].join(' → ') : '',
          p.retransmission ? '↻ retransmission' : '',
          p.drop ? `✕ dropped at ${p.drop.layer}: ${p.drop.reason ?? 'unknown'}` : '',
        ].filter(Boolean).join(' · ');
        g.select('.msg-comment').attr('x', rx + LABEL_HALF).attr('y', y0 + 6).text(comment);
        g.select('title').text(`packet ${p.id}: ${p.info}${tr ? tr.map((t) => `\n${t.from} → ${t.to} on “${t.event}”`).join('') : ''}`);
      });
  }
}

/** The initial sequence number of each side (by source port), for relative numbers as Wireshark and tcpdump print them. */
function isnOf(pkts: readonly PacketRow[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of pkts) if (p.tcp && p.tcp.flags & 0x02 && !m.has(p.tcp.srcPort)) m.set(p.tcp.srcPort, p.tcp.seq);
  return m;
}

function segmentLabel(p: PacketRow, isn: Map<number, number>): string {
  const t = p.tcp;
  if (!t) return p.info;
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => t.flags & (1 << i));
  const mine = isn.get(t.srcPort);
  const theirs = [...isn.entries()].find(([port]) => port !== t.srcPort)?.[1];
  const seq = mine === undefined ? t.seq : (t.seq - mine) >>> 0;
  const ack = theirs === undefined ? t.ack : (t.ack - theirs) >>> 0;
  let s = `${p.retransmission ? '↻ ' : ''}${names.join(', ')} Seq=${seq}`;
  if (t.flags & 0x10) s += ` Ack=${ack}`;
  s += ` Win=${t.window} Len=${t.len}`;
  return s;
}
