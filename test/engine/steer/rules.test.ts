import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { actionFor, classifierFor, parseRules, type Diagnostic } from '../../../engine/steer/rules';
import { createRuleCounters, countPacket } from '../../../engine/steer/counters';

function codes(ds: readonly Diagnostic[]): string[] {
  return ds.map((d) => `${d.range.line}:${d.severity}:${d.code}`);
}

describe('rule files', () => {
  test('the design example parses into three rules and a default, with no diagnostics', () => {
    const set = parseRules(
      [
        'default kernel',
        'bypass  udp and dst portrange 20000-20999      # market data',
        'bypass  tcp dst port 9000 and dst host 198.18.0.2',
        'kernel  tcp port 22',
        'drop    icmp and src net 198.19.0.0/16',
      ].join('\n'),
    );
    assert.deepEqual(codes(set.diagnostics), []);
    assert.equal(set.ok, true);
    assert.equal(set.defaultAction, 'kernel');
    assert.deepEqual(set.rules.map((r) => [r.action, r.filterText]), [
      ['bypass', 'udp and dst portrange 20000-20999'],
      ['bypass', 'tcp dst port 9000 and dst host 198.18.0.2'],
      ['kernel', 'tcp port 22'],
      ['drop', 'icmp and src net 198.19.0.0/16'],
    ]);
    assert.deepEqual(set.rules[0].filterRange, { line: 2, column: 9, offset: 23, length: 33 });
  });

  test('one bad rule does not hide the others: every error is reported with its line and column', () => {
    const set = parseRules(['default bypass', 'kernel tcp port nosuch', 'bypass udp port 70000', 'drop net 198.18.0.1/16', 'kernel tcp port 22'].join('\n'));
    assert.deepEqual(codes(set.diagnostics), ['2:error:unknown-name', '3:error:port-range', '4:error:bad-network']);
    assert.equal(set.ok, false);
    assert.equal(set.rules.length, 1);
    const unknown = set.diagnostics[0];
    assert.deepEqual([unknown.range.line, unknown.range.column, unknown.range.length], [2, 17, 6]);
    assert.equal(set.diagnostics[2].message, 'non-network bits set in "198.18.0.1/16"');
  });

  test('a second default is an error that points at the first', () => {
    const set = parseRules('default kernel\nbypass tcp\ndefault drop\n');
    assert.deepEqual(codes(set.diagnostics), ['3:error:duplicate-default']);
    assert.equal(set.diagnostics[0].related?.range.line, 1);
    assert.equal(set.defaultAction, 'kernel');
  });

  test('a missing default is a warning and the kernel is assumed', () => {
    const set = parseRules('bypass tcp port 80\n');
    assert.deepEqual(codes(set.diagnostics), ['1:warning:missing-default']);
    assert.equal(set.ok, true);
    assert.equal(set.defaultAction, 'kernel');
  });

  test('unknown actions, missing filters and a filter on the default line are errors', () => {
    const set = parseRules('default kernel extra\nforward tcp\nbypass\n  # only a comment\n\ndefault drop');
    assert.deepEqual(codes(set.diagnostics), ['1:error:syntax', '2:error:unknown-action', '3:error:missing-filter']);
  });

  test('a syntax error is reported at the offending token of the filter', () => {
    const set = parseRules('default kernel\nbypass tcp port 80 and and udp');
    const d = set.diagnostics[0];
    assert.equal(d.code, 'syntax');
    assert.deepEqual([d.range.line, d.range.column], [2, 24]);
  });

  test('a rule whose filter matches nothing is an error, as tcpdump refuses it', () => {
    const set = parseRules('default kernel\ndrop ip and not ip');
    assert.deepEqual(codes(set.diagnostics), ['2:error:never-matches']);
  });

  test('an unsupported but valid pcap-filter form is an error naming what is unsupported', () => {
    const set = parseRules('default kernel\nbypass host localhost\nbypass mpls');
    assert.deepEqual(codes(set.diagnostics), ['2:error:unsupported', '3:error:unsupported']);
  });

  test('carriage returns and comments are ignored', () => {
    const set = parseRules('default drop\r\nbypass udp # comment\r\n');
    assert.deepEqual(codes(set.diagnostics), []);
    assert.equal(set.rules[0].filterText, 'udp');
  });
});

describe('shadowed rules', () => {
  function shadowed(lines: string[]): string[] {
    const set = parseRules(['default kernel', ...lines].join('\n'));
    return set.diagnostics.filter((d) => d.code === 'shadowed').map((d) => `${d.range.line}<${d.related?.range.line}`);
  }

  test('a rule implied by an earlier one is a warning naming the earlier line', () => {
    assert.deepEqual(shadowed(['bypass tcp', 'kernel tcp port 22']), ['3<2']);
    assert.deepEqual(shadowed(['bypass port 80', 'drop tcp dst port 80 and host 10.0.0.1']), ['3<2']);
    assert.deepEqual(shadowed(['bypass net 10.0.0.0/8', 'drop src host 10.1.2.3']), ['3<2']);
    assert.deepEqual(shadowed(['bypass udp portrange 20000-20999', 'drop udp dst port 20500 and greater 100']), ['3<2']);
    assert.deepEqual(shadowed(['bypass ip', 'drop icmp']), ['3<2']);
    assert.deepEqual(shadowed(['bypass host 10.0.0.1', 'drop arp host 10.0.0.1']), ['3<2']);
    assert.deepEqual(shadowed(['bypass tcp or udp', 'drop tcp port 80']), ['3<2']);
    assert.deepEqual(shadowed(['bypass less 100', 'drop less 60 and udp']), ['3<2']);
  });

  test('no warning where the earlier rule does not cover the later one', () => {
    assert.deepEqual(shadowed(['bypass tcp port 80', 'kernel port 80']), []);
    assert.deepEqual(shadowed(['bypass src port 80', 'kernel dst port 80']), []);
    assert.deepEqual(shadowed(['bypass ip', 'kernel tcp']), []);
    assert.deepEqual(shadowed(['bypass net 10.0.0.0/16', 'kernel net 10.0.0.0/8']), []);
    assert.deepEqual(shadowed(['bypass host 10.0.0.1', 'kernel ip6']), []);
    assert.deepEqual(shadowed(['bypass ip host 10.0.0.1', 'kernel arp host 10.0.0.1']), []);
    assert.deepEqual(shadowed(['bypass vlan and tcp', 'kernel tcp']), []);
  });
});

describe('classifying with a rule file', () => {
  test('the first matching rule wins, the default applies otherwise, and counters add up', () => {
    const set = parseRules('default kernel\nbypass udp dst port 53\ndrop udp\n');
    const classifier = classifierFor(set);
    const udp = (dport: number) => {
      const f = new Uint8Array(42);
      f.set([0x08, 0x00], 12);
      f[14] = 0x45;
      f[23] = 17;
      f.set([0x9c, 0x40, dport >> 8, dport & 255], 34);
      return f;
    };
    const counters = createRuleCounters(set.rules.length);
    const results = [udp(53), udp(54), new Uint8Array(60)].map((f) => {
      const i = classifier.classify(f, f.length);
      countPacket(counters, i, f.length);
      return actionFor(set, i);
    });
    assert.deepEqual(results, ['bypass', 'drop', 'kernel']);
    assert.deepEqual(Array.from(counters.packets), [1, 1, 1]);
    assert.deepEqual(Array.from(counters.bytes), [42, 42, 60]);
  });
});
