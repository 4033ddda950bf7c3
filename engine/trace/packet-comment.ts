// trace: what a packet record says in a pcapng file — its packet comment (path, rule, direction,
// connection, checksum offload, hops) and its epb_flags bits. Every writer of trace records to pcapng
// (the CLI's `capture --out`, the extension's export) builds them here, and replay reads them back
// here, so the three cannot drift apart. No Node APIs: the extension imports this too.
import { EPB_FLAG_CHECKSUM_NOT_READY } from './capture-format';
import { PacketFlag, type Direction, type Hop, type HopKind, type LayerName, type PathName, type Verdict } from './schema';

/** The token that marks a record flagged OFFLOAD. */
export const OFFLOAD_TOKEN = 'csum=partial';

/** How the packet comments read, written into the file's section header (shb_comment). */
export const PCAPNG_COMMENT_FORMAT = `bypass-scope capture. Each packet's comment: path=PATH rule=RULE dir=rx|tx [conn=ID] [${OFFLOAD_TOKEN}] hops=HOP…, each HOP
LAYER@OFFSET[+DURATION][[KIND]][!drop:REASON|(NOTE)] in nanoseconds. DURATION is the time the layer spent on
this packet, measured on the CPU with a monotonic clock (nested packets not counted; left out when 0, for
instants); OFFSET is when the packet reached the layer: with virtual time (the sim and pcap backends, whose
packet timestamps are the network's virtual time) the sum of the durations before it, on real devices the
monotonic time since the packet's timestamp. KIND is [emulated] for our code standing in for Linux (the
emulated kernel: its measured cost, not Linux's) and [span] for a stretch that cannot be observed;
unmarked hops are measured. ${OFFLOAD_TOKEN} (with epb_flags bit 9, "checksum not ready") marks a frame that
crossed a device with checksum offload, as a TAP with offloads or a NIC carries them: its TCP/UDP checksum
is left partial (the pseudo-header sum only, folded and not inverted, as Linux's CHECKSUM_PARTIAL leaves it
for the device to complete) and it may be a TSO/GSO frame longer than the MTU. bypass-scope replays and
decodes such a checksum as partial (left to the device), not bad; tools that check checksums call it wrong.`;

/** One hop as the comment writes it: LAYER@OFFSET[+DURATION][[KIND]][!drop:REASON|(NOTE)], nanoseconds rounded. */
export function hopText(layer: LayerName, offsetNs: number, durationNs: number, kind: HopKind, verdict: Verdict, reason: string | undefined): string {
  const dur = Math.round(durationNs);
  let s = `${layer}@${Math.round(offsetNs)}${dur > 0 ? `+${dur}` : ''}${kind === 'measured' ? '' : `[${kind}]`}`;
  if (verdict === 'drop') s += `!drop:${reason ?? ''}`;
  else if (reason !== undefined) s += `(${reason})`;
  return s;
}

/** Decoded hops (a stored record's) as the comment writes them. */
export function hopsText(hops: readonly Hop[]): string {
  return hops.map((h) => hopText(h.layer, h.offsetNs, h.durationNs, h.kind, h.verdict, h.reason)).join(' ');
}

export interface CommentedRecord {
  readonly path: PathName;
  /** The rule's label: FILE:LINE, default, local, earlier, or '-' (transmitted frames). */
  readonly rule: string;
  readonly direction: Direction;
  /** 0: no connection. */
  readonly connId: number;
  /** PacketFlag bits of the record. */
  readonly flags: number;
  /** hopsText, or hopText of each hop joined with spaces. */
  readonly hops: string;
}

/** The packet comment of a record (PCAPNG_COMMENT_FORMAT). */
export function packetComment(r: CommentedRecord): string {
  const conn = r.connId ? ` conn=${r.connId}` : '';
  const offload = (r.flags & PacketFlag.OFFLOAD) !== 0 ? ` ${OFFLOAD_TOKEN}` : '';
  return `path=${r.path} rule=${r.rule} dir=${r.direction}${conn}${offload} hops=${r.hops}`;
}

/**
 * The epb_flags bits, besides the direction, for a record's flags (pcapng, "Enhanced Packet Block Flags Word"): bit 9, "checksum
 * not ready, as a consequence of checksum offloading", for OFFLOAD; undefined when none apply.
 */
export function epbFlags(flags: number): number | undefined {
  return (flags & PacketFlag.OFFLOAD) !== 0 ? EPB_FLAG_CHECKSUM_NOT_READY : undefined;
}

/** What a comment of ours says. */
export interface ReadComment {
  readonly path: PathName;
  readonly rule: string;
  readonly direction: Direction;
  readonly connId: number;
  readonly offload: boolean;
  readonly hops: string;
}

// RULE may hold spaces (a rules file's name): it runs up to the first " dir=rx|tx".
const COMMENT = new RegExp(`^path=(none|bypass|kernel|drop) rule=(.+?) dir=(rx|tx)(?: conn=(\\d+))?( ${OFFLOAD_TOKEN})? hops=(.*)$`, 's');

/** Reads a packet comment written by packetComment; undefined for any other comment (or none). */
export function readPacketComment(comment: string | undefined): ReadComment | undefined {
  if (comment === undefined) return undefined;
  const m = COMMENT.exec(comment);
  if (m === null) return undefined;
  return { path: m[1] as PathName, rule: m[2], direction: m[3] as Direction, connId: m[4] === undefined ? 0 : Number(m[4]), offload: m[5] !== undefined, hops: m[6] };
}

/** Whether a packet read from a file was written from a record flagged OFFLOAD: our comment's token, or epb_flags bit 9 (any writer's). */
export function offloadedInFile(p: { readonly comment?: string; readonly flags?: number }): boolean {
  if (p.flags !== undefined && (p.flags & EPB_FLAG_CHECKSUM_NOT_READY) !== 0) return true;
  return p.comment !== undefined && p.comment.includes(OFFLOAD_TOKEN) && readPacketComment(p.comment)?.offload === true;
}
