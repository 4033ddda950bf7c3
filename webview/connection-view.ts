// webview/connection-view: one TCP connection — the RFC 9293 state diagram (§3.3.2, figure 5) in SVG
// with the current state lit and the transitions taken so far marked, a stepper through the
// connection's transitions (buttons and ←/→), and a ladder diagram of its packets.
import * as d3 from 'd3';
import { TCP_STATE_NAMES, type ConnectionInfo, type TcpStateName, type TransitionRecord } from '../engine/trace/schema';
import { button, setDisabled } from './controls';
import { formatNs } from './inspector';
import { formatTime } from './packet-list';
import type { PacketRow, TraceStore } from './store';

/** Node centres, laid out as RFC 9293's figure 5. */
const NODES: Readonly<Record<TcpStateName, readonly [number, number]>> = {
  CLOSED: [300, 28],
  LISTEN: [300, 100],
  'SYN-RECEIVED': [110, 176],
  'SYN-SENT': [490, 176],
  ESTABLISHED: [300, 252],
  'FIN-WAIT-1': [110, 330],
  'CLOSE-WAIT': [490, 330],
  'FIN-WAIT-2': [110, 420],
  CLOSING: [300, 400],
  'LAST-ACK': [490, 420],
  'TIME-WAIT': [300, 490],
};
const NODE_W = 112;
const NODE_H = 26;

/** The figure's transitions and their labels (event / action). */
const RFC_EDGES: readonly (readonly [TcpStateName, TcpStateName, string])[] = [
  ['CLOSED', 'LISTEN', 'passive OPEN'],
  ['CLOSED', 'SYN-SENT', 'active OPEN / snd SYN'],
  ['LISTEN', 'SYN-RECEIVED', 'rcv SYN / snd SYN,ACK'],
  ['LISTEN', 'SYN-SENT', 'SEND / snd SYN'],
  ['LISTEN', 'CLOSED', 'CLOSE'],
  ['SYN-SENT', 'SYN-RECEIVED', 'rcv SYN / snd ACK'],
  ['SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK / snd ACK'],
  ['SYN-SENT', 'CLOSED', 'CLOSE'],
  ['SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK of SYN'],
  ['SYN-RECEIVED', 'FIN-WAIT-1', 'CLOSE / snd FIN'],
  ['SYN-RECEIVED', 'LISTEN', 'rcv RST'],
  ['ESTABLISHED', 'FIN-WAIT-1', 'CLOSE / snd FIN'],
  ['ESTABLISHED', 'CLOSE-WAIT', 'rcv FIN / snd ACK'],
  ['FIN-WAIT-1', 'FIN-WAIT-2', 'rcv ACK of FIN'],
  ['FIN-WAIT-1', 'CLOSING', 'rcv FIN / snd ACK'],
  ['FIN-WAIT-2', 'TIME-WAIT', 'rcv FIN / snd ACK'],
  ['CLOSING', 'TIME-WAIT', 'rcv ACK of FIN'],
  ['CLOSE-WAIT', 'LAST-ACK', 'CLOSE / snd FIN'],
  ['LAST-ACK', 'CLOSED', 'rcv ACK of FIN'],
  ['TIME-WAIT', 'CLOSED', 'timeout 2MSL'],
];

interface Edge {
  readonly key: string;
  readonly from: TcpStateName;
  readonly to: TcpStateName;
  readonly label: string;
  readonly rfc: boolean;
}

/** The path of an edge: a gentle curve between the node boxes; the long returns to CLOSED go round the side. */
function edgePath(e: Edge): string {
  const [x1, y1] = NODES[e.from];
  const [x2, y2] = NODES[e.to];
  if (e.to === 'CLOSED' && (e.from === 'LAST-ACK' || e.from === 'TIME-WAIT' || e.from === 'CLOSE-WAIT' || e.from === 'ESTABLISHED')) {
    const side = e.from === 'TIME-WAIT' ? -1 : 1;
    const xOut = side > 0 ? 590 : 12;
    const sx = x1 + (side * NODE_W) / 2;
    const yStart = e.from === 'TIME-WAIT' ? y1 : y1;
    return `M${e.from === 'TIME-WAIT' ? x1 - NODE_W / 2 : sx},${yStart} C${xOut},${yStart} ${xOut},${y2} ${x2 + (side * NODE_W) / 2},${y2}`;
  }
  const dx = x2 - x1, dy = y2 - y1;
  // Trim both ends to the boxes' borders.
  const trim = (x: number, y: number, tx: number, ty: number): [number, number] => {
    const sx = Math.abs(tx - x) / (NODE_W / 2), sy = Math.abs(ty - y) / (NODE_H / 2);
    const s = Math.max(sx, sy) || 1;
    return [x + (tx - x) / s, y + (ty - y) / s];
  };
  const [ax, ay] = trim(x1, y1, x2, y2);
  const [bx, by] = trim(x2, y2, x1, y1);
  // Edges that go back up bow to one side, so that a pair of opposite edges does not lie on one line.
  const bend = e.from === 'SYN-SENT' && e.to === 'SYN-RECEIVED' ? 24 : e.from === 'LISTEN' && e.to === 'SYN-SENT' ? -10 : y2 < y1 ? 30 : 0;
  const mx = (ax + bx) / 2 - (dy / Math.hypot(dx, dy)) * bend, my = (ay + by) / 2 + (dx / Math.hypot(dx, dy)) * bend;
  return `M${ax},${ay} Q${mx},${my} ${bx},${by}`;
}

export interface ConnectionViewState {
  connId: number | undefined;
  step: number;
}

export class ConnectionView {
  readonly element: HTMLElement;
  private readonly picker: HTMLElement;
  private readonly diagram: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly stepInfo: HTMLElement;
  private readonly ladderBox: HTMLElement;
  private readonly buttons: { first: HTMLElement; back: HTMLElement; fwd: HTMLElement; last: HTMLElement };
  private readonly counter: HTMLElement;
  connId: number | undefined;
  /** 0: before the first transition; k: after transition k. */
  step = 0;

  constructor(
    parent: HTMLElement,
    private readonly store: TraceStore,
    private readonly onPacket: (id: number) => void,
    private readonly onChange: () => void,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'connection-view';
    this.element.id = 'connection-view';
    this.element.tabIndex = 0;
    this.element.setAttribute('aria-label', 'TCP connection: ← and → step through its transitions');
    this.picker = document.createElement('div');
    this.picker.className = 'conn-picker';
    this.picker.setAttribute('role', 'listbox');
    this.picker.setAttribute('aria-label', 'Connections');
    const left = document.createElement('div');
    left.className = 'conn-left';
    const controls = document.createElement('div');
    controls.className = 'step-controls';
    this.buttons = {
      first: button(controls, '« First', { id: 'step-first', title: 'First state (Home)', onClick: () => this.go(0) }),
      back: button(controls, '◀ Back', { id: 'step-back', title: 'Step back (←)', onClick: () => this.stepBy(-1) }),
      fwd: button(controls, 'Forward ▶', { id: 'step-forward', title: 'Step forward (→)', appearance: 'primary', onClick: () => this.stepBy(1) }),
      last: button(controls, 'Last »', { id: 'step-last', title: 'Last state (End)', onClick: () => this.go(Infinity) }),
    };
    this.counter = document.createElement('span');
    this.counter.className = 'step-counter';
    this.counter.id = 'step-counter';
    controls.append(this.counter);
    this.diagram = d3.select(left).append('svg').attr('class', 'state-diagram').attr('id', 'state-diagram')
      .attr('viewBox', '0 0 600 520').attr('role', 'img').attr('aria-label', 'RFC 9293 TCP state diagram');
    this.stepInfo = document.createElement('div');
    this.stepInfo.className = 'step-info';
    this.stepInfo.id = 'step-info';
    this.stepInfo.setAttribute('aria-live', 'polite');
    left.prepend(controls);
    left.append(this.stepInfo);
    this.ladderBox = document.createElement('div');
    this.ladderBox.className = 'ladder';
    this.ladderBox.id = 'ladder';
    this.element.append(this.picker, left, this.ladderBox);
    parent.append(this.element);
    this.element.addEventListener('keydown', (e) => {
      const k: Record<string, () => void> = {
        ArrowLeft: () => this.stepBy(-1),
        ArrowRight: () => this.stepBy(1),
        Home: () => this.go(0),
        End: () => this.go(Infinity),
        ArrowUp: () => this.pickBy(-1),
        ArrowDown: () => this.pickBy(1),
      };
      const f = k[e.key];
      if (f && !(e.target instanceof HTMLElement && e.target.closest('vscode-text-field'))) {
        e.preventDefault();
        f();
      }
    });
    this.drawDiagramFrame();
  }

  focus(): void {
    this.element.focus();
  }

  private transitions(): readonly TransitionRecord[] {
    return this.connId === undefined ? [] : this.store.transitionsOf(this.connId);
  }

  pick(connId: number | undefined, step = 0): void {
    this.connId = connId;
    this.step = step;
    this.render();
    this.onChange();
  }

  private pickBy(d: number): void {
    const ids = this.store.connectionIds();
    if (ids.length === 0) return;
    const i = this.connId === undefined ? -1 : ids.indexOf(this.connId);
    this.pick(ids[Math.max(0, Math.min(ids.length - 1, i + d))]);
  }

  stepBy(d: number): void {
    this.go(this.step + d);
  }

  go(step: number): void {
    const n = this.transitions().length;
    const next = Math.max(0, Math.min(n, step));
    if (next === this.step && step !== 0) {
      this.render();
      return;
    }
    this.step = next;
    this.render();
    const t = this.transitions()[this.step - 1];
    if (t && t.packetId) this.onPacket(t.packetId);
    this.onChange();
  }

  /** New data: keep the view, pick the first connection when none is. */
  refresh(): void {
    if (this.connId === undefined) {
      const ids = this.store.connectionIds();
      if (ids.length) this.connId = ids[0];
    }
    this.render();
  }

  render(): void {
    this.renderPicker();
    const ts = this.transitions();
    this.step = Math.min(this.step, ts.length);
    const current: TcpStateName | undefined = ts.length === 0 ? undefined : this.step === 0 ? ts[0].from : ts[this.step - 1].to;
    setDisabled(this.buttons.first, this.step === 0);
    setDisabled(this.buttons.back, this.step === 0);
    setDisabled(this.buttons.fwd, this.step >= ts.length);
    setDisabled(this.buttons.last, this.step >= ts.length);
    this.counter.textContent = ts.length ? `step ${this.step} of ${ts.length}` : 'no transitions';
    this.renderDiagram(ts, current);
    this.renderStepInfo(ts, current);
    this.renderLadder(ts);
  }

  private renderPicker(): void {
    const ids = this.store.connectionIds();
    const info = (id: number) => this.store.connections.get(id);
    d3.select(this.picker)
      .selectAll<HTMLDivElement, number>('div.conn')
      .data(ids, (d) => String(d))
      .join((enter) => enter.append('div').attr('role', 'option'))
      .attr('class', (d) => `conn${d === this.connId ? ' selected' : ''} stack-${info(d)?.stack ?? this.store.transitionsOf(d)[0]?.stack ?? 'bypass'}`)
      .attr('aria-selected', (d) => String(d === this.connId))
      .attr('data-conn', (d) => d)
      .text((d) => connLabel(d, info(d), this.store.transitionsOf(d)))
      .on('click', (_e, d) => {
        this.pick(d);
        this.element.focus();
      });
  }

  private edges(ts: readonly TransitionRecord[]): Edge[] {
    const edges: Edge[] = RFC_EDGES.map(([from, to, label]) => ({ key: `${from}>${to}`, from, to, label, rfc: true }));
    for (const t of ts) {
      const key = `${t.from}>${t.to}`;
      if (!edges.some((e) => e.key === key)) edges.push({ key, from: t.from, to: t.to, label: t.event, rfc: false });
    }
    return edges;
  }

  private drawDiagramFrame(): void {
    const defs = this.diagram.append('defs');
    for (const k of ['plain', 'visited', 'current']) {
      defs.append('marker').attr('id', `arrow-${k}`).attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
        .attr('markerWidth', 7).attr('markerHeight', 7).attr('orient', 'auto-start-reverse')
        .append('path').attr('class', `arrowhead arrowhead-${k}`).attr('d', 'M0,0 L10,5 L0,10 z');
    }
    this.diagram.append('g').attr('class', 'edges');
    this.diagram.append('g').attr('class', 'nodes');
  }

  private renderDiagram(ts: readonly TransitionRecord[], current: TcpStateName | undefined): void {
    const taken = new Map<string, number>();
    ts.slice(0, this.step).forEach((t, i) => taken.set(`${t.from}>${t.to}`, i + 1));
    const last = this.step > 0 ? `${ts[this.step - 1].from}>${ts[this.step - 1].to}` : undefined;
    const visitedStates = new Set<TcpStateName>(ts.slice(0, this.step).flatMap((t) => [t.from, t.to]));
    if (ts.length) visitedStates.add(ts[0].from);
    const t = d3.transition().duration(180);
    const edgeClass = (e: Edge) => `edge${e.key === last ? ' current' : taken.has(e.key) ? ' visited' : ''}${e.rfc ? '' : ' extra'}`;
    const marker = (e: Edge) => `url(#arrow-${e.key === last ? 'current' : taken.has(e.key) ? 'visited' : 'plain'})`;
    this.diagram.select('g.edges')
      .selectAll<SVGGElement, Edge>('g.edge')
      .data(this.edges(ts), (d) => d.key)
      .join((enter) => {
        const g = enter.append('g');
        g.append('path').attr('d', edgePath);
        g.append('text').attr('class', 'edge-label');
        return g;
      })
      .attr('class', edgeClass)
      .attr('data-edge', (d) => d.key)
      .call((g) => {
        g.select('path').attr('marker-end', marker);
        g.select<SVGTextElement>('text').each(function (d) {
          const path = (this.parentNode as SVGGElement).querySelector('path') as SVGPathElement;
          const len = path.getTotalLength();
          // Where each label sits: beside its edge, clear of the others (a straight line down is labelled on its left).
          const at = d.from === 'LAST-ACK' && d.to === 'CLOSED' ? 0.3 : d.from === 'TIME-WAIT' && d.to === 'CLOSED' ? 0.8 : 0.5;
          const p = path.getPointAtLength(len * at);
          const [x1, y1] = NODES[d.from];
          const [x2, y2] = NODES[d.to];
          const leftOfLine = Math.abs(x2 - x1) < 10 && y2 > y1 && d.from !== 'CLOSING';
          d3.select(this)
            .attr('x', p.x + (leftOfLine ? -4 : 4))
            .attr('y', p.y - 3)
            .attr('text-anchor', leftOfLine ? 'end' : 'start')
            .text(taken.has(d.key) ? `${taken.get(d.key)}. ${d.label}` : d.label);
        });
      });
    this.diagram.select('g.nodes')
      .selectAll<SVGGElement, TcpStateName>('g.node')
      .data(TCP_STATE_NAMES as readonly TcpStateName[], (d) => d)
      .join((enter) => {
        const g = enter.append('g').attr('transform', (d) => `translate(${NODES[d][0]},${NODES[d][1]})`);
        g.append('rect').attr('x', -NODE_W / 2).attr('y', -NODE_H / 2).attr('width', NODE_W).attr('height', NODE_H).attr('rx', 5);
        g.append('text').attr('text-anchor', 'middle').attr('dy', '0.35em').text((d) => d);
        return g;
      })
      .attr('data-state', (d) => d)
      .attr('class', (d) => `node${d === current ? ' current' : visitedStates.has(d) ? ' visited' : ''}`)
      .select('rect')
      .transition(t as unknown as d3.Transition<d3.BaseType, unknown, null, undefined>)
      .attr('stroke-width', (d) => (d === current ? 3 : 1));
  }

  private renderStepInfo(ts: readonly TransitionRecord[], current: TcpStateName | undefined): void {
    const box = d3.select(this.stepInfo);
    box.selectAll('*').remove();
    if (this.connId === undefined || ts.length === 0) {
      box.append('p').text('No TCP transitions in this capture yet.');
      return;
    }
    const tr = this.step > 0 ? ts[this.step - 1] : undefined;
    const head = box.append('div').attr('class', 'step-head');
    head.append('span').attr('class', 'state-now').attr('id', 'current-state').text(current ?? '');
    if (!tr) {
      head.append('span').attr('class', 'step-event').text(' — before the first transition. Press → to step.');
      return;
    }
    head.append('span').attr('class', 'step-event').attr('id', 'step-event').text(`  ${tr.from} → ${tr.to} on “${tr.event}” at ${formatTime(tr.timeNs)} s`);
    const pkt = tr.packetId ? this.store.get(tr.packetId) : undefined;
    const cause = box.append('div').attr('class', 'step-cause');
    if (pkt) {
      cause.append('span').text('caused by ');
      cause.append('a').attr('href', '#').attr('id', 'cause-link').text(`packet ${pkt.id}`).on('click', (e: Event) => {
        e.preventDefault();
        this.onPacket(pkt.id);
      });
      cause.append('span').attr('class', 'cause-summary').text(`: ${pkt.info}`);
    } else cause.text(tr.packetId ? `caused by packet ${tr.packetId} (not held)` : 'caused by the application or a timer (no packet)');
    const v = tr.vars;
    const vars: [string, string][] = [
      ['SND.UNA', String(v.sndUna)], ['SND.NXT', String(v.sndNxt)], ['SND.WND', String(v.sndWnd)],
      ['RCV.NXT', String(v.rcvNxt)], ['RCV.WND', String(v.rcvWnd)], ['cwnd', String(v.cwnd)],
      ['ssthresh', v.ssthresh > 1e9 ? '∞' : String(v.ssthresh)], ['SRTT', v.srtt === undefined ? '—' : `${v.srtt.toFixed(3)} ms`],
      ['RTTVAR', v.rttvar === undefined ? '—' : `${v.rttvar.toFixed(3)} ms`], ['RTO', `${v.rto} ms`],
    ];
    box.append('dl').attr('class', 'vars').attr('id', 'step-vars')
      .selectAll('div').data(vars, (d) => (d as [string, string])[0]).join('div')
      .call((d) => {
        d.append('dt').text((x) => x[0]);
        d.append('dd').text((x) => x[1]);
      });
  }

  private renderLadder(ts: readonly TransitionRecord[]): void {
    const box = d3.select(this.ladderBox);
    const id = this.connId;
    const pkts = id === undefined ? [] : this.store.packetsOf(id);
    const info = id === undefined ? undefined : this.store.connections.get(id);
    const rowH = 22;
    const width = Math.max(360, this.ladderBox.clientWidth - 16 || 460);
    const top = 40;
    const lx = 70, rx = width - 70;
    const height = top + pkts.length * rowH + 20;
    let svg = box.select<SVGSVGElement>('svg');
    if (svg.empty()) {
      svg = box.append('svg').attr('class', 'ladder-svg');
      svg.append('g').attr('class', 'ends');
      svg.append('g').attr('class', 'msgs');
    }
    svg.attr('width', width).attr('height', height).attr('role', 'img').attr('aria-label', 'Ladder diagram');
    const isn = isnOf(pkts);
    const ends = [
      { key: 'l', x: lx, label: info ? `${info.localAddress}:${info.localPort}` : 'local', sub: info ? `${info.stack} (${info.open})` : '' },
      { key: 'r', x: rx, label: info ? `${info.remoteAddress}:${info.remotePort}` : 'remote', sub: 'peer' },
    ];
    svg.select('g.ends').selectAll<SVGGElement, (typeof ends)[number]>('g.end').data(ends, (d) => d.key)
      .join((enter) => {
        const g = enter.append('g').attr('class', 'end');
        g.append('line');
        g.append('text').attr('class', 'end-label');
        g.append('text').attr('class', 'end-sub');
        return g;
      })
      .call((g) => {
        g.select('line').attr('x1', (d) => d.x).attr('x2', (d) => d.x).attr('y1', top - 6).attr('y2', height);
        g.select('.end-label').attr('x', (d) => d.x).attr('y', 14).attr('text-anchor', 'middle').text((d) => d.label);
        g.select('.end-sub').attr('x', (d) => d.x).attr('y', 28).attr('text-anchor', 'middle').text((d) => d.sub);
      });
    const causing = new Map<number, TransitionRecord>();
    for (const t of ts) if (t.packetId) causing.set(t.packetId, t);
    const cur = this.step > 0 ? ts[this.step - 1]?.packetId : undefined;
    const y = (i: number) => top + i * rowH + 6;
    svg.select('g.msgs').selectAll<SVGGElement, PacketRow>('g.msg')
      .data(pkts, (d) => String(d.id))
      .join((enter) => {
        const g = enter.append('g');
        g.append('line').attr('class', 'msg-line');
        g.append('text').attr('class', 'msg-label');
        g.append('text').attr('class', 'msg-time');
        g.append('text').attr('class', 'msg-mark');
        return g;
      })
      .attr('class', (d) => `msg${d.retransmission ? ' retrans' : ''}${d.drop ? ' dropped' : ''}${d.id === cur ? ' current' : ''}${causing.has(d.id) ? ' causing' : ''}`)
      .attr('data-id', (d) => d.id)
      .on('click', (_e, d) => this.onPacket(d.id))
      .each(function (d, i) {
        const g = d3.select(this);
        const fromX = d.direction === 'tx' ? lx : rx;
        const toX = d.direction === 'tx' ? rx : lx;
        const endX = d.drop ? (d.drop.layer === 'wire' ? (fromX + toX) / 2 : toX + (fromX - toX) * 0.08) : toX;
        g.select('.msg-line').attr('x1', fromX).attr('y1', y(i)).attr('x2', endX).attr('y2', y(i) + rowH * 0.6)
          .attr('marker-end', d.drop ? null : 'url(#ladder-arrow)');
        g.select('.msg-label').attr('x', (lx + rx) / 2).attr('y', y(i) + 2).attr('text-anchor', 'middle').text(tcpLabel(d, isn));
        g.select('.msg-time').attr('x', 4).attr('y', y(i) + 8).text(formatTime(d.timeNs));
        g.select('.msg-mark').attr('x', endX + (d.drop ? 0 : 0)).attr('y', y(i) + rowH * 0.6 + 4).attr('text-anchor', 'middle')
          .text(d.drop ? `✕ ${d.drop.reason ?? 'drop'}` : d.retransmission ? '' : '');
        const tr = causing.get(d.id);
        g.select('title').remove();
        g.append('title').text(`packet ${d.id}${tr ? ` → ${tr.to} (${tr.event})` : ''}${d.retransmission ? ', retransmission' : ''}${d.drop ? `, dropped at ${d.drop.layer}: ${d.drop.reason}` : ''}`);
      });
    if (svg.select('defs').empty()) {
      svg.append('defs').append('marker').attr('id', 'ladder-arrow').attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
        .attr('markerWidth', 6).attr('markerHeight', 6).attr('orient', 'auto')
        .append('path').attr('class', 'arrowhead').attr('d', 'M0,0 L10,5 L0,10 z');
    }
    if (cur) {
      const i = pkts.findIndex((p) => p.id === cur);
      if (i >= 0) {
        const b = this.ladderBox;
        const yy = y(i);
        if (yy < b.scrollTop + 40 || yy > b.scrollTop + b.clientHeight - 40) b.scrollTop = Math.max(0, yy - b.clientHeight / 2);
      }
    }
  }
}

function connLabel(id: number, c: ConnectionInfo | undefined, ts: readonly TransitionRecord[]): string {
  const last = ts[ts.length - 1]?.to ?? '';
  if (!c) return `#${id} ${last}`;
  return `#${id} ${c.stack} :${c.localPort} ⇄ ${c.remoteAddress}:${c.remotePort} (${c.open}) ${last}`;
}

/** The initial sequence number of each side (by source port), for relative numbers as tcpdump prints them. */
function isnOf(pkts: readonly PacketRow[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of pkts) if (p.tcp && p.tcp.flags & 0x02 && !m.has(p.tcp.srcPort)) m.set(p.tcp.srcPort, p.tcp.seq);
  return m;
}

function tcpLabel(p: PacketRow, isn: Map<number, number>): string {
  const t = p.tcp;
  if (!t) return p.info;
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => t.flags & (1 << i));
  const mine = isn.get(t.srcPort);
  const theirs = [...isn.entries()].find(([port]) => port !== t.srcPort)?.[1];
  const seq = mine === undefined ? t.seq : (t.seq - mine) >>> 0;
  const ack = theirs === undefined ? t.ack : (t.ack - theirs) >>> 0;
  let s = `${p.retransmission ? '↻ ' : ''}${names.join(',')} seq ${seq}`;
  if (t.flags & 0x10) s += ` ack ${ack}`;
  if (t.len) s += ` len ${t.len}`;
  s += ` win ${t.window}`;
  return s;
}

export { formatNs };
