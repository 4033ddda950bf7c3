import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, root } from '../../support/cli';
import { createCaptureWriter } from '../../../engine/trace/capture-file';
import { LinkType } from '../../../engine/trace/capture-format';
import { flipChecksumBit, LAB_LINUX_SYN, LAB_LINUX_UDP } from '../../support/offload-frames';

const sample = join(root, 'examples', 'sample.pcapng');


describe('bypass-scope decode', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'bypass-scope-cli-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one numbered, timed, tcpdump-style line per packet of the sample capture', () => {
    const { code, out } = cli('decode', sample);
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 29);
    assert.equal(lines[0].split(' ')[1], '0.000000');
    assert.match(lines[11], /^12 0\.896867 IP 198\.18\.0\.1\.39352 > 198\.18\.0\.2\.8080: Flags \[S\], seq 719599019, win 64240, options \[mss 1460,sackOK,TS val 2801170599 ecr 0,nop,wscale 10\], length 0$/);
    assert.match(lines[5], /^6 [\d.]+ ARP, Request who-has 198\.18\.0\.2 tell 198\.18\.0\.1, length 28$/);
  });

  it('stops after --count packets', () => {
    const { code, out } = cli('decode', sample, '--count', '3');
    assert.equal(code, 0);
    assert.equal(out.trim().split('\n').length, 3);
  });

  it('prints one JSON object per packet with every layer when asked for --json', () => {
    const { code, out } = cli('decode', sample, '--json');
    assert.equal(code, 0);
    const records = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(records.length, 29);
    const syn = records[11];
    assert.deepEqual(syn.layers.map((l: { name: string }) => l.name), ['eth', 'ipv4', 'tcp']);
    assert.equal(syn.ipv4.src, '198.18.0.1');
    assert.equal(syn.tcp.seq, 719599019);
    assert.deepEqual(syn.tcp.options[0], { kind: 'mss', value: 1460 });
    assert.deepEqual(syn.problems, []);
  });

  it('prints every packet before the damage of a cut file, then names the byte offset and exits 1', () => {
    const bytes = readFileSync(sample);
    const cut = join(dir, 'cut.pcapng');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 30));
    const { code, out, err } = cli('decode', cut);
    assert.equal(code, 1);
    assert.equal(out.trim().split('\n').length, 28);
    assert.match(err, /^bypass-scope decode: .*cut\.pcapng: .*byte \d+/);
    assert.equal(err.trim().split('\n').length, 1);
  });

  it('lists a TCP/UDP checksum left partial for checksum offload as a note, not a problem, and one bit off it as a problem', () => {
    // What tcpdump writes on a host with offloads: no marks, the outgoing packets' checksums partial.
    const file = join(dir, 'offload.pcap');
    const w = createCaptureWriter(file, 'pcap', { linkType: LinkType.ETHERNET });
    for (const [i, data] of [LAB_LINUX_SYN, LAB_LINUX_UDP, flipChecksumBit(LAB_LINUX_SYN, 0)].entries()) w.writePacket({ tsSec: 1, tsNsec: i * 1000, data });
    w.close();
    const text = cli('decode', file, '--problems');
    assert.equal(text.code, 0);
    const lines = text.out.trimEnd().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('    ')), [
      '    ~ tcp at byte 50: TCP checksum 0x8c56 is partial: left to the device (checksum offload)',
      '    ~ udp at byte 40: UDP checksum 0x8c81 is partial: left to the device (checksum offload)',
      '    ! tcp at byte 50: TCP checksum 0x8c57 is wrong',
    ]);
    const json = cli('decode', file, '--json');
    assert.equal(json.code, 0);
    const [syn, dgram, bad] = json.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual([syn.problems, syn.notes.map((n: { code: string }) => n.code), syn.tcp.checksumValid, syn.tcp.checksumPartial], [[], ['partial-checksum'], false, true]);
    assert.deepEqual([dgram.problems, dgram.notes.length, dgram.udp.checksumPartial], [[], 1, true]);
    assert.deepEqual([bad.problems.map((p: { code: string }) => p.code), bad.notes, bad.tcp.checksumPartial], [['bad-checksum'], undefined, false]);
  });

  it('says in one line that a file is not a capture', () => {
    const junk = join(dir, 'junk.txt');
    writeFileSync(junk, 'hello, this is not a capture file\n');
    const { code, err } = cli('decode', junk);
    assert.equal(code, 1);
    assert.match(err.trim(), /^bypass-scope decode: .*junk\.txt: not a pcap or pcapng file/);
  });

  it('says in one line that a file does not exist', () => {
    const { code, err } = cli('decode', join(dir, 'nope.pcap'));
    assert.equal(code, 1);
    assert.equal(err.trim(), `bypass-scope decode: ${join(dir, 'nope.pcap')}: no such file`);
  });

  it('refuses an unknown option or a missing file name with one line and exit 1', () => {
    for (const args of [['decode', sample, '--bogus'], ['decode'], ['decode', sample, '--count', 'x'], ['decode', sample, '--time', 'soon']]) {
      const { code, err, out } = cli(...args);
      assert.equal(code, 1, args.join(' '));
      assert.equal(out, '');
      assert.equal(err.trim().split('\n').length, 1, err);
    }
  });

  it('explains every option in --help and exits 0', () => {
    const { code, out } = cli('decode', '--help');
    assert.equal(code, 0);
    for (const opt of ['--json', '--count', '--time', '--absolute-seq', '--problems']) assert.ok(out.includes(opt), opt);
  });

  it('lists its commands with --help and rejects an unknown command', () => {
    assert.match(cli('--help').out, /decode/);
    const { code, err } = cli('frobnicate');
    assert.equal(code, 1);
    assert.match(err, /unknown command 'frobnicate'/);
  });
});
