// bench/decode: decoding a 1M-packet capture with our decoder, `tshark -r FILE -n` and `tcpdump -r FILE -n`
// (all printing to /dev/null, in the same run), and writing pcapng. Prints one JSON line.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createCaptureWriter } from '../engine/trace/capture-file';
import { ByteBuffer, PcapngWriter } from '../engine/trace/capture-format';
import { decodeMix } from '../test/support/traffic-mix';

const root = join(__dirname, '..');
const PACKETS = Number(process.env.BENCH_DECODE_PACKETS ?? 1_000_000);
const dataDir = join(root, 'bench', '.data');
const file = join(dataDir, `decode-${PACKETS}.pcap`);

/** A realistic mix (test/support/traffic-mix.ts): bulk TCP with timestamps, ACKs with SACK, UDP, pings, ARP. */
function makeCapture(): void {
  mkdirSync(dataDir, { recursive: true });
  const w = createCaptureWriter(file, 'pcap', { nanosecond: true });
  let t = 0;
  for (const data of decodeMix(PACKETS)) {
    t += 1234;
    w.writePacket({ tsSec: 1_700_000_000 + Math.floor(t / 1e9), tsNsec: t % 1e9, data });
  }
  w.close();
}

/**
 * Reads the capture once, untimed: the kernel drops pages of a file left idle (proactive reclaim), and
 * whichever tool ran first would otherwise pay for reading them back from disk.
 */
function warmPageCache(path: string): void {
  const fd = openSync(path, 'r');
  const buf = new Uint8Array(1 << 20);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

function timeCommand(cmd: string, args: string[]): number {
  const out = openSync('/dev/null', 'w');
  const start = process.hrtime.bigint();
  const res = spawnSync(cmd, args, { stdio: ['ignore', out, 'ignore'], maxBuffer: 1 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  closeSync(out);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}`);
  return seconds;
}

/** pcapng writing: 1M EPBs of 64..1514 bytes into a file, measured in-process. */
function measurePcapngWrite(): number {
  const frames = [64, 128, 590, 1514].map((n) => new Uint8Array(n).fill(0x5a));
  const fd = openSync('/dev/null', 'w');
  const out = new ByteBuffer({ capacity: 1 << 20, sink: (chunk) => writeSync(fd, chunk) });
  const w = new PcapngWriter(out, { userAppl: 'bench' });
  const iface = w.addInterface({ linkType: 1, tsResolution: 1e9 });
  const n = 1_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) w.writePacket({ interfaceId: iface, tsSec: 1_700_000_000, tsNsec: i, data: frames[i & 3] });
  out.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  closeSync(fd);
  return n / seconds;
}

if (!existsSync(file)) makeCapture();
if (!existsSync(join(root, 'out', 'engine', 'cli.js'))) spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });

warmPageCache(file);
const ours = timeCommand(process.execPath, [join(root, 'out', 'engine', 'cli.js'), 'decode', file]);
const tcpdump = timeCommand('tcpdump', ['-r', file, '-n']);
const tshark = timeCommand('tshark', ['-r', file, '-n']);
const pps = (s: number) => Math.round(PACKETS / s);

console.log(
  JSON.stringify({
    bench: 'decode',
    packets: PACKETS,
    ours_pps: pps(ours),
    tcpdump_pps: pps(tcpdump),
    tshark_pps: pps(tshark),
    ratio_vs_tcpdump: +(tcpdump / ours).toFixed(2),
    ratio_vs_tshark: +(tshark / ours).toFixed(2),
    pcapng_write_pps: Math.round(measurePcapngWrite()),
    command: 'npm run bench -- decode',
  }),
);
