// stack: one IPv4 interface of the userspace stack — link (Ethernet, ARP), IPv4 (validation, routes,
// fragmentation, reassembly), ICMP, the UDP endpoint table and the glue that carries TCP segments
// between the wire and the tcp module's connections and listeners.
//
// No clock: the driver calls `poll(now)` by `pollAt()`. Application callbacks never run while a
// packet is being processed: everything the socket layer would tell an application is queued with
// `defer` and run at the end of `poll`, so an application that writes from a 'data' handler finds the
// stack in a consistent state. Not supported (said plainly): IPv6 (parsed by wire, no stack yet),
// IP options on send (received options are checked and ignored), source routing, multicast, path
// MTU discovery (ICMP "fragmentation needed" is reported as a soft error, the MTU is not lowered),
// VLAN-tagged frames, more than one address per interface.

import { MAC_BROADCAST, macEquals, readIpv4 } from '../wire/address';
import { internetChecksum } from '../wire/checksum';
import { ARP_OP_REPLY, ARP_OP_REQUEST, ARP_PACKET_LEN, emitArp, parseArp } from '../wire/arp';
import { read16 } from '../wire/byteorder';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, isVlanTpid } from '../wire/ethernet';
import { emitIcmpv4, ICMPV4_TIME_EXCEEDED, ICMPV4_UNREACHABLE, icmpv4Len, parseIcmpv4, type Icmpv4Packet, type Icmpv4Repr } from '../wire/icmpv4';
import { emitIpv4, IP_PROTOCOL, IPV4_FIELD, IPV4_MIN_HEADER_LEN, parseIpv4, type Ipv4Packet } from '../wire/ipv4';
import { emitTcp, tcpBufferLen, TcpPacketBuffer, type TcpRepr } from '../wire/tcp';
import { emitUdp, parseUdp, UDP_HEADER_LEN } from '../wire/udp';
import {
  LINUX_TCP_CONFIG,
  resetFor,
  TcpConnection,
  TcpContext,
  TcpListener,
  tcpConfig,
  type Rng,
  type SegmentSink,
  type TcpConfig,
  type TcpEvent,
} from '../tcp/index';
import { DEFAULT_ICMP_LIMIT, IcmpRateLimiter, type IcmpLimitConfig } from './icmp-limit';
import { DEFAULT_NEIGHBOUR_CONFIG, NeighbourCache, type HeldPacket, type NeighbourConfig } from './neighbour';
import {
  dropVerdict,
  packetIdCounter,
  StackCounters,
  type Direction,
  type Layer,
  type PacketIdSource,
  type RxDropReason,
  type StackObserver,
  type TxDropReason,
  type Verdict,
} from './observe';
import { DEFAULT_REASSEMBLY_CONFIG, Reassembler, type ExpiredDatagram, type ReassemblyConfig } from './reassembly';
import { TcpTable, type TcpEntry, type TcpOwner } from './tcp-table';
import { txOffload, writePartialTcpChecksum, type LinkOffloads, type RxOffload, type TxOffload } from './offload';

/**
 * The link the stack runs on. It has the shape of backends' Device, declared here so that the
 * stack does not depend on backends (dependencies point wire ← stack ← backends).
 */
export interface LinkDevice {
  readonly name: string;
  /** Largest IP packet the link carries. */
  readonly mtu: number;
  /**
   * Sends one frame; the device copies it if it keeps it past the call (unless it lent it, see
   * `frameBuffer`). `offload`, only for a device with `offloads`: what the device must finish.
   */
  transmit(frame: Uint8Array, now: number, offload?: TxOffload): void;
  /** Set by the stack; a received frame (and `rx`, what the device says of it) is valid only during the call. */
  onReceive: ((frame: Uint8Array, now: number, wireLen?: number, rx?: RxOffload) => void) | undefined;
  /** What the device finishes for the stack (checksums, TSO); none when absent. */
  readonly offloads?: LinkOffloads;
  poll(now: number): void;
  pollAt(): number | undefined;
  /**
   * Optional: a buffer of exactly `len` bytes for the next frame. Passing that same buffer to
   * `transmit` hands it over, so the device keeps it without a copy (the sim wire does this).
   */
  frameBuffer?(len: number): Uint8Array;
}

export interface StackOptions {
  readonly name?: string;
  readonly mac: Uint8Array;
  /** The interface address (uint32) and the prefix length of its connected network. */
  readonly address: number;
  readonly prefixLength: number;
  /** Default route; without it only the connected network is reachable. */
  readonly gateway?: number;
  /** The stack's one seeded RNG: ISNs, timestamp offsets, ephemeral ports, IP identification. */
  readonly rng: Rng;
  /** TCP settings over LINUX_TCP_CONFIG; the MSS is capped to the device MTU less 40. */
  readonly tcp?: Partial<TcpConfig>;
  readonly neighbour?: Partial<NeighbourConfig>;
  readonly reassembly?: Partial<ReassemblyConfig>;
  readonly icmpLimit?: Partial<IcmpLimitConfig>;
  /** TTL of datagrams we send (Linux ip_default_ttl: 64). */
  readonly ttl?: number;
  /** Ephemeral port range, inclusive (Linux ip_local_port_range: 32768–60999). */
  readonly ephemeralPorts?: readonly [number, number];
  readonly packetIds?: PacketIdSource;
  readonly observer?: StackObserver;
  /**
   * Answers the segments a connection received between two polls with one flush at the end of the
   * poll, after the application callbacks they caused, instead of one flush per segment: a batch of
   * segments read in one wake-up gets one ACK, and an application that replies at once (a
   * request/response server) sends its reply with the ACK on it. Linux gets there with GRO and
   * delayed ACKs; here the ACK still leaves in the same turn, so no latency is added. Off by
   * default (the simulation answers every segment by itself); the real-time programs turn it on.
   */
  readonly coalesceAcks?: boolean;
}

/** The outcome of a send, with the errno a socket reports. */
export type SendResult = 'ok' | 'EMSGSIZE' | 'ENETUNREACH' | 'EADDRNOTAVAIL';

/** Something the socket layer queued for the end of the current poll. */
export interface DeferredTask {
  runDeferred(): void;
}

/** A UDP socket as the stack sees it. */
export interface UdpEndpoint {
  /** The peer of a connected socket (RFC 768 has no connections: this is a receive filter), or 0/0. */
  readonly remoteAddr: number;
  readonly remotePort: number;
  /** A datagram for this endpoint; `payload` is only valid during the call. False: no room (dropped). */
  deliver(src: number, srcPort: number, payload: Uint8Array, packetId: number): boolean;
  /** An ICMP error about a datagram this endpoint sent (Linux reports only hard errors, to connected sockets). */
  icmpError(code: string, hard: boolean): void;
}

/** An echo reply that reached us (for `ping`). */
export interface EchoReply {
  readonly src: number;
  readonly identifier: number;
  readonly sequence: number;
  readonly data: Uint8Array;
  readonly time: number;
}

interface ListenRecord {
  readonly listener: TcpListener;
  onAcceptable: (() => void) | undefined;
}

const ETH = ETHERNET_HEADER_LEN;
/** Where the transport header starts in the transmit buffer: Ethernet plus an option-less IPv4 header. */
const L4 = ETH + IPV4_MIN_HEADER_LEN;
const MAX_UDP_PAYLOAD = 65535 - IPV4_MIN_HEADER_LEN - UDP_HEADER_LEN;
/** RFC 1812 §4.3.2.3: an ICMP error quotes as much of the datagram as fits in 576 bytes. */
const ICMP_QUOTE_MAX = 576 - IPV4_MIN_HEADER_LEN - 8;
const ZERO_MAC = new Uint8Array(6);
/** coalesceAcks: the most received bytes one ACK is held back for (Linux's GRO stops at 64 KiB). */
const COALESCE_MAX_BYTES = 128 * 1024;
const NO_OPTIONS = new Uint8Array(0);
/** What a deferred slot holds once its task has run. */
const NO_TASK: DeferredTask = { runDeferred: () => {} };

/** Linux's icmp_err_convert: (errno, fatal) for each destination-unreachable code. */
const UNREACH_ERRNO: readonly (readonly [string, boolean])[] = [
  ['ENETUNREACH', false],
  ['EHOSTUNREACH', false],
  ['ENOPROTOOPT', true],
  ['ECONNREFUSED', true],
  ['EMSGSIZE', false],
  ['EOPNOTSUPP', false],
  ['ENETUNREACH', true],
  ['EHOSTDOWN', true],
  ['ENONET', true],
  ['ENETUNREACH', true],
  ['EHOSTUNREACH', true],
  ['ENETUNREACH', false],
  ['EHOSTUNREACH', false],
  ['EHOSTUNREACH', true],
  ['EHOSTUNREACH', true],
  ['EHOSTUNREACH', true],
];

export class Ipv4Stack implements DeferredTask {
  readonly name: string;
  readonly mac: Uint8Array;
  readonly address: number;
  readonly prefixLength: number;
  readonly netmask: number;
  readonly network: number;
  /** The directed broadcast address of the connected network. */
  readonly broadcast: number;
  readonly gateway: number | undefined;
  readonly counters = new StackCounters();
  readonly neighbours: NeighbourCache;
  readonly reassembler: Reassembler;
  readonly tcpContext: TcpContext;
  observer: StackObserver | undefined;
  /** Called (at the end of a poll) for each echo reply received. */
  onEchoReply: ((reply: EchoReply) => void) | undefined = undefined;

  private readonly rng: Rng;
  private readonly ids: PacketIdSource;
  private readonly ttl: number;
  private readonly ephemeral: readonly [number, number];
  private readonly icmpLimiter: IcmpRateLimiter;
  private readonly tcp = new TcpTable();
  private readonly listeners = new Map<number, ListenRecord>();
  private readonly tcpPortUse = new Map<number, number>();
  private readonly udpPorts = new Map<number, UdpEndpoint>();
  private readonly entryOfConn = new Map<number, TcpEntry>();
  /**
   * Tasks for the end of the poll: `deferred[0 .. deferredCount)`. Two arrays take turns (one is
   * run while the other takes what the callbacks queue) and keep their slots, so that queueing a
   * task, once a poll or more, allocates nothing.
   */
  private deferred: DeferredTask[] = [];
  private deferredSpare: DeferredTask[] = [];
  private deferredCount = 0;
  private runningDeferred = false;
  /** Connections an application call changed while the stack was busy: flushed by the next timer pass. */
  private readonly kicked: TcpEntry[] = [];
  private readonly coalesceAcks: boolean;
  /** coalesceAcks: connections that received segments since the last poll (`received[0 .. receivedCount)`), flushed at its end. */
  private readonly received: TcpEntry[] = [];
  private receivedCount = 0;
  private readonly loopback: { packet: Uint8Array; packetId: number }[] = [];
  private echoReplies: EchoReply[] = [];
  private started = false;
  private ipId: number;
  /** The time of the last poll (or frame): what application calls made between polls use. */
  now = 0;
  /** How many times application callbacks ran; a driver that lets Node's event loop turn uses it. */
  callbackRounds = 0;
  /** > 0 while input or timers run: application code must not run then. */
  private busy = 0;
  /** The TCP segment being processed, and whether it put data in a receive buffer. */
  private currentPacket = 0;
  private dataForSocket = false;
  /** The frame being received: its TCP/UDP checksum need not be checked (RxOffload 'partial' or 'valid'). */
  private rxChecksumTrusted = false;
  /** The device's TSO limit (0: none) and what the frame being sent leaves to the device. */
  private readonly tsoMaxBytes: number;
  private readonly txOff: TxOffload = txOffload();
  private pendingTx: TxOffload | undefined = undefined;
  /** The connection whose segments flushConn is sending, and the sink it gives the connection (made once). */
  private flushing: TcpEntry | undefined = undefined;
  private readonly segmentOut: SegmentSink = { sendSegment: (seg) => this.sendFlushed(seg) };
  /**
   * The segment being received, parsed in place (tcpInput); a segment that arrives while one is
   * being processed (a device that loops a frame back during transmit) gets its own.
   */
  private readonly rxSeg = new TcpPacketBuffer();
  private rxSegBusy = false;

  // Reused per packet (no allocation on the hot path).
  private readonly tx = new Uint8Array(ETH + 65535);
  private readonly fragBuf: Uint8Array;
  private readonly arpBuf = new Uint8Array(ETH + ARP_PACKET_LEN);
  private readonly rxCtx = { version: 4 as const, src: 0, dst: 0 };
  private readonly txCtx = { version: 4 as const, src: 0, dst: 0 };
  private readonly ipRepr = {
    src: 0,
    dst: 0,
    protocol: 0,
    ttl: 64,
    dscp: 0,
    ecn: 0,
    identification: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    options: NO_OPTIONS,
    payloadLength: 0,
  };
  private readonly ethRepr = { dst: MAC_BROADCAST, src: MAC_BROADCAST, vlans: [], etherType: 0 };

  constructor(
    readonly device: LinkDevice,
    options: StackOptions,
  ) {
    this.name = options.name ?? device.name;
    this.mac = options.mac.slice();
    this.address = options.address >>> 0;
    this.prefixLength = options.prefixLength;
    this.netmask = options.prefixLength === 0 ? 0 : (0xffffffff << (32 - options.prefixLength)) >>> 0;
    this.network = (this.address & this.netmask) >>> 0;
    this.broadcast = (this.network | ~this.netmask) >>> 0;
    this.gateway = options.gateway;
    this.rng = options.rng;
    this.ids = options.packetIds ?? packetIdCounter();
    this.ttl = options.ttl ?? 64;
    this.ephemeral = options.ephemeralPorts ?? [32768, 60999];
    this.observer = options.observer;
    this.coalesceAcks = options.coalesceAcks ?? false;
    this.neighbours = new NeighbourCache({ ...DEFAULT_NEIGHBOUR_CONFIG, ...options.neighbour });
    this.reassembler = new Reassembler({ ...DEFAULT_REASSEMBLY_CONFIG, ...options.reassembly });
    this.icmpLimiter = new IcmpRateLimiter({ ...DEFAULT_ICMP_LIMIT, ...options.icmpLimit });
    const base = tcpConfig(options.tcp ?? {}, LINUX_TCP_CONFIG);
    const off = device.offloads;
    // TSO needs the checksum offload too: the device computes each piece's checksum.
    this.tsoMaxBytes = off !== undefined && off.txChecksum ? off.tsoMaxBytes : 0;
    this.tcpContext = new TcpContext(
      tcpConfig(
        {
          mss: Math.min(base.mss, device.mtu - 40),
          // The IP header and the largest TCP header come out of the device's limit.
          tsoMaxPayload: this.tsoMaxBytes > device.mtu ? this.tsoMaxBytes - IPV4_MIN_HEADER_LEN - 60 : 0,
          onTransition: (t) => this.observer?.transition?.(t),
        },
        base,
      ),
      this.rng,
    );
    this.fragBuf = new Uint8Array(ETH + device.mtu);
    this.ipId = this.rng.nextU32() & 0xffff;
    this.ethRepr.src = this.mac;
    device.onReceive = (frame, now, wireLen, rx) => this.receive(frame, now, wireLen, rx);
  }

  get mtu(): number {
    return this.device.mtu;
  }

  /** Live TCP connections (including TIME-WAIT), for tests and the UI. */
  get tcpConnections(): number {
    return this.tcp.size;
  }

  // ───────────────────────── driving ─────────────────────────

  poll(now: number): void {
    if (now > this.now) this.now = now;
    now = this.now;
    this.busy++;
    try {
      if (!this.started) {
        this.started = true;
        // RFC 5227 §3 "ARP announcement": tell the link who we are.
        this.sendArp(ARP_OP_REQUEST, this.address, ZERO_MAC, MAC_BROADCAST);
      }
      this.device.poll(now);
      while (this.loopback.length > 0) {
        const l = this.loopback.shift()!;
        this.counters.rx.frames++;
        this.ipInput(l.packet, 0, l.packetId, true);
      }
      const work = this.neighbours.poll(now);
      if (work !== undefined) {
        for (const r of work.requests) this.sendArp(ARP_OP_REQUEST, r.ip, ZERO_MAC, r.mac ?? MAC_BROADCAST);
        for (const h of work.failed) this.arpFailed(h);
      }
      const fragAt = this.reassembler.nextDeadline();
      if (fragAt !== undefined && fragAt <= now) this.reassembler.poll(now, (d) => this.reassemblyExpired(d, 'frag-timeout'));
      // coalesceAcks: what received segments asked for waits for the application callbacks they caused.
      this.runTcpTimers(now, this.deferredCount > 0);
    } finally {
      this.busy--;
    }
    // Application callbacks, then whatever they asked for, a few rounds at the same instant.
    for (let round = 0; round < 8 && this.deferredCount > 0; round++) {
      this.flushDeferred();
      this.busy++;
      try {
        this.runTcpTimers(now, false);
      } finally {
        this.busy--;
      }
    }
    if (this.receivedCount > 0) this.flushReceived();
  }

  /** coalesceAcks: the end of the poll; every connection that received segments sends what it has. */
  private flushReceived(): void {
    this.busy++;
    try {
      // The slots are kept (no length change, no regrowth per poll): only the count goes back to 0.
      const r = this.received;
      const n = this.receivedCount;
      for (let i = 0; i < n; i++) if (r[i].flushQueued && r[i].live) this.flushConn(r[i]);
      for (let i = 0; i < n; i++) r[i].flushQueued = false;
      this.receivedCount = 0;
    } finally {
      this.busy--;
    }
  }

  /** The driver's clock moved: application calls made before the next poll use this time. */
  advance(now: number): void {
    if (now > this.now) this.now = now;
  }

  pollAt(): number | undefined {
    if (!this.started || this.deferredCount > 0 || this.loopback.length > 0 || this.kicked.length > 0 || this.receivedCount > 0) return this.now;
    let at = this.device.pollAt();
    const all = this.tcp.all;
    for (let i = 0; i < all.length; i++) {
      if (!all[i].live) continue;
      const t = all[i].conn.pollAt();
      if (t !== undefined && (at === undefined || t < at)) at = t;
    }
    const n = this.neighbours.nextDeadline();
    if (n !== undefined && (at === undefined || n < at)) at = n;
    const r = this.reassembler.nextDeadline();
    if (r !== undefined && (at === undefined || r < at)) at = r;
    return at !== undefined && at < this.now ? this.now : at;
  }

  /** Queues a task for the end of the current poll (or of the next one, when called between polls). */
  defer(task: DeferredTask): void {
    this.deferred[this.deferredCount++] = task;
  }

  /** True while a packet or timer is being processed (application code must not run then). */
  get processing(): boolean {
    return this.busy > 0;
  }

  private flushDeferred(): void {
    this.callbackRounds++;
    const tasks = this.deferred;
    const n = this.deferredCount;
    // A callback that polls the stack itself would run this again while `tasks` is being run: that
    // one gets fresh arrays instead of the spare.
    this.deferred = this.runningDeferred ? [] : this.deferredSpare;
    this.deferredSpare = tasks;
    this.deferredCount = 0;
    const outer = this.runningDeferred;
    this.runningDeferred = true;
    let i = 0;
    try {
      for (; i < n; i++) tasks[i].runDeferred();
    } finally {
      this.runningDeferred = outer;
      // An application callback threw (an unhandled 'error', as in Node): keep the rest for later.
      if (i + 1 < n) {
        const rest = tasks.slice(i + 1, n).concat(this.deferred.slice(0, this.deferredCount));
        this.deferred = rest;
        this.deferredCount = rest.length;
      }
      // The slots let go of the tasks (sockets) they held (a loop: Array.prototype.fill is a slow builtin for a few slots).
      for (let k = 0; k < n; k++) tasks[k] = NO_TASK;
    }
  }

  /** The stack's own deferred work: echo replies for `onEchoReply`. */
  runDeferred(): void {
    const replies = this.echoReplies;
    this.echoReplies = [];
    for (const r of replies) this.onEchoReply?.(r);
  }

  /** Flushes every connection due now; with `holdReceived`, not those waiting for the end of the poll (coalesceAcks). */
  private runTcpTimers(now: number, holdReceived: boolean): void {
    while (this.kicked.length > 0) this.flushConn(this.kicked.shift()!);
    const all = this.tcp.all;
    for (let i = 0; i < all.length; i++) {
      const e = all[i];
      if (!e.live || (holdReceived && e.flushQueued)) continue;
      const t = e.conn.pollAt();
      if (t !== undefined && t <= now) this.flushConn(e);
    }
    this.tcp.compact();
  }

  // ───────────────────────── link layer ─────────────────────────

  /** A frame from the device (valid only during the call). Public so tests and taps can inject frames. */
  receive(frame: Uint8Array, now: number, _wireLen?: number, rx?: RxOffload): void {
    if (now > this.now) this.now = now;
    const id = this.ids.next();
    const c = this.counters;
    c.rx.frames++;
    c.eth.in++;
    this.busy++;
    this.rxChecksumTrusted = rx !== undefined && rx.checksum !== 'none';
    try {
      this.linkInput(frame, id);
    } finally {
      this.busy--;
      this.rxChecksumTrusted = false;
    }
  }

  private linkInput(frame: Uint8Array, id: number): void {
    if (frame.length < ETH) return this.rxDrop('bypass.eth', 'eth-truncated', id);
    // IEEE 802.3: ours, or broadcast. No multicast group is joined.
    if (!this.macIsUs(frame) && !isBroadcastMac(frame)) return this.rxDrop('bypass.eth', 'eth-not-for-us', id);
    const type = read16(frame, 12);
    if (type === ETHERTYPE_IPV4) {
      this.hop('bypass.eth', 'rx', 'pass', id);
      this.ipInput(frame, ETH, id);
    } else if (type === ETHERTYPE_ARP) {
      this.counters.arp.in++;
      this.arpInput(frame.subarray(ETH), id);
    } else if (isVlanTpid(type)) {
      this.rxDrop('bypass.eth', 'eth-vlan-unsupported', id);
    } else {
      this.rxDrop('bypass.eth', 'eth-unknown-type', id);
    }
  }

  private macIsUs(frame: Uint8Array): boolean {
    const m = this.mac;
    return frame[0] === m[0] && frame[1] === m[1] && frame[2] === m[2] && frame[3] === m[3] && frame[4] === m[4] && frame[5] === m[5];
  }

  /** RFC 826 "Packet Reception", with the RFC 5227 conflict check. */
  private arpInput(p: Uint8Array, id: number): void {
    const r = parseArp(p);
    if (!r.ok) return this.rxDrop('bypass.eth', r.error.code === 'unsupported' ? 'arp-unsupported' : 'arp-malformed', id);
    const a = r.value;
    if (a.operation !== ARP_OP_REQUEST && a.operation !== ARP_OP_REPLY) return this.rxDrop('bypass.eth', 'arp-bad-operation', id);
    if ((a.senderHardware[0] & 1) === 1) return this.rxDrop('bypass.eth', 'arp-bad-sender', id);
    if (a.senderProtocol === this.address) {
      // Someone else claims our address (RFC 5227 §2.4): we keep it, and count the conflict.
      if (!macEquals(a.senderHardware, this.mac)) return this.rxDrop('bypass.eth', 'arp-address-conflict', id);
      return this.rxDrop('bypass.eth', 'arp-not-for-us', id);
    }
    const forUs = a.targetProtocol === this.address;
    // A probe (sender 0.0.0.0, RFC 5227 §2.1.1) teaches nothing; nor does a sender outside our network.
    const learnable = a.senderProtocol !== 0 && this.onLink(a.senderProtocol) && a.senderProtocol !== this.broadcast;
    let merged = false;
    if (learnable) {
      const l = this.neighbours.learn(a.senderProtocol, a.senderHardware, this.now, forUs);
      merged = l.merged;
      if (l.released !== undefined) for (const h of l.released) this.transmitHeld(h, a.senderHardware);
    }
    if (!forUs) {
      if (merged) return this.rxDeliver('bypass.eth', id);
      return this.rxDrop('bypass.eth', 'arp-not-for-us', id);
    }
    if (a.operation === ARP_OP_REQUEST) this.sendArp(ARP_OP_REPLY, a.senderProtocol, a.senderHardware, a.senderHardware);
    this.rxDeliver('bypass.eth', id);
  }

  private sendArp(op: number, targetIp: number, targetMac: Uint8Array, ethDst: Uint8Array): void {
    this.observer?.txBegin?.();
    // Its own buffer: a probe goes out in the middle of sending the packet in `tx`.
    const buf = this.arpBuf;
    this.ethRepr.dst = ethDst;
    this.ethRepr.etherType = ETHERTYPE_ARP;
    emitEthernet(this.ethRepr, buf, 0);
    emitArp(
      { operation: op, senderHardware: this.mac, senderProtocol: this.address, targetHardware: targetMac, targetProtocol: targetIp },
      buf,
      ETH,
    );
    this.counters.arp.out++;
    this.counters.eth.out++;
    const id = this.ids.next();
    this.hop('bypass.eth', 'tx', 'pass', id);
    this.device.transmit(buf.subarray(0, ETH + ARP_PACKET_LEN), this.now);
  }

  /** Sends the IP packet at `frame[ETH..]` to `nextHop`, resolving it first when needed. */
  private linkOutput(frame: Uint8Array, nextHop: number, broadcast: boolean, id: number): void {
    let mac: Uint8Array;
    if (broadcast) {
      mac = MAC_BROADCAST;
    } else {
      const hit = this.neighbours.lookup(nextHop, this.now);
      if (hit === undefined) {
        // RFC 1122 §2.3.2.2: hold the packet while the address is resolved.
        const off = this.pendingTx;
        const held = this.neighbours.hold(nextHop, { packet: frame.slice(ETH), packetId: id, offload: off === undefined ? undefined : { ...off } }, this.now);
        if (held.request) this.sendArp(ARP_OP_REQUEST, nextHop, ZERO_MAC, MAC_BROADCAST);
        if (held.dropped !== undefined) this.txDrop('bypass.eth', 'arp-queue-full', held.dropped.packetId);
        return;
      }
      mac = hit.mac!;
      if (hit.probe) this.sendArp(ARP_OP_REQUEST, nextHop, ZERO_MAC, mac);
    }
    this.ethRepr.dst = mac;
    this.ethRepr.etherType = ETHERTYPE_IPV4;
    emitEthernet(this.ethRepr, frame, 0);
    this.counters.eth.out++;
    this.hop('bypass.eth', 'tx', 'pass', id);
    const off = this.pendingTx;
    if (off === undefined) this.device.transmit(frame, this.now);
    else this.device.transmit(frame, this.now, off);
  }

  private transmitHeld(h: HeldPacket, mac: Uint8Array): void {
    const frame = new Uint8Array(ETH + h.packet.length);
    frame.set(h.packet, ETH);
    this.ethRepr.dst = mac;
    this.ethRepr.etherType = ETHERTYPE_IPV4;
    emitEthernet(this.ethRepr, frame, 0);
    this.counters.eth.out++;
    this.hop('bypass.eth', 'tx', 'pass', h.packetId);
    if (h.offload === undefined) this.device.transmit(frame, this.now);
    else this.device.transmit(frame, this.now, h.offload);
  }

  /** Resolution failed: the packet is dropped and its sender told, as Linux's ipv4_link_failure does. */
  private arpFailed(h: HeldPacket): void {
    this.txDrop('bypass.eth', 'arp-resolution-failed', h.packetId);
    const r = parseIpv4(h.packet);
    if (!r.ok) return;
    this.localError(r.value, h.packet, 'EHOSTUNREACH', false);
  }

  // ───────────────────────── IPv4 ─────────────────────────

  private onLink(addr: number): boolean {
    return ((addr & this.netmask) >>> 0) === this.network;
  }

  private isBroadcastAddr(addr: number): boolean {
    return addr === 0xffffffff || addr === this.broadcast;
  }

  /** RFC 1122 §3.2.1.3: addresses that may not be a source. */
  private badSource(src: number): boolean {
    const top = src >>> 24;
    return (
      src === 0xffffffff ||
      src === this.broadcast ||
      (top >= 224 && top <= 239) ||
      top === 127 ||
      src === this.address
    );
  }

  /** The IPv4 datagram at `buf[at..]` (a frame after its Ethernet header, or a looped-back datagram). */
  private ipInput(buf: Uint8Array, at: number, id: number, loopback = false): void {
    const c = this.counters;
    c.ip.in++;
    if (this.tcpFastInput(buf, at, id)) return;
    const p = at === 0 ? buf : buf.subarray(at);
    // RFC 1812 §5.2.2 / RFC 1122 §3.2.1.1–3.2.1.8: the checks a received datagram must pass.
    const r = parseIpv4(p);
    if (!r.ok) {
      const code = r.error.code;
      const reason: RxDropReason =
        code === 'bad-version'
          ? 'ip-bad-version'
          : code === 'bad-total-length'
            ? 'ip-bad-total-length'
            : p.length > 0 && (p[0] & 0x0f) < 5
              ? 'ip-bad-header-length'
              : 'ip-truncated';
      return this.rxDrop('bypass.ip', reason, id);
    }
    const ip = r.value;
    if (!ip.checksumValid) return this.rxDrop('bypass.ip', 'ip-bad-checksum', id);
    if (ip.truncated) return this.rxDrop('bypass.ip', 'ip-truncated', id);
    if (ip.optionsError !== undefined) return this.rxDrop('bypass.ip', 'ip-bad-options', id);
    // RFC 1122 §3.2.1.7: a host must not send TTL 0, so one that arrives is broken (TTL 1 is fine here).
    if (ip.ttl === 0) return this.rxDrop('bypass.ip', 'ip-ttl-zero', id);
    const dst = ip.dst;
    if (dst !== this.address && !this.isBroadcastAddr(dst)) return this.rxDrop('bypass.ip', 'ip-not-for-us', id);
    if (this.badSource(ip.src) && !(loopback && ip.src === this.address)) return this.rxDrop('bypass.ip', 'ip-bad-source', id);
    if (ip.moreFragments || ip.fragmentOffset !== 0) {
      const res = this.reassembler.add(
        ip.src,
        ip.dst,
        ip.protocol,
        ip.identification,
        ip.fragmentOffset,
        ip.moreFragments,
        p.subarray(0, ip.headerLen),
        ip.payload,
        this.now,
        (d) => this.reassemblyExpired(d, 'frag-evicted'),
      );
      if (res.kind === 'drop') return this.rxDrop('bypass.ip', res.reason, id);
      if (res.kind === 'held') {
        c.rx.held++;
        this.hop('bypass.ip', 'rx', 'deliver', id);
        return;
      }
      // RFC 791: the reassembled datagram goes on as if it had arrived whole.
      c.rx.held++;
      this.hop('bypass.ip', 'rx', 'deliver', id);
      const whole = res.datagram;
      whole[6] = 0;
      whole[7] = 0;
      whole[2] = whole.length >>> 8;
      whole[3] = whole.length & 0xff;
      whole[10] = 0;
      whole[11] = 0;
      const sum = internetChecksum(whole, 0, res.headerLen);
      whole[10] = sum >>> 8;
      whole[11] = sum & 0xff;
      const rr = parseIpv4(whole);
      c.ip.reassembled++;
      if (!rr.ok) return this.rxDrop('bypass.ip', 'frag-inconsistent', id);
      return this.transportInput(rr.value, whole, id);
    }
    // The datagram without link padding (a full-sized frame has none: no new view needed).
    this.transportInput(ip, p.length === ip.totalLength ? p : p.subarray(0, ip.totalLength), id);
  }

  /**
   * The common case read in place, without building an Ipv4Packet: an unfragmented TCP datagram for
   * our address with a 20-byte header that passes every check `ipInput` makes. Anything else, and
   * anything wrong, returns false and takes the general path, which says why it drops.
   */
  private tcpFastInput(buf: Uint8Array, at: number, id: number): boolean {
    // Version 4 and IHL 5 (no options), TCP, not cut short, TTL not 0.
    const avail = buf.length - at;
    if (avail < IPV4_MIN_HEADER_LEN || buf[at + IPV4_FIELD.VER_IHL] !== 0x45 || buf[at + IPV4_FIELD.PROTOCOL] !== IP_PROTOCOL.TCP) return false;
    const total = read16(buf, at + IPV4_FIELD.TOTAL_LENGTH);
    if (total < IPV4_MIN_HEADER_LEN || total > avail || buf[at + IPV4_FIELD.TTL] === 0) return false;
    // Neither MF nor a fragment offset: DF and the reserved bit are left, which the general path ignores too.
    if ((read16(buf, at + IPV4_FIELD.FLAGS_FRAG) & 0x3fff) !== 0) return false;
    const dst = readIpv4(buf, at + IPV4_FIELD.DST);
    const src = readIpv4(buf, at + IPV4_FIELD.SRC);
    if (dst !== this.address || this.badSource(src)) return false;
    if (internetChecksum(buf, at, IPV4_MIN_HEADER_LEN) !== 0) return false;
    this.hop('bypass.ip', 'rx', 'pass', id);
    this.rxCtx.src = src;
    this.rxCtx.dst = dst;
    this.tcpInput(buf, at + IPV4_MIN_HEADER_LEN, at + total, id);
    return true;
  }

  private transportInput(ip: Ipv4Packet, datagram: Uint8Array, id: number): void {
    this.hop('bypass.ip', 'rx', 'pass', id);
    switch (ip.protocol) {
      case IP_PROTOCOL.TCP:
        this.rxCtx.src = ip.src;
        this.rxCtx.dst = ip.dst;
        return this.tcpInput(ip.payload, 0, ip.payload.length, id);
      case IP_PROTOCOL.UDP:
        return this.udpInput(ip, datagram, id);
      case IP_PROTOCOL.ICMP:
        return this.icmpInput(ip, id);
      default:
        // RFC 1122 §3.2.2.1: a host SHOULD send protocol unreachable for a transport it lacks.
        this.icmpError(ip, datagram, 'unreachable', ICMPV4_UNREACHABLE.PROTOCOL);
        return this.rxDrop('bypass.ip', 'ip-unknown-protocol', id);
    }
  }

  /**
   * Sends the transport data already written at `buf[L4 .. L4+len)` from `txCtx.src` to `txCtx.dst`.
   * Fragments above the MTU unless `df`; with DF an oversized datagram fails with EMSGSIZE, as Linux
   * tells a local socket. `buf` is `tx`, or a frame buffer from the device sized for a datagram
   * within the MTU.
   */
  private ipOutput(protocol: number, len: number, df: boolean, id: number, buf: Uint8Array = this.tx, tso = false): SendResult {
    const c = this.counters;
    const src = this.txCtx.src;
    const dst = this.txCtx.dst;
    // A TSO segment is one packet up to the device's limit: the device cuts it to the MTU.
    const mtu = tso ? this.tsoMaxBytes : this.device.mtu;
    let nextHop = dst;
    const broadcast = this.isBroadcastAddr(dst);
    if (dst !== this.address && !broadcast && !this.onLink(dst)) {
      if (this.gateway === undefined) {
        this.txDrop('bypass.ip', 'no-route', id);
        return 'ENETUNREACH';
      }
      nextHop = this.gateway;
    }
    const total = IPV4_MIN_HEADER_LEN + len;
    if (total > mtu && df) {
      this.txDrop('bypass.ip', 'too-big', id);
      return 'EMSGSIZE';
    }
    const ident = this.nextIpId();
    if (total <= mtu) {
      this.writeIpHeader(buf, src, dst, protocol, len, df, false, 0, ident);
      c.ip.out++;
      this.hop('bypass.ip', 'tx', 'pass', id);
      if (dst === this.address) {
        this.loopback.push({ packet: buf.slice(ETH, ETH + total), packetId: id });
        return 'ok';
      }
      // A lent frame buffer goes out as the very object the device lent, or it would be copied.
      this.linkOutput(buf.length === ETH + total ? buf : buf.subarray(0, ETH + total), nextHop, broadcast, id);
      return 'ok';
    }
    // RFC 791 §3.2 fragmentation: 8-octet units, MF on all but the last, the same identification.
    const unit = (this.device.mtu - IPV4_MIN_HEADER_LEN) & ~7;
    for (let off = 0; off < len; off += unit) {
      const n = Math.min(unit, len - off);
      const more = off + n < len;
      const frag = this.fragBuf;
      frag.set(buf.subarray(L4 + off, L4 + off + n), L4);
      this.writeIpHeader(frag, src, dst, protocol, n, false, more, off, ident);
      c.ip.out++;
      c.ip.fragmentsOut++;
      const fid = off === 0 ? id : this.ids.next();
      this.hop('bypass.ip', 'tx', 'pass', fid);
      if (dst === this.address) this.loopback.push({ packet: frag.slice(ETH, L4 + n), packetId: fid });
      else this.linkOutput(frag.subarray(0, L4 + n), nextHop, broadcast, fid);
    }
    return 'ok';
  }

  private writeIpHeader(buf: Uint8Array, src: number, dst: number, protocol: number, len: number, df: boolean, mf: boolean, offset: number, ident: number): void {
    const r = this.ipRepr;
    r.src = src;
    r.dst = dst;
    r.protocol = protocol;
    r.ttl = this.ttl;
    r.identification = ident;
    r.dontFragment = df;
    r.moreFragments = mf;
    r.fragmentOffset = offset;
    r.payloadLength = len;
    emitIpv4(r, buf, ETH);
  }

  private nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  private reassemblyExpired(d: ExpiredDatagram, reason: 'frag-timeout' | 'frag-evicted'): void {
    this.counters.txDrops[reason] = (this.counters.txDrops[reason] ?? 0) + 1;
    // RFC 792 / RFC 1122 §3.3.2: time exceeded (code 1) only if fragment zero arrived.
    if (reason === 'frag-timeout' && d.quote !== undefined) {
      const r = parseIpv4(d.quote);
      if (r.ok) this.icmpError(r.value, d.quote, 'timeExceeded', ICMPV4_TIME_EXCEEDED.REASSEMBLY);
    }
  }

  // ───────────────────────── ICMP ─────────────────────────

  private icmpInput(ip: Ipv4Packet, id: number): void {
    const c = this.counters;
    c.icmp.in++;
    const r = parseIcmpv4(ip.payload);
    if (!r.ok) return this.rxDrop('bypass.icmp', 'icmp-truncated', id);
    const m = r.value;
    if (!m.checksumValid) return this.rxDrop('bypass.icmp', 'icmp-bad-checksum', id);
    switch (m.kind) {
      case 'echoRequest':
        // Linux icmp_echo_ignore_broadcasts = 1 (RFC 1122 §3.2.2.6 leaves it to the host).
        if (this.isBroadcastAddr(ip.dst)) return this.rxDrop('bypass.icmp', 'icmp-echo-broadcast', id);
        // RFC 792 / RFC 1122 §3.2.2.6: the reply carries the request's identifier, sequence and data.
        this.sendIcmp(ip.src, { kind: 'echoReply', identifier: m.identifier, sequence: m.sequence, data: m.data });
        return this.rxDeliver('bypass.icmp', id);
      case 'echoReply':
        if (this.echoReplies.length === 0) this.defer(this);
        this.echoReplies.push({ src: ip.src, identifier: m.identifier, sequence: m.sequence, data: m.data.slice(), time: this.now });
        return this.rxDeliver('bypass.icmp', id);
      case 'destinationUnreachable':
      case 'timeExceeded':
        if (this.icmpErrorInput(m)) return this.rxDeliver('bypass.icmp', id);
        return this.rxDrop('bypass.icmp', 'icmp-error-no-socket', id);
      case 'redirect':
        // RFC 1122 §3.2.2.2 says a host SHOULD update its routes; this stack keeps its static ones.
        return this.rxDrop('bypass.icmp', 'icmp-redirect-ignored', id);
      case 'unknown':
        return this.rxDrop('bypass.icmp', 'icmp-unhandled-type', id);
    }
  }

  /** RFC 1122 §3.2.2.1 / §4.2.3.9: hand an ICMP error to the transport socket whose datagram it quotes. */
  private icmpErrorInput(m: Icmpv4Packet): boolean {
    const q = m.quoted;
    if (q === undefined || q.header.src !== this.address || q.srcPort === undefined || q.dstPort === undefined) return false;
    let code: string;
    let hard: boolean;
    if (m.kind === 'destinationUnreachable') {
      [code, hard] = UNREACH_ERRNO[m.code] ?? ['EHOSTUNREACH', false];
    } else {
      code = 'EHOSTUNREACH';
      hard = false;
    }
    return this.localError(q.header, q.header.payload, code, hard, true);
  }

  /**
   * An error about a datagram we sent (`header`; `l4` its transport bytes, perhaps cut short), from
   * ICMP or from a failed ARP resolution. Returns whether a socket took it.
   */
  private localError(header: Ipv4Packet, l4: Uint8Array, code: string, hard: boolean, fromIcmp = false): boolean {
    const l4bytes = fromIcmp ? l4 : l4.subarray(header.headerLen);
    if (l4bytes.length < 4) return false;
    const sport = read16(l4bytes, 0);
    const dport = read16(l4bytes, 2);
    if (header.protocol === IP_PROTOCOL.UDP) {
      const ep = this.udpPorts.get(sport);
      if (ep === undefined) return false;
      ep.icmpError(code, hard && ep.remotePort === dport && ep.remoteAddr === header.dst);
      return true;
    }
    if (header.protocol === IP_PROTOCOL.TCP) {
      const e = this.tcp.lookup(header.src, sport, header.dst, dport);
      if (e === undefined) return false;
      const state = e.conn.state;
      if (l4bytes.length >= 8) {
        // Linux tcp_v4_err: the quoted sequence number must lie in [SND.UNA, SND.NXT].
        const s = ((l4bytes[4] << 24) | (l4bytes[5] << 16) | (l4bytes[6] << 8) | l4bytes[7]) >>> 0;
        const v = e.conn.vars();
        if (((s - v.sndUna) | 0) < 0 || ((v.sndNxt - s) | 0) < 0) return false;
      }
      if ((state === 'SYN-SENT' || state === 'SYN-RECEIVED') && code !== 'EMSGSIZE') {
        // RFC 1122 §4.2.3.9 lets an error abort a connection that is being opened; Linux's tcp_v4_err
        // does so for every unreachable (but fragmentation needed) and time exceeded.
        e.hardError = code;
        this.busy++;
        try {
          e.conn.abort(this.now);
          this.flushConn(e);
        } finally {
          this.busy--;
        }
      } else {
        // Soft error: remembered, reported if the connection later times out.
        e.softError = code;
      }
      return true;
    }
    return false;
  }

  private sendIcmp(dst: number, repr: Icmpv4Repr): void {
    this.observer?.txBegin?.();
    const len = icmpv4Len(repr);
    emitIcmpv4(repr, this.tx, L4);
    this.counters.icmp.out++;
    const id = this.ids.next();
    this.hop('bypass.icmp', 'tx', 'pass', id);
    this.txCtx.src = this.address;
    this.txCtx.dst = dst;
    this.ipOutput(IP_PROTOCOL.ICMP, len, false, id);
  }

  /** An ICMP error about `ip` (whose bytes are `datagram`), within RFC 1122 §3.2.2's limits and the rate limit. */
  private icmpError(ip: Ipv4Packet, datagram: Uint8Array, kind: 'unreachable' | 'timeExceeded', code: number): void {
    // RFC 1122 §3.2.2: never about a broadcast, a non-initial fragment, a non-unicast source or an ICMP error.
    if (this.isBroadcastAddr(ip.dst) || ip.fragmentOffset !== 0 || this.badSource(ip.src) || ip.src === 0) return;
    if (ip.protocol === IP_PROTOCOL.ICMP) {
      const t = datagram[ip.headerLen];
      if (t !== 0 && t !== 8 && t !== 13 && t !== 14) return;
    }
    if (!this.icmpLimiter.allow(ip.src, this.now)) {
      this.counters.txDrops['icmp-rate-limited'] = (this.counters.txDrops['icmp-rate-limited'] ?? 0) + 1;
      return;
    }
    const quote = datagram.slice(0, Math.min(datagram.length, ip.headerLen + ICMP_QUOTE_MAX));
    const repr: Icmpv4Repr =
      kind === 'unreachable' ? { kind: 'destinationUnreachable', code, nextHopMtu: 0, quote } : { kind: 'timeExceeded', code, quote };
    this.sendIcmp(ip.src, repr);
  }

  /** Sends an ICMP echo request (RFC 792); replies arrive through `onEchoReply`. */
  ping(dst: number, identifier: number, sequence: number, data: Uint8Array = new Uint8Array(0)): void {
    this.sendIcmp(dst >>> 0, { kind: 'echoRequest', identifier, sequence, data });
  }

  // ───────────────────────── UDP ─────────────────────────

  private udpInput(ip: Ipv4Packet, datagram: Uint8Array, id: number): void {
    const c = this.counters;
    c.udp.in++;
    this.rxCtx.src = ip.src;
    this.rxCtx.dst = ip.dst;
    const r = parseUdp(ip.payload, this.rxChecksumTrusted ? undefined : this.rxCtx);
    if (!r.ok) return this.rxDrop('bypass.udp', r.error.code === 'truncated' ? 'udp-truncated' : 'udp-bad-length', id);
    const u = r.value;
    // RFC 768: the length field may not claim more than the IP datagram carries.
    if (u.truncated) return this.rxDrop('bypass.udp', 'udp-bad-length', id);
    if (u.checksumValid === false) return this.rxDrop('bypass.udp', 'udp-bad-checksum', id);
    const ep = this.udpPorts.get(u.dstPort);
    if (ep === undefined) {
      // RFC 1122 §4.1.3.1: port unreachable for a unicast datagram nobody listens for.
      this.icmpError(ip, datagram, 'unreachable', ICMPV4_UNREACHABLE.PORT);
      return this.rxDrop('bypass.udp', 'udp-no-socket', id);
    }
    if (ep.remotePort !== 0 && (ep.remotePort !== u.srcPort || ep.remoteAddr !== ip.src)) return this.rxDrop('bypass.udp', 'udp-wrong-peer', id);
    this.hop('bypass.udp', 'rx', 'pass', id);
    if (!ep.deliver(ip.src, u.srcPort, u.payload, id)) return this.rxDrop('bypass.socket', 'udp-rcvbuf-full', id);
    c.socket.in++;
    this.rxDeliver('bypass.socket', id);
  }

  /** Binds a UDP endpoint; port 0 picks an ephemeral port. Returns the port or an errno. */
  udpBind(port: number, ep: UdpEndpoint): number | 'EADDRINUSE' {
    if (port === 0) {
      const p = this.pickPort((q) => !this.udpPorts.has(q));
      if (p === undefined) return 'EADDRINUSE';
      port = p;
    } else if (this.udpPorts.has(port)) {
      return 'EADDRINUSE';
    }
    this.udpPorts.set(port, ep);
    return port;
  }

  udpUnbind(port: number, ep: UdpEndpoint): void {
    if (this.udpPorts.get(port) === ep) this.udpPorts.delete(port);
  }

  /** Sends one datagram (RFC 768, checksum always computed). */
  udpSend(srcPort: number, dst: number, dstPort: number, payload: Uint8Array, dontFragment: boolean): SendResult {
    if (payload.length > MAX_UDP_PAYLOAD) return 'EMSGSIZE';
    this.observer?.txBegin?.();
    dst >>>= 0;
    const id = this.ids.next();
    this.txCtx.src = this.address;
    this.txCtx.dst = dst;
    const len = emitUdp({ srcPort, dstPort, payload }, this.tx, L4, this.txCtx);
    this.counters.socket.out++;
    this.counters.udp.out++;
    this.hop('bypass.socket', 'tx', 'pass', id);
    this.hop('bypass.udp', 'tx', 'pass', id);
    this.busy++;
    try {
      return this.ipOutput(IP_PROTOCOL.UDP, len, dontFragment, id);
    } finally {
      this.busy--;
    }
  }

  // ───────────────────────── TCP ─────────────────────────

  /**
   * A TCP segment (`buf[start, end)`: the IP payload) from `rxCtx.src` to `rxCtx.dst`. The addresses
   * come in rxCtx, where the checksum needs them, rather than as arguments: ours are above 2^31, not
   * small integers, and V8 boxes such a number for each call it does not inline (16 bytes of garbage).
   */
  private tcpInput(buf: Uint8Array, start: number, end: number, id: number): void {
    this.counters.tcp.in++;
    if (this.isBroadcastAddr(this.rxCtx.dst)) return this.rxDrop('bypass.tcp', 'tcp-broadcast', id);
    if (this.rxSegBusy) return this.tcpInputWith(new TcpPacketBuffer(), buf, start, end, id);
    this.rxSegBusy = true;
    try {
      this.tcpInputWith(this.rxSeg, buf, start, end, id);
    } finally {
      this.rxSegBusy = false;
    }
  }

  /** tcpInput, parsing into `seg`. Nothing keeps `seg` (or its options or payload) past the call: the connection copies the data. */
  private tcpInputWith(seg: TcpPacketBuffer, buf: Uint8Array, start: number, end: number, id: number): void {
    const src = this.rxCtx.src;
    const dst = this.rxCtx.dst;
    // A checksum the device vouches for (or left partial on this host) is not summed again.
    const err = seg.parse(buf, start, end, this.rxChecksumTrusted ? undefined : this.rxCtx);
    if (err !== undefined) {
      const code = err.code;
      return this.rxDrop('bypass.tcp', code === 'truncated' ? 'tcp-truncated' : code === 'bad-option' ? 'tcp-bad-option' : 'tcp-bad-header-length', id);
    }
    if (seg.checksumValid === false) return this.rxDrop('bypass.tcp', 'tcp-bad-checksum', id);
    if (seg.srcPort === 0 || seg.dstPort === 0) return this.rxDrop('bypass.tcp', 'tcp-bad-port', id);
    this.currentPacket = id;
    this.dataForSocket = false;
    const e = this.tcp.lookup(dst, seg.dstPort, src, seg.srcPort);
    if (e !== undefined) {
      const res = e.conn.process(seg, this.now, id);
      this.currentPacket = 0;
      // coalesceAcks: held to the end of the poll, unless the ACK would cover more than
      // COALESCE_MAX_BYTES (a batch of GSO frames): the sender's ACK clock must keep ticking.
      if (!this.coalesceAcks || e.conn.unackedReceived >= COALESCE_MAX_BYTES) this.flushConn(e);
      else if (!e.flushQueued) {
        e.flushQueued = true;
        this.received[this.receivedCount++] = e;
      }
      if (res === 'ok') {
        this.rxDeliver('bypass.tcp', id);
        if (this.dataForSocket) {
          this.counters.socket.in++;
          this.hop('bypass.socket', 'rx', 'deliver', id);
        }
        return;
      }
      // 'reopen': a SYN ended TIME-WAIT (RFC 6191); the listener takes it as a new connection.
    }
    const l = this.listeners.get(seg.dstPort);
    if (l !== undefined && l.listener.listening) {
      const res = l.listener.process(seg, src, dst, this.now, id);
      switch (res.kind) {
        case 'spawned': {
          const child = this.register(res.conn);
          this.flushConn(child);
          if (res.conn.state === 'CLOSED') this.unregister(child);
          return this.rxDeliver('bypass.tcp', id);
        }
        case 'reset':
          this.sendReset(res.seg);
          return this.rxDrop('bypass.tcp', 'tcp-no-socket', id);
        case 'drop':
          return this.rxDrop('bypass.tcp', LISTEN_DROP[res.reason], id);
      }
    }
    // RFC 9293 §3.10.7.1: a segment for no connection is answered with a reset (unless it is one).
    const rst = resetFor(seg);
    if (rst !== undefined) this.sendReset(rst);
    this.rxDrop('bypass.tcp', 'tcp-no-socket', id);
  }

  /** A reset answering the segment being received (its addresses in rxCtx). */
  private sendReset(rst: TcpRepr): void {
    this.txCtx.src = this.rxCtx.dst;
    this.txCtx.dst = this.rxCtx.src;
    this.sendTcp(rst);
  }

  /**
   * Emits everything a connection has to send now. Each segment is written into its frame before
   * the next is looked at, so the connection lends its segment records, options and payloads (views
   * into its send buffer) instead of making new ones.
   */
  private flushConn(e: TcpEntry): void {
    e.flushQueued = false;
    const outer = this.flushing;
    this.flushing = e;
    try {
      e.conn.dispatchTo(this.now, this.segmentOut);
    } finally {
      this.flushing = outer;
    }
  }

  /** A segment of the connection being flushed (flushConn). */
  private sendFlushed(seg: TcpRepr): void {
    const e = this.flushing!;
    this.txCtx.src = e.localAddr;
    this.txCtx.dst = e.remoteAddr;
    this.sendTcp(seg, this.tsoMaxBytes > 0 ? e.conn.segmentSize : 0);
  }

  /**
   * Builds and sends one segment from `txCtx.src` to `txCtx.dst` (see tcpInput for why addresses
   * travel there). With a device that finishes checksums the TCP checksum is left as the
   * pseudo-header sum; a segment larger than one frame (TSO, from a connection whose pieces are
   * `pieces` bytes) goes out whole for the device to cut.
   */
  private sendTcp(seg: TcpRepr, pieces = 0): void {
    this.observer?.txBegin?.();
    const src = this.txCtx.src;
    const dst = this.txCtx.dst;
    const mtu = this.device.mtu;
    const want = tcpBufferLen(seg);
    // Not on loopback: the datagram comes straight back in and is checked.
    const partial = this.device.offloads?.txChecksum === true && dst !== this.address;
    const tso = partial && pieces > 0 && want + IPV4_MIN_HEADER_LEN > mtu && want + IPV4_MIN_HEADER_LEN <= this.tsoMaxBytes;
    const ctx = partial ? undefined : this.txCtx;
    // A device that lends frame buffers gets the segment built in one, not copied out of `tx`.
    let buf: Uint8Array = this.tx;
    if (this.device.frameBuffer !== undefined && want + IPV4_MIN_HEADER_LEN <= (tso ? this.tsoMaxBytes : mtu)) {
      buf = this.device.frameBuffer(L4 + want);
    }
    let len = emitTcp(seg, buf, L4, ctx);
    if (!tso && len + IPV4_MIN_HEADER_LEN > mtu) {
      const trimmed = trimSack(seg, len + IPV4_MIN_HEADER_LEN - mtu);
      if (trimmed !== seg) {
        this.counters.sackTrimmed++;
        len = emitTcp(trimmed, buf, L4, ctx);
      }
    }
    if (ctx === undefined) {
      writePartialTcpChecksum(buf, L4, src, dst, len);
      const o = this.txOff;
      const hdr = len - seg.payload.length;
      o.csumStart = L4;
      o.csumOffset = 16;
      o.hdrLen = L4 + hdr;
      // Each piece carries the same headers and must fit the MTU.
      o.gsoSize = tso ? Math.min(pieces, mtu - IPV4_MIN_HEADER_LEN - hdr) : 0;
      this.pendingTx = o;
      if (tso) this.counters.tsoSegments++;
    }
    this.counters.tcp.out++;
    const id = this.ids.next();
    this.hop('bypass.tcp', 'tx', 'pass', id);
    // Linux sets DF on TCP (path MTU discovery); the MSS already fits the device MTU.
    try {
      this.ipOutput(IP_PROTOCOL.TCP, len, true, id, buf, tso);
    } finally {
      this.pendingTx = undefined;
    }
  }

  private register(conn: TcpConnection): TcpEntry {
    const e = this.tcp.insert(conn);
    this.entryOfConn.set(conn.id, e);
    this.tcpPortUse.set(e.localPort, (this.tcpPortUse.get(e.localPort) ?? 0) + 1);
    conn.events = (ev) => this.onConnEvent(e, ev);
    return e;
  }

  private unregister(e: TcpEntry): void {
    if (!e.live) return;
    this.tcp.remove(e);
    this.entryOfConn.delete(e.conn.id);
    const n = (this.tcpPortUse.get(e.localPort) ?? 1) - 1;
    if (n <= 0) this.tcpPortUse.delete(e.localPort);
    else this.tcpPortUse.set(e.localPort, n);
  }

  private onConnEvent(e: TcpEntry, ev: TcpEvent): void {
    const o = e.owner;
    switch (ev.kind) {
      case 'closed':
        this.unregister(e);
        if (e.hardError !== undefined) {
          const code = e.hardError;
          e.hardError = undefined;
          o?.onTcpEvent(e, 'error', code);
        }
        o?.onTcpEvent(e, 'closed', undefined);
        return;
      case 'error': {
        const code = e.hardError ?? (ev.code === 'ETIMEDOUT' && e.softError !== undefined ? e.softError : ev.code);
        e.hardError = undefined;
        o?.onTcpEvent(e, 'error', code);
        return;
      }
      case 'readable':
        // The segment being processed put data in the receive buffer: its bypass.socket hop
        // follows its bypass.tcp one (see tcpInput).
        if (this.busy > 0 && this.currentPacket !== 0) this.dataForSocket = true;
        o?.onTcpEvent(e, ev.kind, undefined);
        return;
      case 'connected':
      case 'writable':
      case 'end':
        o?.onTcpEvent(e, ev.kind, undefined);
        return;
    }
  }

  /** Active open (RFC 9293 §3.10.1) to `remoteAddr:remotePort`; the SYN leaves at the next poll. */
  tcpConnect(remoteAddr: number, remotePort: number, owner: TcpOwner, localPort = 0): TcpEntry | 'EADDRINUSE' | 'ENETUNREACH' {
    remoteAddr >>>= 0;
    if (remoteAddr !== this.address && !this.onLink(remoteAddr) && this.gateway === undefined) return 'ENETUNREACH';
    if (localPort === 0) {
      const p = this.pickPort((q) => !this.listeners.has(q) && this.tcp.lookup(this.address, q, remoteAddr, remotePort) === undefined);
      if (p === undefined) return 'EADDRINUSE';
      localPort = p;
    } else if (this.tcp.lookup(this.address, localPort, remoteAddr, remotePort) !== undefined) {
      return 'EADDRINUSE';
    }
    const conn = new TcpConnection(this.tcpContext, { localAddr: this.address, localPort, remoteAddr, remotePort });
    const e = this.register(conn);
    e.owner = owner;
    conn.connect(this.now);
    return e;
  }

  /** Passive open: a listener on `port` (0 picks an ephemeral one). `onAcceptable` runs deferred. */
  tcpListen(port: number, backlog: number, onAcceptable: () => void): TcpListener | 'EADDRINUSE' {
    if (port === 0) {
      const p = this.pickPort((q) => !this.listeners.has(q) && !this.tcpPortUse.has(q));
      if (p === undefined) return 'EADDRINUSE';
      port = p;
    } else if (this.listeners.has(port)) {
      return 'EADDRINUSE';
    }
    const listener = new TcpListener(this.tcpContext, this.address, port, backlog);
    const rec: ListenRecord = { listener, onAcceptable };
    let queued = false;
    const task: DeferredTask = {
      runDeferred: () => {
        queued = false;
        rec.onAcceptable?.();
      },
    };
    listener.onAcceptable = () => {
      if (!queued) {
        queued = true;
        this.defer(task);
      }
    };
    this.listeners.set(port, rec);
    return listener;
  }

  /** Closes a listener: children not yet accepted are reset. */
  tcpUnlisten(listener: TcpListener): void {
    const rec = this.listeners.get(listener.localPort);
    if (rec?.listener !== listener) return;
    this.listeners.delete(listener.localPort);
    rec.onAcceptable = undefined;
    this.busy++;
    try {
      listener.close(this.now);
    } finally {
      this.busy--;
    }
  }

  /** The stack's record of a connection a listener handed out (by `accept()`). */
  tcpEntry(conn: TcpConnection): TcpEntry | undefined {
    return this.entryOfConn.get(conn.id);
  }

  /** Lets application calls that change a connection (abort, close) send what they produce now. */
  tcpKick(e: TcpEntry): void {
    if (this.busy > 0) {
      this.kicked.push(e);
      return;
    }
    this.busy++;
    try {
      this.flushConn(e);
    } finally {
      this.busy--;
    }
  }

  private pickPort(free: (port: number) => boolean): number | undefined {
    const [lo, hi] = this.ephemeral;
    const span = hi - lo + 1;
    const start = this.rng.nextU32() % span;
    for (let i = 0; i < span; i++) {
      const p = lo + ((start + i) % span);
      if (free(p)) return p;
    }
    return undefined;
  }

  // ───────────────────────── accounting ─────────────────────────

  private hop(layer: Layer, dir: Direction, verdict: Verdict, id: number): void {
    const o = this.observer;
    if (o !== undefined && o.hop !== undefined) o.hop(layer, dir, verdict, id, this.now);
  }

  private rxDrop(layer: Layer, reason: RxDropReason, id: number): void {
    const c = this.counters;
    c.rx.dropped++;
    c.rxDrops[reason] = (c.rxDrops[reason] ?? 0) + 1;
    if (this.observer?.hop !== undefined) this.hop(layer, 'rx', dropVerdict(reason), id);
  }

  private rxDeliver(layer: Layer, id: number): void {
    this.counters.rx.delivered++;
    this.hop(layer, 'rx', 'deliver', id);
  }

  private txDrop(layer: Layer, reason: TxDropReason, id: number): void {
    const c = this.counters;
    c.txDrops[reason] = (c.txDrops[reason] ?? 0) + 1;
    if (this.observer?.hop !== undefined) this.hop(layer, 'tx', dropVerdict(reason), id);
  }
}

const LISTEN_DROP: Record<'rst' | 'no-syn' | 'syn-queue-full' | 'accept-queue-full' | 'closed', RxDropReason> = {
  rst: 'tcp-listen-rst',
  'no-syn': 'tcp-listen-no-syn',
  'syn-queue-full': 'tcp-listen-syn-queue-full',
  'accept-queue-full': 'tcp-listen-accept-queue-full',
  closed: 'tcp-listen-closed',
};

/**
 * Guards the MTU: a segment whose options would push it past the MTU (RFC 6691: data must shrink to
 * make room for options) loses SACK blocks, which are advisory (RFC 2018 §8), instead of being
 * dropped as too big. Counted in `counters.sackTrimmed`, which stays 0 while the tcp module sizes
 * its data for the options it adds (an earlier version did not, and deadlocked under loss).
 */
export function trimSack(seg: TcpRepr, over: number): TcpRepr {
  const i = seg.options.findIndex((o) => o.kind === 'sack');
  if (i < 0) return seg;
  const opt = seg.options[i];
  if (opt.kind !== 'sack') return seg;
  const keep = opt.blocks.length - Math.ceil(over / 8);
  const options = seg.options.slice();
  if (keep > 0) {
    options[i] = { kind: 'sack', blocks: opt.blocks.slice(0, keep) };
  } else {
    // The option and the two NOPs that align it.
    const from = i >= 2 && options[i - 1].kind === 'nop' && options[i - 2].kind === 'nop' ? i - 2 : i;
    options.splice(from, i - from + 1);
  }
  return { ...seg, options };
}

function isBroadcastMac(frame: Uint8Array): boolean {
  return (frame[0] & frame[1] & frame[2] & frame[3] & frame[4] & frame[5]) === 0xff;
}

