// webview/flow-layout: where the flow view's stations sit — layout maths only, no drawing. The
// shared stations (wire, nic.rx, nic.tx, steer) stand on the left, the bypass lane fills the top
// half and the kernel lane the bottom half in five columns (link, ip, transport, socket, syscall;
// tcp, udp and icmp stacked in the transport column), and the application stands on the right.
// Received packets move left to right on each box's upper track, sent ones right to left on its
// lower track. A `kernel.stack` span, when the trace has one, takes the place of the kernel's
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
    const y0 = lane.y + 26;
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
        const th = (y1 - y0 - 2 * 8) / layers.length;
        layers.forEach((l, k) => put(l, lane.lane, { x, y: y0 + k * (th + 8), w: bw, h: th }));
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
    const first = stations.get(lane === 'bypass' ? 'bypass.eth' : 'kernel.driver')!;
    const lastCol = stations.get(lane === 'bypass' ? 'bypass.socket' : 'kernel.syscall')!;
    const rx = anchorOf(stations, 'steer', lane, 'rx');
    const tx = anchorOf(stations, 'nic.tx', lane, 'tx');
    routes.push({ lane, dir: 'rx', points: [anchorOf(stations, 'wire', lane, 'rx'), anchorOf(stations, 'nic.rx', lane, 'rx'), rx, anchorOf(stations, first.layer, lane, 'rx'),
      anchorOf(stations, lastCol.layer, lane, 'rx'), anchorOf(stations, 'app', lane, 'rx')] });
    routes.push({ lane, dir: 'tx', points: [anchorOf(stations, lastCol.layer, lane, 'tx'), anchorOf(stations, first.layer, lane, 'tx'), tx, anchorOf(stations, 'wire', lane, 'tx')] });
  }
  return { width: W, height: H, stations, lanes, ghosts, routes };
}

/**
 * Where a packet of `lane` going `dir` passes through the station of `layer`: received packets ride
 * the top edges of the boxes, sent ones the bottom edges, so that no dot runs over a box's figures.
 */
export function anchorOf(stations: ReadonlyMap<LayerName, StationBox>, layer: LayerName, lane: Lane | 'none', dir: 'rx' | 'tx'): [number, number] {
  const s = stations.get(layer);
  if (!s) return [0, 0];
  const cx = s.x + s.w / 2;
  const edge = (b: Box) => (dir === 'rx' ? b.y : b.y + b.h);
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
