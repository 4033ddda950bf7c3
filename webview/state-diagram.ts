// webview/state-diagram: the RFC 9293 TCP state diagram (§3.3.2, figure 5) in SVG — the states laid
// out as the figure has them, its transitions with their event / action labels, the current state
// lit and the transitions a connection has taken so far marked with their step numbers. A
// transition the figure does not draw (a reset, a timeout) is added as a dashed edge.
import * as d3 from 'd3';
import { TCP_STATE_NAMES, type TcpStateName, type TransitionRecord } from '../engine/trace/schema';

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

export class StateDiagram {
  readonly element: SVGSVGElement;
  private readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;

  constructor(parent: HTMLElement) {
    this.svg = d3.select(parent).append('svg').attr('class', 'state-diagram').attr('id', 'state-diagram')
      .attr('viewBox', '0 0 600 520').attr('preserveAspectRatio', 'xMidYMid meet').attr('role', 'img').attr('aria-label', 'RFC 9293 TCP state diagram');
    this.element = this.svg.node()!;
    const defs = this.svg.append('defs');
    for (const k of ['plain', 'visited', 'current']) {
      defs.append('marker').attr('id', `arrow-${k}`).attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
        .attr('markerWidth', 7).attr('markerHeight', 7).attr('orient', 'auto-start-reverse')
        .append('path').attr('class', `arrowhead arrowhead-${k}`).attr('d', 'M0,0 L10,5 L0,10 z');
    }
    this.svg.append('g').attr('class', 'edges');
    this.svg.append('g').attr('class', 'nodes');
  }

  /** Draws the connection's transitions `ts` as of `step` (0: before the first one). */
  render(ts: readonly TransitionRecord[], step: number): void {
    const current: TcpStateName | undefined = ts.length === 0 ? undefined : step === 0 ? ts[0].from : ts[step - 1].to;
    const taken = new Map<string, number[]>();
    ts.slice(0, step).forEach((t, i) => {
      const k = `${t.from}>${t.to}`;
      taken.set(k, [...(taken.get(k) ?? []), i + 1]);
    });
    const last = step > 0 ? `${ts[step - 1].from}>${ts[step - 1].to}` : undefined;
    const visitedStates = new Set<TcpStateName>(ts.slice(0, step).flatMap((t) => [t.from, t.to]));
    if (ts.length) visitedStates.add(ts[0].from);
    const edges: Edge[] = RFC_EDGES.map(([from, to, label]) => ({ key: `${from}>${to}`, from, to, label, rfc: true }));
    for (const t of ts) {
      const key = `${t.from}>${t.to}`;
      if (!edges.some((e) => e.key === key)) edges.push({ key, from: t.from, to: t.to, label: t.event, rfc: false });
    }
    const edgeClass = (e: Edge) => `edge${e.key === last ? ' current' : taken.has(e.key) ? ' visited' : ''}${e.rfc ? '' : ' extra'}`;
    const marker = (e: Edge) => `url(#arrow-${e.key === last ? 'current' : taken.has(e.key) ? 'visited' : 'plain'})`;
    this.svg.select('g.edges')
      .selectAll<SVGGElement, Edge>('g.edge')
      .data(edges, (d) => d.key)
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
          const steps = taken.get(d.key);
          d3.select(this)
            .attr('x', p.x + (leftOfLine ? -4 : 4))
            .attr('y', p.y - 3)
            .attr('text-anchor', leftOfLine ? 'end' : 'start')
            .text(steps ? `${steps.join(',')}. ${d.label}` : d.label);
        });
      });
    this.svg.select('g.nodes')
      .selectAll<SVGGElement, TcpStateName>('g.node')
      .data(TCP_STATE_NAMES as readonly TcpStateName[], (d) => d)
      .join((enter) => {
        const g = enter.append('g').attr('transform', (d) => `translate(${NODES[d][0]},${NODES[d][1]})`);
        g.append('rect').attr('x', -NODE_W / 2).attr('y', -NODE_H / 2).attr('width', NODE_W).attr('height', NODE_H).attr('rx', 5);
        g.append('text').attr('text-anchor', 'middle').attr('dy', '0.35em').text((d) => d);
        return g;
      })
      .attr('data-state', (d) => d)
      .attr('class', (d) => `node${d === current ? ' current' : visitedStates.has(d) ? ' visited' : ''}`);
  }
}
