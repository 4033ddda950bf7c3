// Replaying a capture file through the NIC (the pcap backend): every packet at its own time, steered
// by the rules per flow as live, each layer's checks traced (a malformed frame dropped where it is
// rejected, with the reason), TCP connections followed by the passive observer through RFC 9293's
// states, nothing answered, and a damaged file replayed up to the damage with its byte offset.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pcapBackend } from '../../../engine/backends/pcap';
import { CaptureSession } from '../../../engine/capture/session';
import { parseRules } from '../../../engine/steer/rules';
import { Steering } from '../../../engine/steer/steering';
import { StringTable, decodeBatch } from '../../../engine/trace/codec';
import { createCaptureWriter, openCaptureFile } from '../../../engine/trace/capture-file';
import { LinkType } from '../../../engine/trace/capture-format';
import type { TraceRecord } from '../../../engine/trace/schema';
import { legalTransition, packets, pathProblem, root, ROUTING, transitions } from './support';

const SAMPLE = join(root, 'examples', 'sample.pcapng');

function replay(file: string, options: { rules?: string; speed?: number } = {}): { s: CaptureSession; records: TraceRecord[] } {
  const s = new CaptureSession({ rules: parseRules(options.rules ?? ROUTING), backend: pcapBackend({ file }) });
  const records: TraceRecord[] = [];
  const strings = new StringTable();
  s.onBatches.push((bs) => {
    for (const b of bs) decodeBatch(b, strings, (r) => records.push(r.type === 'packet' ? { ...r, bytes: r.bytes.slice() } : r));
  });
  return { s, records };
}

/** The file's packets: captured bytes, length on the wire, time in ns since the first. */
function filePackets(file: string): { data: Uint8Array; origLen: number; ns: number }[] {
  const r = openCaptureFile(file);
  const out: { data: Uint8Array; origLen: number; ns: number }[] = [];
  let t0: [number, number] | undefined;
  try {
    for (const p of r) {
      t0 ??= [p.tsSec, p.tsNsec];
      out.push({ data: p.data.slice(), origLen: p.origLen, ns: (p.tsSec - t0[0]) * 1e9 + (p.tsNsec - t0[1]) });
    }
  } finally {
    r.close();
  }
  return out;
}

describe('replaying examples/sample.pcapng', () => {
  let s: CaptureSession;
  let records: TraceRecord[];
  before(async () => {
    ({ s, records } = replay(SAMPLE));
    assert.equal(await s.run({}), 'idle');
  });

  it('gives every packet of the file one record, in file order, at its own time', () => {
    const want = filePackets(SAMPLE);
    const ps = packets(records);
    assert.equal(ps.length, want.length, `records: got ${ps.length}, want ${want.length}`);
    ps.forEach((p, i) => {
      assert.equal(p.packetId, i + 1, `record ${i}: packet id`);
      assert.equal(p.direction, 'rx');
      assert.equal(p.timeNs, want[i].ns, `packet ${i + 1}: time ${p.timeNs} ns, want ${want[i].ns} (the file's, from its first packet)`);
      assert.equal(p.wireLen, want[i].origLen);
      assert.deepEqual(p.bytes, want[i].data.subarray(0, p.bytes.length));
    });
    assert.deepEqual(s.backend.timeOrigin, { sec: 1795557596, nsec: 192002561 }, "time 0 is the first packet's timestamp");
    assert.deepEqual(s.problems, []);
  });

  it('steers every packet per flow exactly as steering the file directly does', () => {
    const direct = new Steering(parseRules(ROUTING));
    const want = filePackets(SAMPLE).map((p) => {
      const r = direct.steer(p.data, p.origLen, p.ns / 1e6);
      return `${r.action}/${r.rule}/${r.flowId}`;
    });
    const got = packets(records).map((p) => `${p.path}/${p.rule}/${p.flowId}`);
    assert.deepEqual(got, want);
    assert.ok(got.some((x) => x.startsWith('bypass/')) && got.some((x) => x.startsWith('kernel/')), 'both paths');
  });

  it("traces each layer's verdict on valid paths of the vocabulary, labelled measured on bypass and emulated on the kernel path", () => {
    for (const p of packets(records)) {
      assert.equal(pathProblem(p), undefined, `packet ${p.packetId}: ${pathProblem(p)} (${p.hops.map((h) => `${h.layer}:${h.verdict}`).join(' ')})`);
      for (const h of p.hops.slice(2)) assert.equal(h.kind, p.path === 'kernel' ? 'emulated' : 'measured', `packet ${p.packetId} ${h.layer}`);
    }
    const v6 = packets(records).filter((p) => p.bytes[12] === 0x86 && p.bytes[13] === 0xdd);
    assert.ok(v6.length > 0 && v6.every((p) => p.hops.at(-1)!.reason === 'eth-unknown-type'), 'IPv6 frames dropped at the link layer: no IPv6 stack');
  });

  it('answers nothing: no transmit records, nothing handed to the device', () => {
    assert.equal(packets(records).filter((p) => p.direction === 'tx').length, 0);
    assert.equal((s.backend.device as unknown as { refused: number }).refused, 0);
  });

  it('follows both endpoints of the TCP connection through RFC 9293, each transition flagged observed', () => {
    const conns = s.connections;
    assert.equal(conns.length, 2, 'one trace connection per endpoint');
    assert.ok(conns.every((c) => c.observed === true));
    const client = conns.find((c) => c.open === 'active')!;
    const server = conns.find((c) => c.open === 'passive')!;
    assert.deepEqual([client.localPort, client.remotePort, server.localPort, server.remotePort], [39352, 8080, 8080, 39352]);
    const ts = transitions(records);
    assert.ok(ts.every((t) => t.observed === true), 'all observed');
    const line = (id: number) => ts.filter((t) => t.connId === id).map((t) => `${t.to}@${t.packetId}`);
    // Packets 12–14 are the handshake, 21–23 the close (tshark's numbering of the file).
    assert.deepEqual(line(client.connId), ['SYN-SENT@12', 'ESTABLISHED@13', 'CLOSE-WAIT@21', 'LAST-ACK@22', 'CLOSED@23']);
    assert.deepEqual(line(server.connId), ['LISTEN@0', 'SYN-RECEIVED@12', 'ESTABLISHED@14', 'FIN-WAIT-1@21', 'FIN-WAIT-2@22', 'TIME-WAIT@22']);
    for (const id of [client.connId, server.connId]) {
      const list = ts.filter((t) => t.connId === id);
      list.forEach((t, i) => {
        assert.ok(legalTransition(t.from, t.to), `${t.from} → ${t.to} is an edge of the diagram`);
        assert.equal(t.from, i === 0 ? 'CLOSED' : list[i - 1].to);
      });
    }
    // A segment belongs to the endpoint it was sent to.
    for (const p of packets(records).filter((x) => x.bytes[23] === 6 && x.path !== 'drop')) {
      const dport = (p.bytes[36] << 8) | p.bytes[37];
      assert.equal(p.connId, dport === 8080 ? server.connId : client.connId, `packet ${p.packetId} to port ${dport}`);
    }
  });

  it('counts per-rule hits in stats', () => {
    const st = s.snapshot();
    assert.deepEqual(st.rules?.packets.reduce((a, b) => a + b, 0), packets(records).length);
  });
});

describe('replaying damaged input', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'bypass-scope-replay-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('drops each malformed frame at the layer that rejects it, with the reason, and checks cut frames only as far as they go', async () => {
    const good = filePackets(SAMPLE);
    const udp = good.find((p) => p.data[23] === 17 && p.data.length > 42)!.data;
    const tcp = good.find((p) => p.data[23] === 6 && p.data.length > 66)!.data;
    const mut = (f: Uint8Array, edit: (b: Uint8Array) => void) => {
      const b = f.slice();
      edit(b);
      return b;
    };
    const cases: { name: string; data: Uint8Array; origLen?: number; want: string }[] = [
      { name: 'good udp', data: udp, want: 'bypass.udp:deliver:' },
      { name: 'bad ip checksum', data: mut(udp, (b) => (b[24] ^= 0xff)), want: 'bypass.ip:drop:ip-bad-checksum' },
      { name: 'bad tcp checksum', data: mut(tcp, (b) => (b[b.length - 1] ^= 0x01)), want: 'bypass.tcp:drop:tcp-bad-checksum' },
      { name: 'bad udp checksum', data: mut(udp, (b) => (b[b.length - 1] ^= 0x01)), want: 'bypass.udp:drop:udp-bad-checksum' },
      { name: 'unknown ethertype', data: mut(udp, (b) => ((b[12] = 0x88), (b[13] = 0xb5))), want: 'bypass.eth:drop:eth-unknown-type' },
      { name: 'vlan tag', data: mut(udp, (b) => ((b[12] = 0x81), (b[13] = 0x00))), want: 'bypass.eth:drop:eth-vlan-unsupported' },
      { name: 'runt', data: udp.slice(0, 10), want: 'bypass.eth:drop:eth-truncated' },
      { name: 'ip version 5', data: mut(udp, (b) => (b[14] = 0x55)), want: 'bypass.ip:drop:ip-bad-version' },
      { name: 'cut by the sender (not the capture)', data: udp.slice(0, udp.length - 4), want: 'bypass.ip:drop:ip-truncated' },
      { name: 'cut at the snap length', data: udp.slice(0, 46), origLen: udp.length, want: 'bypass.udp:deliver:payload cut at the snap length: checksum not verified' },
      { name: 'tcp header cut at the snap length', data: tcp.slice(0, 40), origLen: tcp.length, want: 'bypass.tcp:deliver:cut at the snap length: not checked further' },
    ];
    const file = join(dir, 'malformed.pcap');
    const w = createCaptureWriter(file, 'pcap', { linkType: LinkType.ETHERNET, nanosecond: true });
    cases.forEach((c, i) => w.writePacket({ tsSec: 1000, tsNsec: i * 1000, data: c.data, origLen: c.origLen }));
    w.close();
    // Everything to bypass, so that each frame reaches the layers whatever it is.
    const { s, records } = replay(file, { rules: 'default bypass\n' });
    await s.run({});
    const ps = packets(records);
    assert.equal(ps.length, cases.length);
    ps.forEach((p, i) => {
      const last = p.hops.at(-1)!;
      assert.equal(`${last.layer}:${last.verdict}:${last.reason ?? ''}`, cases[i].want, `${cases[i].name}: got ${p.hops.map((h) => `${h.layer}:${h.verdict}:${h.reason ?? ''}`).join(' ')}`);
    });
    const st = s.snapshot();
    assert.equal(st.drops['bypass.ip: ip-bad-checksum'], 1);
    assert.equal(ps[9].wireLen, udp.length, 'the record keeps the length on the wire');
  });

  it('replays every packet before the damage of a cut file, then names the file and the byte offset', async () => {
    const bytes = readFileSync(SAMPLE);
    const cutAt = Math.floor(bytes.length * 0.6);
    const file = join(dir, 'cut.pcapng');
    writeFileSync(file, bytes.subarray(0, cutAt));
    // What the reader itself yields before the cut.
    let before = 0;
    const reader = openCaptureFile(file);
    try {
      for (const _ of reader) before++;
    } catch {
      // the damage
    } finally {
      reader.close();
    }
    const { s, records } = replay(file);
    assert.equal(await s.run({}), 'idle');
    assert.ok(before > 0 && before < 29, `packets before the cut: ${before}`);
    assert.equal(packets(records).length, before, 'every packet before the damage is in the trace');
    assert.equal(s.problems.length, 1);
    assert.match(s.problems[0], new RegExp(`cut\\.pcapng: .*byte \\d+.*the ${before} packets before it were replayed`));
  });

  it('refuses a file that is not a capture, and one that is missing, when the session is made', () => {
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'hello, this is not a capture file at all');
    assert.throws(() => replay(junk), /not a pcap or pcapng file|magic/);
    assert.throws(() => replay(join(dir, 'missing.pcap')), /ENOENT/);
  });
});

describe('pausing a replay', () => {
  it('steps one packet of the file at a time', async () => {
    const { s } = replay(SAMPLE);
    s.pause();
    for (let i = 1; i <= 5; i++) {
      assert.equal(await s.step('packet'), true);
      assert.equal(s.packets, i);
    }
    s.resume();
    await s.run({});
    assert.equal(s.packets, 29);
  });
});
