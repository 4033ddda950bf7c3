// trace: reading trace batches back into records — for the extension's capture store, the webview
// and tests. Pure: no Node APIs. Checks every length, since a batch may come from a crashed engine.
import {
  DIRECTIONS,
  HOP_KINDS,
  HOP_LEN,
  HOP_LEN_V1,
  LAYERS,
  PACKET_FIXED_LEN,
  PATHS,
  RecordType,
  TCP_STATE_NAMES,
  TRACE_SCHEMA_VERSIONS_READ,
  TRANSITION_LEN,
  TransitionFlag,
  VERDICTS,
  type Hop,
  type PacketRecord,
  type TraceBatch,
  type TraceRecord,
  type TransitionRecord,
} from './schema';

/** The string table, rebuilt from the strings each batch carries. */
export class StringTable {
  private readonly byId = new Map<number, string>();

  add(entries: readonly (readonly [number, string])[]): void {
    for (const [id, text] of entries) this.byId.set(id, text);
  }

  get(id: number): string | undefined {
    return id === 0 ? undefined : (this.byId.get(id) ?? `#${id}`);
  }
}

export class TraceDecodeError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'TraceDecodeError';
  }
}

/**
 * Decodes every record of a batch, adding its strings to `strings` first. Throws TraceDecodeError
 * (with the byte offset) on a damaged batch, after calling `onRecord` for every good record before it.
 */
export function decodeBatch(batch: TraceBatch, strings: StringTable, onRecord: (r: TraceRecord) => void): void {
  if (!TRACE_SCHEMA_VERSIONS_READ.includes(batch.schema)) throw new TraceDecodeError(0, `trace schema ${batch.schema} is not one this reader knows (${TRACE_SCHEMA_VERSIONS_READ.join(', ')})`);
  const hopLen = batch.schema === 1 ? HOP_LEN_V1 : HOP_LEN;
  strings.add(batch.strings);
  const b = batch.records;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  while (at < b.length) {
    if (at + 8 > b.length) throw new TraceDecodeError(at, `record header cut short at byte ${at}`);
    const type = b[at];
    const len = v.getUint32(at + 4, true);
    if (len < 8 || at + len > b.length || len % 4 !== 0) throw new TraceDecodeError(at, `record at byte ${at} has bad length ${len}`);
    if (type === RecordType.PACKET) onRecord(decodePacket(b, v, at, len, strings, hopLen));
    else if (type === RecordType.TRANSITION) onRecord(decodeTransition(v, at, len, strings));
    else throw new TraceDecodeError(at, `unknown record type ${type} at byte ${at}`);
    at += len;
  }
}

function decodePacket(b: Uint8Array, v: DataView, at: number, len: number, strings: StringTable, hopLen: number): PacketRecord {
  if (len < PACKET_FIXED_LEN) throw new TraceDecodeError(at, `packet record at byte ${at} shorter than its fixed part`);
  const hopCount = b[at + 3];
  const capLen = v.getUint16(at + 36, true);
  const bytesAt = at + PACKET_FIXED_LEN + hopCount * hopLen;
  if (bytesAt + capLen > at + len) throw new TraceDecodeError(at, `packet record at byte ${at}: hops and bytes overrun its length`);
  const hops: Hop[] = [];
  for (let i = 0; i < hopCount; i++) {
    const h = at + PACKET_FIXED_LEN + i * hopLen;
    const offsetNs = v.getUint32(h + 8, true);
    // Version 1 had no durations: a hop lasted until the next one.
    const durationNs = hopLen === HOP_LEN ? v.getUint32(h + 12, true) : i + 1 < hopCount ? Math.max(0, v.getUint32(h + hopLen + 8, true) - offsetNs) : 0;
    hops.push({
      layer: LAYERS[b[h]] ?? 'wire',
      kind: HOP_KINDS[b[h + 1]] ?? 'measured',
      verdict: VERDICTS[b[h + 2]] ?? 'pass',
      reason: strings.get(v.getUint16(h + 4, true)),
      offsetNs,
      durationNs,
    });
  }
  return {
    type: 'packet',
    direction: DIRECTIONS[b[at + 1]] ?? 'rx',
    path: PATHS[b[at + 2]] ?? 'none',
    packetId: v.getUint32(at + 8, true),
    flowId: v.getUint32(at + 12, true),
    connId: v.getUint32(at + 16, true),
    rule: v.getInt16(at + 20, true),
    interface: v.getUint16(at + 22, true),
    timeNs: v.getFloat64(at + 24, true),
    wireLen: v.getUint32(at + 32, true),
    flags: v.getUint16(at + 38, true),
    hops,
    bytes: b.subarray(bytesAt, bytesAt + capLen),
  };
}

function decodeTransition(v: DataView, at: number, len: number, strings: StringTable): TransitionRecord {
  if (len !== TRANSITION_LEN) throw new TraceDecodeError(at, `transition record at byte ${at} has length ${len}, want ${TRANSITION_LEN}`);
  const f = (i: number) => v.getFloat64(at + 32 + 8 * i, true);
  const srtt = f(7);
  const rttvar = f(8);
  return {
    type: 'transition',
    from: TCP_STATE_NAMES[v.getUint8(at + 1)] ?? 'CLOSED',
    to: TCP_STATE_NAMES[v.getUint8(at + 2)] ?? 'CLOSED',
    stack: v.getUint8(at + 3) === 2 ? 'kernel' : 'bypass',
    connId: v.getUint32(at + 8, true),
    packetId: v.getUint32(at + 12, true),
    timeNs: v.getFloat64(at + 16, true),
    event: strings.get(v.getUint16(at + 24, true)) ?? '',
    observed: (v.getUint16(at + 26, true) & TransitionFlag.OBSERVED) !== 0,
    vars: {
      sndUna: f(0),
      sndNxt: f(1),
      sndWnd: f(2),
      rcvNxt: f(3),
      rcvWnd: f(4),
      cwnd: f(5),
      ssthresh: f(6),
      srtt: Number.isNaN(srtt) ? undefined : srtt,
      rttvar: Number.isNaN(rttvar) ? undefined : rttvar,
      rto: f(9),
    },
  };
}
