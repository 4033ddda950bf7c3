// webview/state-diagram: the RFC 9293 TCP state diagram (§3.3.2, figure 5) in SVG — the states laid
// out as the figure has them, its transitions with their event / action labels, the current state
// lit and the transitions a connection has taken so far marked with their step numbers. A
// transition the figure does not draw (a reset, a timeout) is added as a dashed edge. Each label is
// placed beside its edge where it overlaps no state, no other label and as few edges as can be.
import * as d3 from 'd3';
import { TCP_STATE_NAMES, type TcpStateName, type TransitionRecord } from '../engine/trace/schema';

/** Node centres, laid out as RFC 9293's figure 5, in a VIEW_W × VIEW_H view box. */
const VIEW_W = 720;
const VIEW_H = 560;
const NODES: Readonly<Record<TcpStateName, readonly [number, number]>> = {
  CLOSED: [360, 26],
  LISTEN: [360, 108],
  'SYN-RECEIVED': [118, 194],
  'SYN-SENT': [602, 194],
  ESTABLISHED: [360, 280],
  'FIN-WAIT-1': [118, 366],
  'CLOSE-WAIT': [602, 366],
  'FIN-WAIT-2': [118, 452],
  CLOSING: [360, 440],
  'LAST-ACK': [602, 452],
  'TIME-WAIT': [360, 530],
};
const NODE_W = 124;
const NODE_H = 28;

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
    // Round the outside of the figure (TIME-WAIT on the left, the others on the right), clear of every state.
    const side = e.from === 'TIME-WAIT' ? -1 : 1;
    const xOut = side > 0 ? VIEW_W - 14 : 14;
    const sx = x1 + (side * NODE_W) / 2;
    const ex = x2 + (side * NODE_W) / 2;
    const r = 14;
    return `M${sx},${y1} L${xOut - side * r},${y1} Q${xOut},${y1} ${xOut},${y1 - r} L${xOut},${y2 + r} Q${xOut},${y2} ${xOut - side * r},${y2} L${ex},${y2}`;
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
      .attr('viewBox', `0 0 ${VIEW_W} ${VIEW_H}`).attr('preserveAspectRatio', 'xMidYMid meet').attr('role', 'img').attr('aria-label', 'RFC 9293 TCP state diagram');
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
        g.select<SVGTextElement>('text').text((d) => {
          const steps = taken.get(d.key);
          return steps ? `${steps.join(',')}. ${takenLabel(d, ts.slice(0, step))}` : d.label;
        });
      });
    // The taken transitions' labels are placed first: they get the places nearest their edges.
    const rank = (e: Edge) => (e.key === last ? 0 : taken.has(e.key) ? 1 : 2);
    const labels = this.svg.selectAll<SVGGElement, Edge>('g.edges g.edge').nodes()
      .map((g) => ({ edge: d3.select<SVGGElement, Edge>(g).datum(), text: g.querySelector('text') as SVGTextElement, path: g.querySelector('path') as SVGPathElement }))
      .sort((a, b) => rank(a.edge) - rank(b.edge));
    placeLabels(labels);
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

/**
 * A taken edge's label: the figure's, unless the connection took it on another event (TIME-WAIT to
 * CLOSED on a reset, not the 2MSL timer): then what happened. An API call (connect(), close()) is
 * the figure's OPEN or CLOSE.
 */
function takenLabel(e: Edge, taken: readonly TransitionRecord[]): string {
  const events = [...new Set(taken.filter((t) => `${t.from}>${t.to}` === e.key).map((t) => t.event))];
  const own = events.filter((ev) => !ev.endsWith(')') && !e.label.toLowerCase().startsWith(ev.toLowerCase()));
  return own.length === 0 ? e.label : own.join(' · ');
}

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Where along its edge a label may sit, nearest the middle first. */
const ALONG = [0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82];

/**
 * Puts each label beside its edge: of the places along it (either side, a little off the line), the
 * first that overlaps no state box, no label placed before it and stays in the view; among those, the
 * one that covers the fewest points of other edges. Labels are drawn with a halo (CSS), so an edge
 * that still passes under one stays readable.
 */
function placeLabels(labels: readonly { readonly edge: Edge; readonly text: SVGTextElement; readonly path: SVGPathElement }[]): void {
  const nodes: Rect[] = Object.values(NODES).map(([x, y]) => ({ x: x - NODE_W / 2 - 3, y: y - NODE_H / 2 - 3, w: NODE_W + 6, h: NODE_H + 6 }));
  const sampled = labels.map(({ path }) => {
    const len = path.getTotalLength();
    const pts: [number, number][] = [];
    for (let d = 0; d <= len; d += 5) {
      const p = path.getPointAtLength(d);
      pts.push([p.x, p.y]);
    }
    return pts;
  });
  const placed: Rect[] = [];
  labels.forEach(({ text, path }, li) => {
    text.setAttribute('text-anchor', 'middle');
    text.setAttribute('dominant-baseline', 'central');
    text.setAttribute('x', '0');
    text.setAttribute('y', '0');
    const box = text.getBBox();
    // Not laid out (its tab hidden): its size as the font would make it; placed again when shown.
    const w = (box.width || (text.textContent ?? '').length * 6.8) + 4;
    const h = (box.height || 15) + 2;
    const len = path.getTotalLength();
    let best: { x: number; y: number; score: number } | undefined;
    for (const f of ALONG) {
      const p = path.getPointAtLength(len * f);
      const q = path.getPointAtLength(Math.min(len, len * f + 1));
      const r = path.getPointAtLength(Math.max(0, len * f - 1));
      const tx = q.x - r.x, ty = q.y - r.y;
      const n = Math.hypot(tx, ty) || 1;
      // The normal, and how far the label's centre must be from the line for its box to clear it.
      const nx = -ty / n, ny = tx / n;
      const off = 3 + Math.abs(nx) * (w / 2) + Math.abs(ny) * (h / 2);
      for (const side of [1, -1]) {
        const cx = p.x + side * nx * off;
        const cy = p.y + side * ny * off;
        const rect = { x: cx - w / 2, y: cy - h / 2, w, h };
        if (rect.x < 0 || rect.y < 0 || rect.x + w > VIEW_W || rect.y + h > VIEW_H) continue;
        if (nodes.some((b) => overlaps(rect, b)) || placed.some((b) => overlaps(rect, b))) continue;
        let crossed = 0;
        sampled.forEach((pts, k) => {
          for (const [x, y] of pts) if (x > rect.x && x < rect.x + w && y > rect.y && y < rect.y + h) crossed += k === li ? 3 : 1;
        });
        const score = crossed * 10 + Math.abs(f - 0.5) * 20;
        if (best === undefined || score < best.score) best = { x: cx, y: cy, score };
      }
      if (best !== undefined && best.score === 0) break;
    }
    // No clear place (it cannot happen with this figure, but a label must still show): the middle.
    const at = best ?? (() => {
      const p = path.getPointAtLength(len / 2);
      return { x: p.x, y: p.y - h / 2 - 3, score: Infinity };
    })();
    text.setAttribute('x', at.x.toFixed(1));
    text.setAttribute('y', at.y.toFixed(1));
    placed.push({ x: at.x - w / 2, y: at.y - h / 2, w, h });
  });
}
