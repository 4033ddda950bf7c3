// `bypass-scope capture` on the command line: the default run, the pcapng it writes (read back by
// tshark), stop conditions, JSON output, and one-line errors for bad input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../../support/cli';

const tmp = mkdtempSync(join(tmpdir(), 'bypass-scope-capture-'));
const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

const PACKET_LINE = /^(\d+) (\d+\.\d{6}) (rx|tx) (bypass|kernel|drop|none) (\S+) (.+) latency (\d+\.\d+)µs/;

describe('bypass-scope capture', () => {
  it('prints packets on both paths and a summary with every workload verified, by default', () => {
    const r = cli('capture');
    assert.equal(r.code, 0, `exit status: got ${r.code}, stderr ${r.err}`);
    const lines = r.out.split('\n');
    const pkts = lines.filter((l) => PACKET_LINE.test(l));
    assert.ok(pkts.length > 1000, `packet lines: got ${pkts.length}, want > 1000`);
    const paths = new Set(pkts.map((l) => PACKET_LINE.exec(l)![4]));
    assert.ok(paths.has('bypass') && paths.has('kernel'), `paths: got ${[...paths].join(', ')}`);
    assert.ok(pkts.some((l) => / rx bypass routing\.bypass:5 IP 198\.18\.0\.1\.\d+ > 198\.18\.0\.2\.20001: UDP, length 64 /.test(l)), 'a market-data datagram steered by rule line 5');
    for (const heading of ['capture: sim, scenario mixed', 'packets: ', 'drops: ', 'tcp connections: ', 'latency per path (measured cost', 'per hop', 'trace: level full, records dropped 0', 'workloads:']) {
      assert.ok(lines.some((l) => l.startsWith(heading)), `summary line starting '${heading}'`);
    }
    const workloads = lines.filter((l) => /^ {2}(udp-feed|http|rr|echo|bulk|ping): /.test(l));
    assert.equal(workloads.length, 6, `workload lines: got ${workloads.length}`);
    for (const w of workloads) assert.match(w, /: ok, /);
    assert.ok(lines.some((l) => /^ {2}#\d+ bypass .* active +(TIME-WAIT|CLOSED)$/.test(l)), 'the rr connection with its final state');
  });

  it('stops after --packets N packets', () => {
    const r = cli('capture', '--packets', '50');
    assert.equal(r.code, 0, r.err);
    const n = r.out.split('\n').filter((l) => PACKET_LINE.test(l)).length;
    assert.equal(n, 50, `packet lines: got ${n}, want 50`);
  });

  it('ends by itself when the network goes idle before --packets N is reached', () => {
    const r = cli('capture', '--quiet', '--packets', '1000000');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^capture: sim, scenario mixed, .* s virtual \(idle\)$/m);
  });

  it('prints one JSON object per packet and a summary object with --json', () => {
    const r = cli('capture', '--json', '--duration', '0.05');
    assert.equal(r.code, 0, r.err);
    const objs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const summary = objs.pop();
    assert.ok(summary.summary, 'the last object is the summary');
    assert.ok(objs.length > 10);
    for (const o of objs) assert.ok(Array.isArray(o.hops) && typeof o.path === 'string' && typeof o.summary === 'string');
  });

  it('is deterministic by seed in everything but the measured costs', () => {
    // Packets, paths, rules, virtual times and the summary's counts repeat exactly; latencies are measured, so they do not.
    const unmeasured = (out: string) =>
      out
        .split('\n')
        .filter((l) => !/ p50 /.test(l))
        .map((l) => l.replace(/ latency \d+\.\d+µs/, ''))
        .join('\n');
    const a = cli('capture', '--seed', '7', '--loss', '0.02', '--duration', '0.5');
    const b = cli('capture', '--seed', '7', '--loss', '0.02', '--duration', '0.5');
    assert.equal(a.code, 0, a.err);
    assert.ok(a.out.split('\n').length > 500, 'a run long enough to compare');
    assert.equal(unmeasured(a.out), unmeasured(b.out));
  });

  it('reports what each layer cost: non-zero p50 per path and per stack layer in the summary', () => {
    const r = cli('capture', '--quiet', '--duration', '1');
    assert.equal(r.code, 0, r.err);
    const p50 = (label: string) => {
      const line = r.out.split('\n').find((l) => l.trimStart().startsWith(`${label} `));
      assert.ok(line, `a summary line for ${label}`);
      const m = / p50 ([\d.]+)(ns|µs|ms) p99 ([\d.]+)(ns|µs|ms)/.exec(line);
      assert.ok(m, `p50/p99 on the ${label} line: got ${line}`);
      return Number(m[1]);
    };
    for (const label of ['bypass', 'kernel', 'steer', 'bypass.ip', 'bypass.tcp', 'bypass.udp', 'kernel.ip', 'kernel.tcp', 'nic.tx']) {
      assert.ok(p50(label) > 0, `${label} p50: got 0, want a measured cost`);
    }
    assert.equal(p50('nic.rx'), 0, 'nic.rx is an instant');
  });

  it('writes a pcapng that tshark reads without malformed packets, with path, rule and hops in the comments', (t) => {
    if (!hasTshark) return t.skip('tshark is not installed');
    const file = join(tmp, 'mixed.pcapng');
    const r = cli('capture', '--quiet', '--out', file, '--loss', '0.01');
    assert.equal(r.code, 0, r.err);
    const ts = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.comment', '-e', '_ws.malformed'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(ts.status, 0, ts.stderr);
    const rows = ts.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.ok(rows.length > 1000, `frames: got ${rows.length}`);
    const malformed = rows.filter((r) => (r[1] ?? '') !== '');
    assert.equal(malformed.length, 0, `malformed frames: got ${malformed.length}`);
    assert.ok(rows.some((r) => r[0].startsWith('path=bypass rule=routing.bypass:')), 'a bypass packet steered by a rule');
    assert.ok(rows.some((r) => r[0].startsWith('path=kernel rule=default')), 'a kernel packet steered by the default');
    const full = /hops=nic\.rx@0 steer@0\+(\d+) bypass\.eth@(\d+)\+(\d+) bypass\.ip@(\d+)\+(\d+) bypass\.udp@(\d+)\+(\d+) bypass\.socket@(\d+)(?:\+(\d+))? app@(\d+)$/;
    const bypassRx = rows.map((r) => full.exec(r[0])).filter((m) => m !== null);
    assert.ok(bypassRx.length > 0, 'a full bypass receive path with measured durations');
    for (const m of bypassRx.slice(0, 50)) {
      // In virtual time each hop starts where the one before it ended (to a nanosecond of rounding).
      const n = m.slice(1).map((x) => Number(x ?? 0));
      const [steer, ethAt, eth, ipAt, ip, udpAt, udp, sockAt, sock, appAt] = n;
      for (const [at, want] of [[ethAt, steer], [ipAt, ethAt + eth], [udpAt, ipAt + ip], [sockAt, udpAt + udp], [appAt, sockAt + sock]]) assert.ok(Math.abs(at - want) <= 1, `hop offsets add up: got ${at}, want ${want} in ${m[0]}`);
    }
    assert.ok(rows.some((r) => / kernel\.tcp@\d+\+\d+\[emulated\] kernel\.socket@\d+(\+\d+)?\[emulated\] kernel\.syscall@\d+\[emulated\] app@\d+\[emulated\]$/.test(r[0])), 'a full kernel receive path, labelled emulated');
    const info = spawnSync('capinfos', [file], { encoding: 'utf8' });
    if (info.status === 0) assert.match(info.stdout, /Capture comment: +bypass-scope capture\. Each packet's comment: .*measured on the CPU with a monotonic clock/, 'the file says how to read its comments');
    assert.ok(!rows.some((r) => /!drop:loss/.test(r[0])), 'frames lost on the wire are not in the file');
  });

  function oneLineError(args: string[], pattern: RegExp): void {
    const r = cli('capture', ...args);
    assert.equal(r.code, 1, `exit status for ${args.join(' ')}: got ${r.code}`);
    assert.equal(r.out, '', `stdout for ${args.join(' ')}`);
    const lines = r.err.trimEnd().split('\n');
    assert.equal(lines.length, 1, `stderr lines for ${args.join(' ')}: got ${JSON.stringify(r.err)}`);
    assert.match(lines[0], pattern);
  }

  it('refuses bad flags, scenarios, backends and rules with one line and exit status 1', () => {
    oneLineError(['--scenario', 'nope'], /^bypass-scope capture: unknown scenario 'nope'/);
    oneLineError(['--loss', '2'], /--loss wants a probability/);
    oneLineError(['--loss', 'lots'], /--loss wants a probability/);
    oneLineError(['--packets', 'x'], /--packets wants an integer/);
    oneLineError(['--duration', '0'], /--duration wants a number > 0/);
    oneLineError(['--trace-level', 'loud'], /--trace-level wants off, summary or full/);
    oneLineError(['--backend', 'lab'], /backend 'lab' is not implemented yet/);
    oneLineError(['--frobnicate'], /unknown option '--frobnicate'/);
    oneLineError(['--rules', join(tmp, 'missing.bypass')], /rules file .*missing\.bypass: no such file/);
    const bad = join(tmp, 'bad.bypass');
    writeFileSync(bad, 'default kernel\nbypass udp port 99999\nsideways tcp\n');
    oneLineError(['--rules', bad], /bad\.bypass:2:\d+: error: .*\(and 1 more error/);
    oneLineError(['--out', join(tmp, 'x.pcap')], /--out wants a \.pcapng file name/);
    oneLineError(['--out', join(tmp, 'no', 'such', 'dir.pcapng')], /dir\.pcapng: ENOENT/);
  });
});
