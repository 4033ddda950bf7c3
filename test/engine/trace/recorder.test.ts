import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TraceRecorder } from '../../../engine/trace/recorder';
import { StringTable, TraceDecodeError, decodeBatch } from '../../../engine/trace/codec';
import type { TraceBatch, TraceRecord } from '../../../engine/trace/schema';

function decodeAll(batches: TraceBatch[]): TraceRecord[] {
  const strings = new StringTable();
  const out: TraceRecord[] = [];
  for (const b of batches) decodeBatch(b, strings, (r) => out.push(r));
  return out;
}

const frame = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
const vars = { sndUna: 1, sndNxt: 2, sndWnd: 3, rcvNxt: 4, rcvWnd: 5, cwnd: 14600, ssthresh: 65535, srtt: undefined, rttvar: undefined, rto: 1000 };

describe('TraceRecorder', () => {
  it('records a packet with its hops, steering, connection and bytes, and decodes it back', () => {
    const r = new TraceRecorder({ snapLen: 64 });
    const id = r.beginPacket('rx', 2, 1000, frame(100), 100);
    r.hop('nic.rx', 'measured', 'pass', 0, 0);
    r.steered('bypass', 3, 77);
    r.hop('steer', 'measured', 'pass', 0, 500);
    r.connection(5);
    r.hop('bypass.tcp', 'emulated', 'drop', 1600, 2.4e9, 'bad checksum');
    r.endPacket();
    const [p] = decodeAll(r.takeBatches());
    assert.equal(p.type, 'packet');
    if (p.type !== 'packet') return;
    assert.equal(p.packetId, id);
    assert.equal(p.direction, 'rx');
    assert.equal(p.path, 'bypass');
    assert.equal(p.rule, 3);
    assert.equal(p.flowId, 77);
    assert.equal(p.connId, 5);
    assert.equal(p.interface, 2);
    assert.equal(p.timeNs, 1000);
    assert.equal(p.wireLen, 100);
    assert.equal(p.flags & 1, 1, 'marked truncated by the snap length');
    assert.deepEqual(p.bytes, frame(64));
    assert.deepEqual(p.hops.map((h) => [h.layer, h.kind, h.verdict, h.offsetNs, h.durationNs, h.reason]), [
      ['nic.rx', 'measured', 'pass', 0, 0, undefined],
      ['steer', 'measured', 'pass', 0, 500, undefined],
      ['bypass.tcp', 'emulated', 'drop', 1600, 2.4e9, 'bad checksum'],
    ]);
  });

  it('keeps nested records apart: the reply closes before the packet that caused it', () => {
    const r = new TraceRecorder();
    const syn = r.beginPacket('rx', 0, 0, frame(60), 60);
    r.hop('nic.rx', 'measured', 'pass', 0, 0);
    const synAck = r.beginPacket('tx', 0, 10, frame(58), 58);
    r.hop('bypass.tcp', 'measured', 'pass', 0, 10);
    r.hop('nic.tx', 'measured', 'forward', 10, 10);
    r.endPacket();
    r.hop('bypass.tcp', 'measured', 'deliver', 0, 30);
    r.endPacket();
    const recs = decodeAll(r.takeBatches());
    assert.deepEqual(recs.map((x) => (x.type === 'packet' ? [x.packetId, x.hops.length] : [])), [[synAck, 2], [syn, 2]]);
  });

  it('records transitions with the connection variables, undefined RTT included', () => {
    const r = new TraceRecorder();
    r.transition('bypass', 9, 'SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK', 4, 123.5, vars);
    r.transition('kernel', 10, 'CLOSED', 'SYN-SENT', 'snd SYN', 5, 124, vars, true);
    const [t, u] = decodeAll(r.takeBatches());
    assert.deepEqual(t, { type: 'transition', from: 'SYN-SENT', to: 'ESTABLISHED', stack: 'bypass', connId: 9, packetId: 4, timeNs: 123.5, event: 'rcv SYN,ACK', vars, observed: false });
    assert.deepEqual(u, { type: 'transition', from: 'CLOSED', to: 'SYN-SENT', stack: 'kernel', connId: 10, packetId: 5, timeNs: 124, event: 'snd SYN', vars, observed: true });
  });

  it('cuts a batch when it is full and numbers batches in order', () => {
    const r = new TraceRecorder({ batchBytes: 4096, snapLen: 256 });
    for (let i = 0; i < 100; i++) {
      r.beginPacket('rx', 0, i, frame(300), 300);
      r.hop('nic.rx', 'measured', 'pass', i, 0);
      r.endPacket();
    }
    const batches = r.takeBatches();
    assert.ok(batches.length > 5);
    assert.deepEqual(batches.map((b) => b.seq), batches.map((_, i) => i + 1));
    assert.equal(decodeAll(batches).length, 100);
  });

  it('keeps only the entry, steering and exit hops and no bytes at summary level', () => {
    const r = new TraceRecorder({ level: 'summary' });
    r.beginPacket('rx', 0, 0, frame(60), 60);
    r.hop('nic.rx', 'measured', 'pass', 0, 0);
    r.hop('steer', 'measured', 'pass', 0, 1);
    r.hop('bypass.ip', 'measured', 'pass', 1, 1);
    r.hop('bypass.udp', 'measured', 'drop', 2, 1, 'no socket');
    r.endPacket();
    const [p] = decodeAll(r.takeBatches());
    assert.ok(p.type === 'packet');
    if (p.type !== 'packet') return;
    assert.deepEqual(p.hops.map((h) => h.layer), ['nic.rx', 'steer', 'bypass.udp']);
    assert.equal(p.bytes.length, 0);
  });

  it('records nothing when off but still numbers packets', () => {
    const r = new TraceRecorder({ level: 'off' });
    const a = r.beginPacket('rx', 0, 0, frame(60), 60);
    r.hop('nic.rx', 'measured', 'pass', 0, 0);
    r.endPacket();
    const b = r.beginPacket('rx', 0, 0, frame(60), 60);
    assert.equal(b, a + 1);
    assert.deepEqual(r.takeBatches(), []);
  });

  it('counts hops past the limit instead of overrunning the record', () => {
    const r = new TraceRecorder({ maxHops: 2 });
    r.beginPacket('rx', 0, 0, frame(60), 60);
    for (let i = 0; i < 5; i++) r.hop('nic.rx', 'measured', 'pass', i, 0);
    r.endPacket();
    assert.equal(r.hopsDropped, 3);
    const [p] = decodeAll(r.takeBatches());
    assert.equal(p.type === 'packet' && p.hops.length, 2);
  });
});

describe('decodeBatch', () => {
  it('delivers every good record before damage, then names the damaged byte offset', () => {
    const r = new TraceRecorder();
    for (let i = 0; i < 3; i++) {
      r.beginPacket('rx', 0, i, frame(60), 60);
      r.endPacket();
    }
    const [batch] = r.takeBatches();
    const recordLen = batch.records.length / 3;
    const damaged = { ...batch, records: batch.records.slice(0, batch.records.length - 5) };
    const got: TraceRecord[] = [];
    assert.throws(() => decodeBatch(damaged, new StringTable(), (x) => got.push(x)), (e: unknown) => e instanceof TraceDecodeError && e.offset === 2 * recordLen);
    assert.equal(got.length, 2);
  });

  it('refuses a batch of another schema version', () => {
    assert.throws(() => decodeBatch({ schema: 99, seq: 1, records: new Uint8Array(0), recordCount: 0, strings: [], dropped: 0 }, new StringTable(), () => {}), /schema 99/);
  });

  it('reads schema version 1 batches: 12-byte hops, each lasting until the next', () => {
    // One v1 packet record by hand: 40 fixed bytes, two 12-byte hops (nic.rx at 0, steer at 700), no bytes.
    const rec = new Uint8Array(40 + 2 * 12);
    const v = new DataView(rec.buffer);
    v.setUint8(0, 1);
    v.setUint8(3, 2);
    v.setUint32(4, rec.length, true);
    v.setUint32(8, 42, true);
    v.setInt16(20, -1, true);
    v.setFloat64(24, 5e6, true);
    v.setUint32(32, 60, true);
    v.setUint8(40, 0); // nic.rx
    v.setUint32(48, 0, true);
    v.setUint8(52, 2); // steer
    v.setUint8(54, 3); // drop
    v.setUint16(56, 1, true);
    v.setUint32(60, 700, true);
    const got: TraceRecord[] = [];
    decodeBatch({ schema: 1, seq: 1, records: rec, recordCount: 1, strings: [[1, 'rule 0']], dropped: 0 }, new StringTable(), (x) => got.push(x));
    assert.equal(got.length, 1);
    const p = got[0];
    assert.ok(p.type === 'packet');
    if (p.type !== 'packet') return;
    assert.deepEqual(p.hops.map((h) => [h.layer, h.verdict, h.offsetNs, h.durationNs, h.reason]), [
      ['nic.rx', 'pass', 0, 700, undefined],
      ['steer', 'drop', 700, 0, 'rule 0'],
    ]);
  });
});
