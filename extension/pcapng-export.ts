// extension: a capture store as a pcapng file — the frames that crossed the wire in time order, each
// with a packet comment giving its path, rule, direction, connection, checksum offload and hops, and
// its epb_flags, made by the same functions as the CLI's `capture --out` (engine/trace/packet-comment.ts),
// so tshark, Wireshark, `bypass-scope decode` and a replay read both alike.
import { ByteBuffer, LinkType, PcapngWriter } from '../engine/trace/capture-format';
import { epbFlags, hopsText, packetComment, PCAPNG_COMMENT_FORMAT } from '../engine/trace/packet-comment';
import { RULE_DEFAULT, RULE_EARLIER_RULES, RULE_LOCAL_PIN } from '../engine/trace/schema';
import type { CaptureStore, StoredPacket } from './capture-store';

export interface ExportOptions {
  /** The name of rule `index` as the comment gives it, e.g. `routing.bypass:5`. */
  readonly ruleName: (index: number) => string;
  readonly interfaceName: string;
  readonly interfaceDescription: string;
  readonly userAppl?: string;
}

export interface ExportResult {
  readonly bytes: Uint8Array;
  /** Frames written, and packets left out (lost on the wire, or no frame kept at this trace level). */
  readonly written: number;
  readonly skipped: number;
}

export function ruleLabel(rule: number, ruleName: (index: number) => string): string {
  if (rule >= 0) return ruleName(rule);
  if (rule === RULE_DEFAULT) return 'default';
  if (rule === RULE_LOCAL_PIN) return 'local';
  if (rule === RULE_EARLIER_RULES) return 'earlier';
  return '-';
}

export function exportPcapng(store: CaptureStore, options: ExportOptions): ExportResult {
  const out = new ByteBuffer({ capacity: 1 << 16 });
  const writer = new PcapngWriter(out, { userAppl: options.userAppl ?? 'Bypass Scope (VS Code)', comment: PCAPNG_COMMENT_FORMAT });
  writer.addInterface({ linkType: LinkType.ETHERNET, name: options.interfaceName, description: options.interfaceDescription, tsResolution: 1e9 });
  const packets: StoredPacket[] = [...store.packets()].sort((a, b) => a.timeNs - b.timeNs || a.id - b.id);
  let written = 0;
  let skipped = 0;
  for (const p of packets) {
    const hops = store.hopsOf(p);
    const last = hops[hops.length - 1];
    // The file holds what crossed the wire: a frame lost there is in the trace only.
    if (p.frame.length === 0 || (last !== undefined && last.layer === 'wire' && last.verdict === 'drop')) {
      skipped++;
      continue;
    }
    const t = Math.round(p.timeNs);
    const rule = p.direction === 'rx' && p.path !== 'none' ? ruleLabel(p.rule, options.ruleName) : '-';
    writer.writePacket({
      interfaceId: 0,
      tsSec: Math.floor(t / 1e9),
      tsNsec: t % 1e9,
      data: p.frame,
      origLen: p.wireLen,
      direction: p.direction === 'rx' ? 'inbound' : 'outbound',
      flags: epbFlags(p.flags),
      comment: packetComment({ path: p.path, rule, direction: p.direction, connId: p.connId, flags: p.flags, hops: hopsText(hops) }),
    });
    written++;
  }
  return { bytes: out.contents().slice(), written, skipped };
}
