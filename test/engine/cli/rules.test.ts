import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, root } from '../../support/cli';

const sample = join(root, 'examples', 'sample.pcapng');
const rules = join(root, 'examples', 'routing.bypass');
const haveTcpdump = spawnSync('sh', ['-c', 'command -v tcpdump']).status === 0;


describe('bypass-scope rules check', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'bypass-scope-rules-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the shipped example rules with no diagnostics', () => {
    const { code, out } = cli('rules', 'check', rules);
    assert.equal(code, 0);
    assert.equal(out, '');
  });

  it('prints FILE:LINE:COL diagnostics for every problem, notes the shadowing rule, and exits 1 on errors', () => {
    const file = join(dir, 'bad.bypass');
    writeFileSync(file, 'default kernel\nbypass tcp port 99999\nbypas udp\nbypass tcp port 80\nkernel tcp port 80 and host 198.18.0.1\n');
    const { code, out } = cli('rules', 'check', file);
    assert.equal(code, 1);
    assert.deepEqual(out.trim().split('\n'), [
      `${file}:2:17: error: illegal port number 99999 > 65535`,
      `${file}:3:1: error: unknown action 'bypas' (expected default, bypass, kernel or drop)`,
      `${file}:5:8: warning: this rule never applies: every packet it matches is matched first by the rule on line 4`,
      `${file}:4:8: note: the earlier rule`,
    ]);
  });

  it('exits 0 when there are only warnings', () => {
    const file = join(dir, 'warn.bypass');
    writeFileSync(file, 'bypass udp\n');
    const { code, out } = cli('rules', 'check', file);
    assert.equal(code, 0);
    assert.match(out, /warning: .*default/);
  });

  it('says in one line that the rules file is missing', () => {
    const { code, err } = cli('rules', 'check', join(dir, 'none.bypass'));
    assert.equal(code, 1);
    assert.match(err.trim(), /^bypass-scope rules: rules file .*none\.bypass: no such file$/);
  });
});

describe('bypass-scope filter', () => {
  const expressions = [
    'tcp', 'udp', 'arp', 'icmp', 'ip6', 'tcp port 8080', 'tcp[tcpflags] & tcp-syn != 0', 'host 198.18.0.2 and not port 8080',
    'udp dst portrange 20000-20999', 'ether broadcast', 'greater 100', 'icmp6 and ip6[40] = 143', 'port 8080 or 20001',
  ];

  for (const expr of expressions) {
    it(`matches the packets tcpdump matches for '${expr}'`, { skip: !haveTcpdump && 'tcpdump is not installed' }, () => {
      const ours = cli('filter', expr, sample);
      assert.equal(ours.code, 0, ours.err);
      // tcpdump's -# counts matches, not positions: map its nanosecond timestamps back to packet numbers.
      const stamps = (filter: string[]) =>
        spawnSync('tcpdump', ['-r', sample, '-n', '-tt', '--nano', ...filter], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '').map((l) => l.split(' ')[0]);
      const all = stamps([]);
      assert.equal(new Set(all).size, all.length, 'sample timestamps are unique');
      const want = stamps([expr]).map((t) => String(all.indexOf(t) + 1));
      assert.deepEqual(ours.out.split('\n').filter((l) => l !== ''), want);
    });
  }

  it('prints the diagnostic with its column and exits 1 for a bad expression', () => {
    const { code, out, err } = cli('filter', 'tcp port', sample);
    assert.equal(code, 1);
    assert.equal(out, '');
    assert.match(err.trim(), /^bypass-scope filter: "tcp port":1:9: error: syntax error/);
  });

  it('refuses an expression outside the supported set with exit 1', () => {
    const { code, err } = cli('filter', 'gateway snow', sample);
    assert.equal(code, 1);
    assert.match(err, /not supported|unsupported/);
  });
});

describe('bypass-scope steer', () => {
  it('prints each packet with its path and rule, then per-rule totals that add up', () => {
    const { code, out } = cli('steer', sample, '--rules', rules);
    assert.equal(code, 0);
    const lines = out.trim().split('\n');
    assert.match(lines[11], /^12 bypass line 7 IP 198\.18\.0\.1\.39352 > 198\.18\.0\.2\.8080: Flags \[S\]/);
    assert.match(out, /29 packets: 15 bypass, 14 kernel, 0 dropped/);
  });

  it('gives JSON per packet and totals whose packets sum to the capture', () => {
    const { code, out } = cli('steer', sample, '--rules', rules, '--json');
    assert.equal(code, 0);
    const records = out.trim().split('\n').map((l) => JSON.parse(l));
    const totals = records.pop().totals;
    assert.equal(records.length, 29);
    const sum = totals.rules.reduce((n: number, r: { packets: number }) => n + r.packets, totals.default.packets);
    assert.equal(sum, 29);
    assert.equal(records.filter((r) => r.path === 'bypass').length, totals.paths.bypass);
  });

  it('refuses rules with errors, printing their diagnostics', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bypass-scope-steer-'));
    const bad = join(dir, 'bad.bypass');
    writeFileSync(bad, 'default kernel\nbypass tcp port 99999\n');
    const { code, err } = cli('steer', sample, '--rules', bad);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 1);
    assert.match(err, /bad\.bypass:2:17: error: illegal port number/);
  });
});
