// trace: the trace schema — the one place that defines what a trace says, shared as types by the
// engine, the extension and the webview. Versioned: a reader refuses a version it does not know
// (codec.ts reads versions 1 and 2; the engine writes 2).
//
// Time. A packet's `timeNs` is the network's time when the frame crossed the NIC: virtual in `sim`
// and `pcap` replay (the simulated network's clock, or the capture file's timestamps), monotonic on
// real devices. A hop's `offsetNs` and `durationNs` are what the layer cost, read from a monotonic
// high-resolution clock (performance.now()) as the packet crossed each layer boundary of the code
// that handled it:
//   - `durationNs` is the time the layer spent on this packet, on the CPU, not counting other
//     packets handled inside it (the ACK a segment's processing sends has a record of its own);
//     0 for instants (nic.rx, app, a wire event).
//   - `offsetNs` is when the packet reached the layer: in virtual time (sim, pcap) the sum of the
//     durations of the hops before it — the stacks take no virtual time, so the offsets are the
//     packet's own measured cost so far; on real devices the monotonic time since `timeNs`, so that
//     waits (ARP, a real kernel's scheduling) show as gaps.
//   - `measured` hops are our code's layers (the NIC, steering, the bypass stack); `emulated` hops are
//     our code standing in for Linux (the emulated kernel): their time is that code's measured cost,
//     not Linux's; a `span` covers a stretch that cannot be observed (a real kernel's insides) with
//     the time across it.
// At trace level off no clock is read and every offset and duration is 0.
//
// A trace is a stream of records in binary batches (little-endian, 4-byte aligned):
//
// PACKET record (type 1), one per frame the engine saw, in either direction:
//   off  size  field
//   0    u8    type = 1
//   1    u8    direction      0 rx (from the wire), 1 tx (to the wire)
//   2    u8    path           0 none (not steered: tx or unknown), 1 bypass, 2 kernel, 3 drop
//   3    u8    hopCount       number of HOP_LEN-byte hops that follow the fixed part
//   4    u32   recordLen      whole record in bytes, padding included
//   8    u32   packetId       1, 2, 3… in the order the engine saw the frames
//   12   u32   flowId         flow-table id; 0 when the frame has no flow
//   16   u32   connId         TCP connection id; 0 when none
//   20   i16   rule           index of the rule that steered it; -1 default rule, -2 pinned by the local stack,
//                              -3 not steered, -4 pinned to a flow decided under rules since reloaded
//   22   u16   interface      backend interface index
//   24   f64   timeNs         nanoseconds since capture start (monotonic)
//   32   u32   wireLen        frame length on the wire
//   36   u16   capLen         bytes of the frame kept (≤ the snap length)
//   38   u16   flags          PacketFlag bits
//   40   hops  hopCount × HOP_LEN, in the order the packet met the layers. A `wire` hop says what the
//              engine's impairments did to the frame: after nic.tx on transmit, right after nic.rx on
//              receive (they sit on the wire side of the NIC), alone for a frame lost on its way in.
//   …    bytes capLen bytes of the frame, then zero padding to a multiple of 4
//
// HOP (16 bytes): u8 layer (Layer), u8 kind (HopKind), u8 verdict (Verdict), u8 reserved,
//   u16 reason (a string id, 0 when none), u16 reserved, u32 offsetNs (from the packet's timeNs),
//   u32 durationNs (both saturating at 2^32-1). Version 1 hops were 12 bytes, without durationNs
//   (a reader takes the next hop's offset minus its own, 0 for the last).
//
// TRANSITION record (type 2), one per TCP state change, fixed TRANSITION_LEN bytes:
//   0 u8 type = 2, 1 u8 from (TcpStateId), 2 u8 to, 3 u8 stack (1 bypass, 2 kernel: the path the
//   connection's packets took), 4 u32 recordLen, 8 u32 connId, 12 u32 packetId (0 when no packet
//   caused it), 16 f64 timeNs, 24 u16 event (a string id), 26 u16 flags (TransitionFlag bits),
//   28 u32 reserved,
//   32 f64 × 10 vars: snd.una, snd.nxt, snd.wnd, rcv.nxt, rcv.wnd, cwnd, ssthresh, srtt, rttvar, rto
//   (times in milliseconds; srtt and rttvar NaN before the first sample).
//
// Strings (drop reasons, transition events) are interned: each batch carries the strings first
// used in it, so any consumer can rebuild the table from the batches alone.

export const TRACE_SCHEMA_VERSION = 2;
/** Versions a reader of this schema understands. */
export const TRACE_SCHEMA_VERSIONS_READ: readonly number[] = [1, 2];

export const RecordType = { PACKET: 1, TRANSITION: 2 } as const;

export const PACKET_FIXED_LEN = 40;
export const HOP_LEN = 16;
/** The hop length of schema version 1. */
export const HOP_LEN_V1 = 12;
export const TRANSITION_LEN = 112;

/** The layers of the trace vocabulary (../shared/DESIGN.md "Paths and hops"), in lane order. */
export const LAYERS = [
  'nic.rx',
  'wire',
  'steer',
  'bypass.eth',
  'bypass.ip',
  'bypass.tcp',
  'bypass.udp',
  'bypass.icmp',
  'bypass.socket',
  'kernel.driver',
  'kernel.ip',
  'kernel.tcp',
  'kernel.udp',
  'kernel.icmp',
  'kernel.socket',
  'kernel.syscall',
  'kernel.stack',
  'app',
  'nic.tx',
] as const;
export type LayerName = (typeof LAYERS)[number];
export const Layer: { readonly [K in LayerName]: number } = Object.fromEntries(LAYERS.map((name, i) => [name, i])) as never;

/** How a hop's time was obtained: measured where it happened, one span over an unobservable stretch, or emulated. */
export const HOP_KINDS = ['measured', 'span', 'emulated'] as const;
export type HopKind = (typeof HOP_KINDS)[number];

export const VERDICTS = ['pass', 'deliver', 'forward', 'drop'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const PATHS = ['none', 'bypass', 'kernel', 'drop'] as const;
export type PathName = (typeof PATHS)[number];

export const DIRECTIONS = ['rx', 'tx'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const PacketFlag = {
  /** The frame was longer than the snap length. */
  TRUNCATED: 1,
  /** The sender's stack sent these bytes before (a TCP retransmission). */
  RETRANSMISSION: 2,
  /** Made by an impairment (a duplicate or a corrupted copy). */
  IMPAIRED: 4,
  /**
   * The frame crossed a device with offloads (a TAP with a virtio-net header): it may be a TSO/GSO
   * super-frame larger than the MTU, which the device cuts into MSS-sized segments (or a kernel
   * takes whole), and its TCP/UDP checksum may be the partial one the device completes, as tcpdump
   * shows such frames on a host with offloads.
   */
  OFFLOAD: 8,
} as const;

export const TransitionFlag = {
  /**
   * Inferred by a passive observer from the segments it saw (capture replay), following RFC 9293's
   * state machine for an endpoint it does not run — not a stack's own transition.
   */
  OBSERVED: 1,
} as const;

/** RFC 9293 state names by id, as transition records carry them. */
export const TCP_STATE_NAMES = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
] as const;
export type TcpStateName = (typeof TCP_STATE_NAMES)[number];

export const RULE_DEFAULT = -1;
export const RULE_LOCAL_PIN = -2;
export const RULE_NOT_STEERED = -3;
export const RULE_EARLIER_RULES = -4;

/** One hop of a decoded packet record. */
export interface Hop {
  readonly layer: LayerName;
  readonly kind: HopKind;
  readonly verdict: Verdict;
  /** Why, for drops (and notes such as an impairment); undefined when none. */
  readonly reason: string | undefined;
  /** When the packet reached the layer, nanoseconds after the packet's timeNs (see "Time" above). */
  readonly offsetNs: number;
  /** The layer's measured time on this packet, nanoseconds (0 for instants, and at trace level off). */
  readonly durationNs: number;
}

/** A decoded packet record. `bytes` is a view into the batch. */
export interface PacketRecord {
  readonly type: 'packet';
  readonly packetId: number;
  readonly direction: Direction;
  readonly path: PathName;
  readonly rule: number;
  readonly flowId: number;
  readonly connId: number;
  readonly interface: number;
  readonly timeNs: number;
  readonly wireLen: number;
  readonly flags: number;
  readonly hops: readonly Hop[];
  readonly bytes: Uint8Array;
}

export interface TcpVarsSnapshot {
  readonly sndUna: number;
  readonly sndNxt: number;
  readonly sndWnd: number;
  readonly rcvNxt: number;
  readonly rcvWnd: number;
  readonly cwnd: number;
  readonly ssthresh: number;
  readonly srtt: number | undefined;
  readonly rttvar: number | undefined;
  readonly rto: number;
}

export interface TransitionRecord {
  readonly type: 'transition';
  readonly connId: number;
  readonly stack: 'bypass' | 'kernel';
  readonly from: TcpStateName;
  readonly to: TcpStateName;
  readonly event: string;
  /** 0 when no packet caused it. */
  readonly packetId: number;
  readonly timeNs: number;
  readonly vars: TcpVarsSnapshot;
  /** True when a passive observer inferred it from the segments it saw (TransitionFlag.OBSERVED); absent or false for a stack's own. */
  readonly observed?: boolean;
}

export type TraceRecord = PacketRecord | TransitionRecord;

/** A batch as it travels from the engine: the records' bytes and the strings first used in them. */
export interface TraceBatch {
  /** The schema version of `records` (the engine writes TRACE_SCHEMA_VERSION). */
  readonly schema: number;
  /** 1, 2, 3…: a gap means batches were lost. */
  readonly seq: number;
  readonly records: Uint8Array;
  readonly recordCount: number;
  /** New entries of the string table: [id, text]. */
  readonly strings: readonly (readonly [number, string])[];
  /** Records dropped (sampled away) since the previous batch because the consumer was slow. */
  readonly dropped: number;
}

/** A TCP connection the trace talks about (sent once when it appears). */
export interface ConnectionInfo {
  readonly connId: number;
  readonly stack: 'bypass' | 'kernel';
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** 'active' for connect(), 'passive' for accept(); for an observed connection, the side that sent the first SYN is active. */
  readonly open: 'active' | 'passive';
  /**
   * True for an endpoint a passive observer follows in a replayed capture (its transitions are
   * observed, not a stack's own); absent for the stacks' connections.
   */
  readonly observed?: boolean;
}

/**
 * Latency histogram: counts per log2 bucket of nanoseconds (bucket 0 holds [0, 2), bucket i > 0
 * holds [2^i, 2^(i+1)) ns); p50Ns and p99Ns come from finer buckets (an eighth of an octave).
 */
export interface Histogram {
  readonly buckets: readonly number[];
  readonly count: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
}

/** Periodic statistics. */
export interface TraceStats {
  readonly timeNs: number;
  readonly packets: { readonly [P in PathName]: number };
  readonly bytes: { readonly [P in PathName]: number };
  /** Per hop layer: packets and bytes (on the wire) that reached it, and what it cost them. */
  readonly perLayer: { readonly [layer: string]: { readonly packets: number; readonly bytes: number; readonly latency: Histogram } };
  readonly perPath: { readonly [P in PathName]?: Histogram };
  /** "layer: reason" → count. */
  readonly drops: { readonly [key: string]: number };
  readonly recordsDropped: number;
  readonly flows: { readonly live: number; readonly pinnedToOldRules: number; readonly evicted: number };
  /**
   * Hits per rule of the rules in force, counted by steering since they were loaded: slot i is rule i
   * (the trace's `rule` field), the last slot the default. Packets and bytes of flows decided under
   * rules since reloaded, and of flows the bypass stack opened, are in no slot (see `flows`). Absent
   * in stats recorded before schema 2.
   */
  readonly rules?: { readonly packets: readonly number[]; readonly bytes: readonly number[]; readonly flows: readonly number[] };
}
