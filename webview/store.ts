// webview/store: what the webview holds of a capture — decoded packet rows (with their tcpdump-style
// summaries), TCP transitions, connections and statistics — and the filtered view of the rows.
import { StringTable, decodeBatch } from '../engine/trace/codec';
import { PacketFlag, type ConnectionInfo, type Hop, type PathName, type TraceBatch, type TraceStats, type TransitionRecord } from '../engine/trace/schema';
import { ipv4ToString } from '../engine/wire/address';
import { dissect } from '../engine/wire/dissect';
import { SummaryContext, summarize } from '../engine/wire/summary';
import type { WireBatch } from './protocol';

export interface PacketRow {
  readonly id: number;
  readonly timeNs: number;
  readonly direction: 'rx' | 'tx';
  readonly path: PathName;
  readonly rule: number;
  readonly flowId: number;
  readonly connId: number;
  readonly wireLen: number;
  readonly flags: number;
  readonly hops: readonly Hop[];
  readonly bytes: Uint8Array;
  readonly src: string;
  readonly dst: string;
  readonly protocol: string;
  readonly info: string;
  /** TCP: seq, ack, payload length and flags, for the ladder. */
  readonly tcp?: { readonly seq: number; readonly ack: number; readonly len: number; readonly flags: number; readonly window: number; readonly srcPort: number };
  /** The hop that dropped it, if any. */
  readonly drop?: Hop;
  /** Retransmission: flagged by the engine, or the same TCP sequence range seen before in this direction. */
  readonly retransmission: boolean;
}

export class TraceStore {
  readonly rows: PacketRow[] = [];
  readonly byId = new Map<number, number>();
  readonly transitions: TransitionRecord[] = [];
  readonly connections = new Map<number, ConnectionInfo>();
  readonly stats: TraceStats[] = [];
  recordsDropped = 0;
  batchesSeen = 0;
  private strings = new StringTable();
  private summary = new SummaryContext();
  private readonly seenSeq = new Map<string, number>();
  private readonly incarnation = new Map<string, { n: number; synSeq: number }>();
  private readonly listeners: (() => void)[] = [];

  onChange(f: () => void): void {
    this.listeners.push(f);
  }

  changed(): void {
    for (const f of this.listeners) f();
  }

  reset(): void {
    this.rows.length = 0;
    this.byId.clear();
    this.transitions.length = 0;
    this.connections.clear();
    this.stats.length = 0;
    this.seenSeq.clear();
    this.incarnation.clear();
    this.strings = new StringTable();
    this.summary = new SummaryContext();
    this.recordsDropped = 0;
    this.batchesSeen = 0;
    this.changed();
  }

  /** Decodes one batch; packets already held (a range answered twice) are skipped. Returns the error, if the batch was damaged. */
  addBatch(w: WireBatch): string | undefined {
    const batch: TraceBatch = {
      schema: w.schema as TraceBatch['schema'],
      seq: w.seq,
      records: new Uint8Array(w.records),
      recordCount: w.recordCount,
      strings: w.strings,
      dropped: w.dropped,
    };
    this.batchesSeen++;
    this.recordsDropped += w.dropped;
    try {
      decodeBatch(batch, this.strings, (r) => {
        if (r.type === 'transition') this.transitions.push(r);
        else if (!this.byId.has(r.packetId)) this.addPacket(r.packetId, r);
      });
    } catch (e) {
      return (e as Error).message;
    }
    return undefined;
  }

  private addPacket(id: number, r: Parameters<Parameters<typeof decodeBatch>[2]>[0] & { type: 'packet' }): void {
    const bytes = r.bytes.slice();
    const d = dissect(bytes);
    let src = '';
    let dst = '';
    let protocol = 'ETH';
    if (d.arp) {
      protocol = 'ARP';
      src = ipv4ToString(d.arp.senderProtocol);
      dst = ipv4ToString(d.arp.targetProtocol);
    } else if (d.ipv4) {
      src = ipv4ToString(d.ipv4.src);
      dst = ipv4ToString(d.ipv4.dst);
      protocol = d.tcp ? 'TCP' : d.udp ? 'UDP' : d.icmp ? 'ICMP' : `IP/${d.ipv4.protocol}`;
    } else if (d.ipv6) {
      protocol = 'IPv6';
    }
    let tcp: PacketRow['tcp'];
    let retransmission = (r.flags & PacketFlag.RETRANSMISSION) !== 0;
    if (d.tcp && d.ipv4) {
      const t = d.tcp;
      const len = d.ipv4.totalLength - d.ipv4.headerLen - t.headerLen;
      const flags = t.flags;
      tcp = { seq: t.seq, ack: t.ack, len, flags, window: t.window, srcPort: t.srcPort };
      if (len > 0 || (flags & 0x03) !== 0) {
        // A new SYN (not a retransmitted one) on a 4-tuple starts a new incarnation: port reuse is not retransmission.
        const a = `${src}:${t.srcPort}`, b = `${dst}:${t.dstPort}`;
        const tuple = a < b ? `${a}|${b}` : `${b}|${a}`;
        let inc = this.incarnation.get(tuple) ?? { n: 0, synSeq: -1 };
        if ((flags & 0x12) === 0x02 && inc.synSeq !== t.seq) {
          inc = { n: inc.n + 1, synSeq: t.seq };
          this.incarnation.set(tuple, inc);
        }
        const key = `${tuple}#${inc.n} ${a}/${t.seq}/${len}/${flags & 0x03}`;
        // A copy made by an impairment (duplicate) is not the sender sending again.
        if (this.seenSeq.has(key) && !(r.flags & PacketFlag.IMPAIRED)) retransmission = true;
        this.seenSeq.set(key, id);
      }
    }
    const info = summarize(d, r.wireLen, this.summary).replace(/^IP /, '');
    const row: PacketRow = {
      id,
      timeNs: r.timeNs,
      direction: r.direction,
      path: r.path,
      rule: r.rule,
      flowId: r.flowId,
      connId: r.connId,
      wireLen: r.wireLen,
      flags: r.flags,
      hops: r.hops,
      bytes,
      src,
      dst,
      protocol,
      info,
      tcp,
      drop: r.hops.find((h) => h.verdict === 'drop'),
      retransmission,
    };
    this.byId.set(id, this.rows.length);
    this.rows.push(row);
  }

  get(id: number): PacketRow | undefined {
    const i = this.byId.get(id);
    return i === undefined ? undefined : this.rows[i];
  }

  /** A connection's transitions in time order. */
  transitionsOf(connId: number): TransitionRecord[] {
    return this.transitions.filter((t) => t.connId === connId);
  }

  /** A connection's packets (both directions) in capture order. */
  packetsOf(connId: number): PacketRow[] {
    return this.rows.filter((r) => r.connId === connId);
  }

  /** For a connection that reaches the trace only by its packets (no ConnectionInfo yet). */
  connectionIds(): number[] {
    const ids = new Set<number>(this.connections.keys());
    for (const t of this.transitions) ids.add(t.connId);
    return [...ids].sort((a, b) => a - b);
  }
}
