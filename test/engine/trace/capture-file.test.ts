// Tests for engine/trace/capture-file: reading and writing files, damage reported with byte
// offsets, bounded memory, and interop with tshark and tcpdump (both ways).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureWriter, openCaptureFile, type CaptureFileReader } from '../../../engine/trace/capture-file';
import { ByteBuffer, CaptureFormatError, LinkType, PcapngWriter, type CapturedPacket } from '../../../engine/trace/capture-format';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bypass-scope-capture-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function ipChecksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet/IPv4/UDP frame 198.18.0.1:1000+i -> 198.18.0.2:2000 with `payload` bytes. */
function udpFrame(i: number, payload = 4): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  f.set([0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2], 14);
  v.setUint16(16, 20 + 8 + payload);
  v.setUint16(24, ipChecksum(f, 14, 34));
  v.setUint16(34, 1000 + i);
  v.setUint16(36, 2000);
  v.setUint16(38, 8 + payload);
  for (let k = 0; k < payload; k++) f[42 + k] = (i + k) & 0xff;
  return f;
}

function stamp(tsSec: number, tsNsec: number): string {
  return `${tsSec}.${String(tsNsec).padStart(9, '0')}`;
}

interface Read {
  packets: (Omit<CapturedPacket, 'data'> & { data: number[] })[];
  reader: CaptureFileReader;
  error?: CaptureFormatError;
}

function readAll(path: string, chunkSize?: number): Read {
  const reader = openCaptureFile(path, { chunkSize });
  const packets: Read['packets'] = [];
  try {
    for (const p of reader) packets.push({ ...p, data: [...p.data] });
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) throw e;
    return { packets, reader, error: e };
  } finally {
    reader.close();
  }
  return { packets, reader };
}

function tool(name: string): boolean {
  return existsSync(`/usr/bin/${name}`);
}

function run(cmd: string, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status };
}

describe('capture files', () => {
  it('a pcapng file written with createCaptureWriter reads back the same at chunk sizes 1, 7 and the default', () => {
    const path = join(dir, 'rw.pcapng');
    const w = createCaptureWriter(path, 'pcapng', { userAppl: 'bypass-scope test', chunkSize: 64 });
    const wire = w.addInterface({ linkType: LinkType.ETHERNET, name: 'tap-wire', tsResolution: 1e9 });
    const host = w.addInterface({ linkType: LinkType.ETHERNET, name: 'tap-host', tsResolution: 1e6, snapLen: 40 });
    for (let i = 0; i < 30; i++) {
      w.writePacket({
        interfaceId: i % 2 ? host : wire,
        tsSec: 1_700_000_000 + i,
        tsNsec: i * 33_333_333,
        data: udpFrame(i),
        comment: i % 3 === 0 ? `packet ${i}` : undefined,
        direction: i % 2 ? 'outbound' : 'inbound',
      });
    }
    w.writeNameResolution([{ address: '198.18.0.1', names: ['peer.lab'] }]);
    w.close();
    w.close();
    assert.equal(w.bytesWritten, statSync(path).size);
    const want = readAll(path);
    assert.equal(want.error, undefined);
    assert.equal(want.packets.length, 30);
    assert.equal(want.reader.format, 'pcapng');
    assert.equal(want.reader.sections[0].userAppl, 'bypass-scope test');
    assert.deepEqual(
      want.reader.interfaces.map((i) => [i.name, i.tsResolution, i.snapLen]),
      [
        ['tap-wire', 1e9, 0],
        ['tap-host', 1e6, 40],
      ],
    );
    assert.deepEqual(want.reader.nameRecords, [{ address: '198.18.0.1', names: ['peer.lab'] }]);
    assert.equal(want.reader.bytesRead, statSync(path).size);
    const p7 = want.packets[7];
    assert.deepEqual(
      [p7.interfaceId, p7.tsSec, p7.tsNsec, p7.capLen, p7.origLen, p7.direction],
      [1, 1_700_000_007, 233_333_000, 40, 46, 'outbound'],
    );
    assert.equal(want.packets[6].comment, 'packet 6');
    for (const chunk of [1, 7]) assert.deepEqual(readAll(path, chunk).packets, want.packets, `chunk ${chunk}`);
  });

  it('interfaces defined before the first packet are known right after opening', () => {
    const path = join(dir, 'ifaces.pcapng');
    const w = createCaptureWriter(path, 'pcapng');
    w.addInterface({ linkType: LinkType.RAW, name: 'tun0' });
    w.writePacket({ interfaceId: 0, tsSec: 1, tsNsec: 2, data: new Uint8Array(20) });
    w.close();
    const r = openCaptureFile(path, { chunkSize: 3 });
    try {
      assert.equal(r.format, 'pcapng');
      assert.deepEqual(r.interfaces, [{ linkType: LinkType.RAW, snapLen: 0, name: 'tun0', tsResolution: 1e9, section: 0 }]);
      assert.equal([...r].length, 1);
    } finally {
      r.close();
    }
  });

  it('a pcap file written with createCaptureWriter reads back with microsecond and nanosecond magics', () => {
    for (const nanosecond of [true, false]) {
      const path = join(dir, `rw-${nanosecond}.pcap`);
      const w = createCaptureWriter(path, 'pcap', { nanosecond, snapLen: 50 });
      w.writePacket({ tsSec: 1_700_000_000, tsNsec: 123_456_789, data: udpFrame(1, 100) });
      w.close();
      const { packets, reader, error } = readAll(path, 5);
      assert.equal(error, undefined);
      assert.equal(reader.format, 'pcap');
      assert.deepEqual(
        packets.map((p) => [p.tsSec, p.tsNsec, p.capLen, p.origLen]),
        [[1_700_000_000, nanosecond ? 123_456_789 : 123_456_000, 50, 142]],
      );
    }
  });

  it('opening a missing file gives the usual ENOENT error', () => {
    assert.throws(
      () => openCaptureFile(join(dir, 'missing.pcap')),
      (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && !(e instanceof CaptureFormatError),
    );
  });

  it('opening a file that is not a capture says so with its magic', () => {
    const path = join(dir, 'text.txt');
    writeFileSync(path, 'GET / HTTP/1.1\r\n');
    assert.throws(
      () => openCaptureFile(path),
      (e: unknown) => e instanceof CaptureFormatError && e.offset === 0 && e.message === 'not a pcap or pcapng file (magic 0x47455420)',
    );
  });

  it('a file cut at every byte offset yields the packets before the cut, then names the cut record', () => {
    const out = new ByteBuffer();
    const ends: [number, number, boolean][] = [];
    const rec = (isPacket: boolean, f: () => void) => {
      const start = out.length;
      f();
      ends.push([start, out.length, isPacket]);
    };
    let w!: PcapngWriter;
    rec(false, () => (w = new PcapngWriter(out)));
    rec(false, () => w.addInterface({ linkType: 1 }));
    for (let i = 0; i < 3; i++) rec(true, () => w.writePacket({ interfaceId: 0, tsSec: i, tsNsec: i, data: udpFrame(i, i), comment: 'c' }));
    const bytes = out.contents().slice();
    const path = join(dir, 'cut.pcapng');
    for (let cut = 0; cut <= bytes.length; cut++) {
      writeFileSync(path, bytes.subarray(0, cut));
      let got: Read;
      try {
        got = readAll(path, 16);
      } catch (e) {
        // Damage inside the section header fails the open.
        assert.ok(e instanceof CaptureFormatError, `cut at ${cut}: ${String(e)}`);
        assert.ok(cut < ends[0][1], `cut at ${cut}: open failed with ${e.message}`);
        assert.equal(e.offset, 0);
        continue;
      }
      const wantPackets = ends.filter(([, end, isPacket]) => isPacket && end <= cut).length;
      assert.equal(got.packets.length, wantPackets, `cut at ${cut}`);
      const damaged = ends.find(([start, end]) => start < cut && cut < end);
      if (!damaged) {
        assert.equal(got.error, undefined, `cut at ${cut}`);
        continue;
      }
      assert.ok(got.error, `cut at ${cut}: want an error`);
      assert.equal(got.error.offset, damaged[0]);
      assert.match(got.error.message, new RegExp(`^truncated record at byte ${damaged[0]}: needs \\d+ bytes, file ends at ${cut}$`));
    }
  });

  it('a large file is read with bounded memory', () => {
    const path = join(dir, 'large.pcapng');
    const w = createCaptureWriter(path, 'pcapng');
    w.addInterface({ linkType: 1 });
    const frame = udpFrame(0, 150);
    const count = 150_000;
    for (let i = 0; i < count; i++) w.writePacket({ interfaceId: 0, tsSec: i, tsNsec: 0, data: frame });
    w.close();
    const size = statSync(path).size;
    assert.ok(size > 25e6, `file is ${size} bytes`);
    const base = process.memoryUsage().arrayBuffers;
    let peak = base;
    let n = 0;
    const r = openCaptureFile(path, { chunkSize: 256 * 1024 });
    for (const p of r) {
      if (p.tsSec !== n) assert.fail(`packet ${n} has tsSec ${p.tsSec}`);
      if (++n % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }
    r.close();
    assert.equal(n, count);
    assert.ok(peak - base < 8 * 1024 * 1024, `array buffers grew by ${peak - base} bytes while reading ${size}`);
  });

  it('closing a reader stops its iteration', () => {
    const path = join(dir, 'stop.pcap');
    const w = createCaptureWriter(path, 'pcap');
    for (let i = 0; i < 10; i++) w.writePacket({ tsSec: i, tsNsec: 0, data: udpFrame(i) });
    w.close();
    const r = openCaptureFile(path);
    const seen: number[] = [];
    for (const p of r) {
      seen.push(p.tsSec);
      if (seen.length === 3) r.close();
    }
    assert.deepEqual(seen, [0, 1, 2]);
  });

  it('writing after close is refused', () => {
    const w = createCaptureWriter(join(dir, 'closed.pcap'), 'pcap', { chunkSize: 32 });
    w.close();
    assert.throws(() => {
      for (let i = 0; i < 4; i++) w.writePacket({ tsSec: 0, tsNsec: 0, data: new Uint8Array(20) });
    }, /closed/);
  });
});

describe('interop with tshark and tcpdump', () => {
  it('tshark reads our pcapng with two interfaces, comments and directions, and finds nothing malformed', (t) => {
    if (!tool('tshark')) return t.skip('tshark not installed');
    const path = join(dir, 'interop.pcapng');
    const w = createCaptureWriter(path, 'pcapng', { userAppl: 'bypass-scope' });
    w.addInterface({ linkType: LinkType.ETHERNET, name: 'tap-wire', tsResolution: 1e9 });
    w.addInterface({ linkType: LinkType.ETHERNET, name: 'tap-host', tsResolution: 1e6 });
    const sent: { iface: number; tsSec: number; tsNsec: number; comment?: string; dir: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const iface = i % 2;
      const tsSec = 1_700_000_000 + i;
      const tsNsec = iface === 0 ? 123_456_789 + i : 654_321_000;
      const comment = i % 4 === 0 ? `bypass hop ${i} ✓` : undefined;
      const direction = i % 3 === 0 ? undefined : i % 3 === 1 ? 'inbound' : 'outbound';
      w.writePacket({ interfaceId: iface, tsSec, tsNsec, data: udpFrame(i), comment, direction });
      sent.push({ iface, tsSec, tsNsec, comment, dir: i % 3 });
    }
    w.close();
    const fields = run('tshark', [
      '-r', path, '-T', 'fields', '-E', 'separator=|',
      '-e', 'frame.number', '-e', 'frame.comment', '-e', 'frame.time_epoch', '-e', 'frame.interface_id', '-e', 'frame.packet_flags_direction',
    ]);
    assert.equal(fields.status, 0, fields.stderr);
    const lines = fields.stdout.trim().split('\n');
    assert.equal(lines.length, sent.length);
    lines.forEach((line, i) => {
      const s = sent[i];
      const [num, comment, epoch, iface, dir] = line.split('|');
      assert.equal(num, String(i + 1));
      assert.equal(comment, s.comment ?? '');
      assert.equal(epoch, stamp(s.tsSec, s.tsNsec), `packet ${i + 1}`);
      assert.equal(iface, String(s.iface));
      assert.equal(dir === '' ? 0 : parseInt(dir, 16), s.dir, `packet ${i + 1} direction field ${JSON.stringify(dir)}`);
    });
    const malformed = run('tshark', ['-r', path, '-Y', '_ws.malformed || _ws.expert.severity >= "warning"']);
    assert.equal(malformed.status, 0, malformed.stderr);
    assert.equal(malformed.stdout.trim(), '', 'tshark found malformed packets');
  });

  it('tcpdump reads our pcap with every timestamp to the nanosecond', (t) => {
    if (!tool('tcpdump')) return t.skip('tcpdump not installed');
    const path = join(dir, 'interop.pcap');
    const w = createCaptureWriter(path, 'pcap', { nanosecond: true });
    const want: string[] = [];
    for (let i = 0; i < 10; i++) {
      w.writePacket({ tsSec: 1_700_000_000 + i, tsNsec: 1 + i * 99_999_999, data: udpFrame(i) });
      want.push(`${stamp(1_700_000_000 + i, 1 + i * 99_999_999)} IP 198.18.0.1.${1000 + i} > 198.18.0.2.2000: UDP, length 4`);
    }
    w.close();
    const r = run('tcpdump', ['-r', path, '-n', '-tt', '--nano']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), want);
    const us = run('tcpdump', ['-r', path, '-n', '-tt']);
    assert.equal(us.status, 0, us.stderr);
    assert.match(us.stdout.split('\n')[0], /^1700000000\.000000 IP /);
  });

  for (const format of ['pcapng', 'pcap'] as const) {
    it(`our reader reads a ${format} that tshark captured on loopback in a private namespace: same count and timestamps`, (t) => {
      if (!tool('tshark') || !tool('tcpdump') || !tool('unshare') || !existsSync('/usr/bin/ping')) return t.skip('tshark not installed');
      const path = join(dir, `captured.${format}`);
      // A private user + network namespace holding only its own loopback; nothing leaves it.
      const script =
        // tshark may take seconds to start on a loaded machine: ping until it has its 10 packets (bounded).
        `ip link set lo up; tshark -q -i lo -F ${format} -w '${path}' -c 10 -a duration:40 & tpid=$!; i=0; ` +
        `while kill -0 $tpid 2>/dev/null && [ $i -lt 150 ]; do ping -c 1 -W 1 127.0.0.1 >/dev/null; i=$((i+1)); sleep 0.2; done; wait`;
      const cap = run('unshare', ['-Urn', 'sh', '-c', script]);
      if (!existsSync(path) || statSync(path).size === 0) {
        if (/Operation not permitted|cannot|unshare failed/i.test(cap.stderr)) return t.skip(`no user namespaces here: ${cap.stderr.trim()}`);
        assert.fail(`tshark wrote nothing: ${cap.stderr}`);
      }
      const { packets, reader, error } = readAll(path, 100);
      assert.equal(error, undefined);
      assert.equal(reader.format, format);
      assert.equal(packets.length, 10);
      const ref = run('tcpdump', ['-r', path, '-n', '-tt', '--nano']);
      assert.equal(ref.status, 0, ref.stderr);
      const refStamps = ref.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
      assert.deepEqual(packets.map((p) => stamp(p.tsSec, p.tsNsec)), refStamps);
      const sizes = run('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.cap_len', '-e', 'frame.len']);
      assert.deepEqual(
        packets.map((p) => `${p.capLen}\t${p.origLen}`),
        sizes.stdout.trim().split('\n'),
      );
      if (format === 'pcapng') assert.equal(reader.interfaces[0].name, 'lo');
      // The reader hands out the captured bytes: every packet is an ICMP echo on 127.0.0.1.
      for (const p of packets) assert.deepEqual(p.data.slice(26, 34), [127, 0, 0, 1, 127, 0, 0, 1]);
    });
  }
});
