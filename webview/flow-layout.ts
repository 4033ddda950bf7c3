// webview/flow-layout: where the flow view's stations sit — layout maths only, no drawing. The
// shared stations (wire, nic.rx, nic.tx, steer) stand on the left, the bypass lane fills the top
// half and the kernel lane the bottom half in five columns (link, ip, transport, socket, syscall;
// tcp, udp and icmp stacked in the transport column), and the application stands on the right.
// Received packets move left to right on a rail just above each box, sent ones right to left on a
// rail just below it, turning in the gaps between columns (so that no dot crosses a box's text). A `kernel.stack` span, when the trace has one, takes the place of the kernel's
// insides it covers.
import type { LayerName } from '../engine/trace/schema';

export type Lane = 'bypass' | 'kernel';
export type StationLane = Lane | 'shared';

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface StationBox extends Box {
  readonly layer: LayerName;
  readonly lane: StationLane;
  /** The name shown in the box (the lane is said by the band around it). */
  readonly label: string;
}

export interface LaneBox extends Box {
  readonly lane: Lane;
}

export interface Ghost extends Box {
  readonly lane: Lane;
  readonly text: string;
}

export interface FlowLayout {
  readonly width: number;
  readonly height: number;
  readonly stations: ReadonlyMap<LayerName, StationBox>;
  readonly lanes: readonly LaneBox[];
  /** Places a layer has no station (the bypass stack has no system call). */
  readonly ghosts: readonly Ghost[];
  /** The routes packets take, as polylines (the faint tracks under the dots). */
  readonly routes: readonly { readonly lane: Lane; readonly dir: 'rx' | 'tx'; readonly points: readonly (readonly [number, number])[] }[];
}

/** How far above (received) or below (sent) its box a station's rail runs: clear of its text and of a dot's radius. */
export const RAIL_GAP = 7;

const LANE_COLUMNS: Record<Lane, readonly (readonly LayerName[])[]> = {
  bypass: [['bypass.eth'], ['bypass.ip'], ['bypass.tcp', 'bypass.udp', 'bypass.icmp'], ['bypass.socket'], []],
  kernel: [['kernel.driver'], ['kernel.ip'], ['kernel.tcp', 'kernel.udp', 'kernel.icmp'], ['kernel.socket'], ['kernel.syscall']],
};

/** The lane a layer belongs to, or shared. */
export function laneOf(layer: LayerName): StationLane {
  return layer.startsWith('bypass.') ? 'bypass' : layer.startsWith('kernel.') ? 'kernel' : 'shared';
}

/**
 * Lays the stations out in `width` × `height`. `span`: the trace has kernel.stack hops; `insides`:
 * it also has hops at the kernel's ip/transport/socket layers (then the span is a band below them).
 */
export function layoutFlow(width: number, height: number, span: boolean, insides: boolean): FlowLayout {
  const W = Math.max(900, width);
  const H = Math.max(300, height);
  const stations = new Map<LayerName, StationBox>();
  const put = (layer: LayerName, lane: StationLane, b: Box, label = layer.replace(/^(bypass|kernel)\./, '')) =>
    stations.set(layer, { layer, lane, label, ...b });

  // Left: the wire, the NIC's two directions, the steering table.
  const leftW = Math.min(380, Math.max(280, W * 0.22));
  const gap = 12;
  const wireW = 84;
  const colW = (leftW - wireW - 3 * gap) / 2;
  const boxH = Math.min(112, H * 0.2);
  const rxY = H * 0.36;
  const txY = H * 0.64;
  put('wire', 'shared', { x: 4, y: H * 0.22, w: wireW, h: H * 0.56 });
  put('nic.rx', 'shared', { x: 4 + wireW + gap, y: rxY - boxH / 2, w: colW, h: boxH });
  put('nic.tx', 'shared', { x: 4 + wireW + gap, y: txY - boxH / 2, w: colW, h: boxH });
  put('steer', 'shared', { x: 4 + wireW + 2 * gap + colW, y: rxY - boxH / 2, w: colW, h: boxH });

  // Right: the applications of both stacks.
  const appW = 92;
  put('app', 'shared', { x: W - appW - 10, y: H * 0.06, w: appW, h: H * 0.88 });

  // The two lanes between.
  const laneX = leftW + 10;
  const laneW = W - appW - 24 - laneX;
  const lanes: LaneBox[] = [
    { lane: 'bypass', x: laneX, y: 2, w: laneW, h: H / 2 - 6 },
    { lane: 'kernel', x: laneX, y: H / 2 + 4, w: laneW, h: H / 2 - 6 },
  ];
  const ghosts: Ghost[] = [];
  const cw = laneW / 5;
  for (const lane of lanes) {
    // Below the lane's title, with room for the rail above the stacked transport boxes.
    const y0 = lane.y + 34;
    const y1 = lane.y + lane.h - 8;
    const cy = (y0 + y1) / 2;
    const bw = cw - 26;
    const bh = Math.min(200, (y1 - y0) * 0.72);
    LANE_COLUMNS[lane.lane].forEach((layers, col) => {
      const x = lane.x + col * cw + 13;
      if (layers.length === 0) {
        ghosts.push({ lane: lane.lane, x, y: cy - bh / 2, w: bw, h: bh, text: 'no system call: the application reads the socket in userspace' });
      } else if (layers.length === 1) {
        put(layers[0], lane.lane, { x, y: cy - bh / 2, w: bw, h: bh });
      } else {
        // Room between stacked boxes for the sent rail below one and the received rail above the next.
        const between = 2 * RAIL_GAP + 8;
        const th = (y1 - y0 - (layers.length - 1) * between) / layers.length;
        layers.forEach((l, k) => put(l, lane.lane, { x, y: y0 + k * (th + between), w: bw, h: th }));
      }
    });
    if (lane.lane === 'kernel' && span) {
      const x = lane.x + cw + 13;
      const w = 3 * cw - 26;
      if (insides) {
        // Both shapes in one trace: the span runs as a band along the lane's foot.
        put('kernel.stack', 'kernel', { x, y: y1 - 40, w, h: 40 }, 'stack (span)');
      } else {
        for (const l of ['kernel.ip', 'kernel.tcp', 'kernel.udp', 'kernel.icmp', 'kernel.socket'] as const) stations.delete(l);
        put('kernel.stack', 'kernel', { x, y: cy - bh / 2, w, h: bh }, 'stack (span)');
      }
    }
  }

  const routes: FlowLayout['routes'][number][] = [];
  for (const lane of ['bypass', 'kernel'] as const) {
    // The track a TCP packet rides (the dots of other transports turn off it at their own box).
    const inside = (lane === 'bypass' ? ['bypass.eth', 'bypass.ip', 'bypass.tcp', 'bypass.socket'] : ['kernel.driver', 'kernel.ip', 'kernel.tcp', 'kernel.socket', 'kernel.syscall'])
      .filter((l) => stations.has(l as LayerName)) as LayerName[];
    if (lane === 'kernel' && stations.has('kernel.stack') && !stations.has('kernel.ip')) inside.splice(1, 0, 'kernel.stack');
    const rxStops: LayerName[] = ['wire', 'nic.rx', 'steer', ...inside, 'app'];
    const txStops: LayerName[] = [...[...inside].reverse(), 'nic.tx', 'wire'];
    routes.push({ lane, dir: 'rx', points: railPoints(stations, rxStops.map((l) => ({ layer: l, at: anchorOf(stations, l, lane, 'rx') }))) });
    routes.push({ lane, dir: 'tx', points: railPoints(stations, txStops.map((l) => ({ layer: l, at: anchorOf(stations, l, lane, 'tx') }))) });
  }
  return { width: W, height: H, stations, lanes, ghosts, routes };
}

/**
 * The polyline through the stations' anchors, with a turn in the gap between two boxes wherever the
 * rail changes height, so that the dot goes along a rail, then straight up or down beside the boxes.
 * `stop` says, for each point, where it lies among the stops it was made from (1.5: a third of the
 * way from the second stop to the third…), for timing a dot along it.
 */
export function railPath(stations: ReadonlyMap<LayerName, StationBox>, stops: readonly { readonly layer: LayerName; readonly at: readonly [number, number] }[]): { points: [number, number][]; stop: number[] } {
  const points: [number, number][] = [];
  const stop: number[] = [];
  stops.forEach((s, i) => {
    if (i > 0) {
      const prev = stops[i - 1];
      const [xa, ya] = prev.at;
      const [xb, yb] = s.at;
      if (Math.abs(ya - yb) > 0.5 && Math.abs(xa - xb) > 0.5) {
        const a = stations.get(prev.layer);
        const b = stations.get(s.layer);
        // The turn: midway between the two boxes' facing edges (or between the anchors, when they
        // overlap), or else beside whichever box would be in the way.
        const right = xb > xa;
        const edgeA = a === undefined ? xa : right ? a.x + a.w : a.x;
        const edgeB = b === undefined ? xb : right ? b.x : b.x + b.w;
        const mid = (right ? edgeA <= edgeB : edgeA >= edgeB) ? (edgeA + edgeB) / 2 : (xa + xb) / 2;
        const boxes = [...stations.values()].filter((x) => x.layer !== 'wire' && x.layer !== 'app');
        const lo = Math.min(xa, xb), hi = Math.max(xa, xb);
        const candidates = [mid, ...boxes.flatMap((x) => [x.x - TURN_CLEARANCE, x.x + x.w + TURN_CLEARANCE])]
          .filter((x) => x > lo && x < hi)
          .sort((p, q) => Math.abs(p - mid) - Math.abs(q - mid));
        const clear = (xm: number) =>
          !boxes.some((x) => crosses(x, xa, ya, xm, ya) || crosses(x, xm, ya, xm, yb) || crosses(x, xm, yb, xb, yb));
        const xm = candidates.find(clear) ?? mid;
        points.push([xm, ya], [xm, yb]);
        stop.push(i - 1 + 1 / 3, i - 1 + 2 / 3);
      }
    }
    points.push([s.at[0], s.at[1]]);
    stop.push(i);
  });
  return { points, stop };
}

/** How far from a box a turn keeps: a dot's radius and a little air. */
const TURN_CLEARANCE = 6;

/** Whether the axis-aligned segment (x1,y1)–(x2,y2) passes through box `b` (a dot's radius around it included). */
function crosses(b: Box, x1: number, y1: number, x2: number, y2: number): boolean {
  const r = 3;
  const [l, rr] = [Math.min(x1, x2), Math.max(x1, x2)];
  const [t, bt] = [Math.min(y1, y2), Math.max(y1, y2)];
  return l < b.x + b.w + r && rr > b.x - r && t < b.y + b.h + r && bt > b.y - r;
}

function railPoints(stations: ReadonlyMap<LayerName, StationBox>, stops: readonly { readonly layer: LayerName; readonly at: readonly [number, number] }[]): [number, number][] {
  return railPath(stations, stops).points;
}

/**
 * Where a packet of `lane` going `dir` passes the station of `layer`: received packets ride a rail
 * just above the boxes, sent ones a rail just below, so that no dot runs over a box's figures.
 */
export function anchorOf(stations: ReadonlyMap<LayerName, StationBox>, layer: LayerName, lane: Lane | 'none', dir: 'rx' | 'tx'): [number, number] {
  const s = stations.get(layer);
  if (!s) return [0, 0];
  const cx = s.x + s.w / 2;
  const edge = (b: Box) => (dir === 'rx' ? b.y - RAIL_GAP : b.y + b.h + RAIL_GAP);
  if (layer === 'wire') {
    const nic = stations.get(dir === 'rx' ? 'nic.rx' : 'nic.tx');
    return [cx, nic ? edge(nic) : s.y + s.h / 2];
  }
  if (layer === 'app') {
    const ref = stations.get(lane === 'kernel' ? 'kernel.socket' : 'bypass.socket') ?? stations.get('kernel.stack');
    return [cx, ref ? edge(ref) : s.y + s.h / 2];
  }
  return [cx, edge(s)];
}
