import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Filter } from '../../../engine/steer/ast';
import { BPF_JMP, BPF_K, BPF_RET, compileBpf, DEFAULT_SNAPLEN, filterToCond, formatBpf, type BpfInsn } from '../../../engine/steer/bpf';
import { runBpf } from '../../../engine/steer/bpf-interp';
import { bpfToMatcher, createClassifier, necessaryTests } from '../../../engine/steer/matcher';
import { parseFilter } from '../../../engine/steer/parser';
import { implies } from '../../../engine/steer/semantics';
import { generateExpressions, HAND_WRITTEN, rng } from './expressions';
import { buildFrames } from './frames';
import { ruleFile } from './workload';

const frames = buildFrames();

interface Compiled {
  readonly text: string;
  readonly filter: Filter;
  readonly program: BpfInsn[];
}

function compileAll(texts: readonly string[]): Compiled[] {
  const out: Compiled[] = [];
  for (const text of texts) {
    const p = parseFilter(text);
    if (!p.ok) continue;
    const c = compileBpf(p.filter);
    if (c.ok) out.push({ text, filter: p.filter, program: c.program });
  }
  return out;
}

const pool = compileAll([...HAND_WRITTEN, ...generateExpressions(300, 77)]);

/** Frames with random bytes after a plausible Ethernet type, to reach code the capture does not. */
function fuzzFrames(count: number, seed: number): Uint8Array[] {
  const r = rng(seed);
  const types = [0x0800, 0x86dd, 0x0806, 0x8035, 0x8100, 0x88a8, 0x0042, 0x9000];
  return Array.from({ length: count }, () => {
    const len = Math.floor(r() * 90);
    const f = Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
    const t = types[Math.floor(r() * types.length)];
    if (len >= 14) f.set([t >> 8, t & 255], 12);
    if (len >= 15 && t === 0x0800 && r() < 0.7) f[14] = 0x45;
    if (len >= 24 && r() < 0.5) f[23] = [6, 17, 1, 132][Math.floor(r() * 4)];
    return f;
  });
}

describe('cBPF programs', () => {
  test('programs return the snap length on accept and 0 on reject, with every jump inside the program', () => {
    for (const { text, program } of pool) {
      program.forEach((ins, i) => {
        if ((ins.code & 0x07) === BPF_RET) assert.ok(ins.k === 0 || ins.k === DEFAULT_SNAPLEN, `${text}: ret ${ins.k}`);
        if ((ins.code & 0x07) === BPF_JMP) {
          assert.ok(ins.jt <= 255 && ins.jf <= 255, `${text}: jump offsets fit in a byte`);
          const far = (ins.code & 0xf0) === 0 ? ins.k : Math.max(ins.jt, ins.jf);
          assert.ok(i + 1 + far < program.length, `${text}: jump at ${i} stays inside`);
        }
      });
    }
  });

  test('a long filter still compiles, with jumps over 255 instructions made through ja', () => {
    const text = Array.from({ length: 60 }, (_, i) => `host 10.0.${i}.1`).join(' or ') + ' or tcp[100] = 1';
    const p = parseFilter(text);
    assert.ok(p.ok);
    const c = compileBpf(p.filter);
    assert.ok(c.ok && c.program.length > 256, 'the program is longer than a conditional jump reaches');
    const ok = c.ok ? c.program : [];
    assert.ok(ok.every((ins) => ins.jt <= 255 && ins.jf <= 255));
  });

  test('the tcpdump -d rendering lists one instruction a line', () => {
    const p = parseFilter('tcp');
    assert.ok(p.ok);
    const c = compileBpf(p.filter);
    assert.ok(c.ok);
    assert.match(formatBpf(c.program), /^\(000\) ldh \[12\]\n\(001\) jeq #0x800/);
  });

  test('the JS matcher agrees with the interpreter on random frames for every filter', () => {
    const fuzz = fuzzFrames(400, 9);
    const failures: string[] = [];
    for (const { text, program } of pool) {
      const m = bpfToMatcher(program);
      for (const f of fuzz) {
        const want = runBpf(program, f, f.length + 4) !== 0;
        if (m(f, f.length + 4) !== want) {
          failures.push(`${text} on ${Buffer.from(f).toString('hex')}: got ${!want} want ${want}`);
          break;
        }
      }
    }
    assert.deepEqual(failures, []);
  });
});

describe('classifier', () => {
  test('gives the same rule as trying every rule in order, for random rule sets', () => {
    const r = rng(2024);
    const traffic = [...frames.map((f) => f.data), ...fuzzFrames(300, 5)];
    for (let round = 0; round < 25; round++) {
      const rules = Array.from({ length: 5 + Math.floor(r() * 40) }, () => pool[Math.floor(r() * pool.length)]);
      const matchers = rules.map((x) => bpfToMatcher(x.program));
      const c = createClassifier(rules);
      for (const f of traffic) {
        const want = matchers.findIndex((m) => m(f, f.length));
        const got = c.classify(f, f.length);
        assert.equal(got, want, `round ${round}, frame ${Buffer.from(f).toString('hex')}: got rule ${got} (${rules[got]?.text}), want ${want} (${rules[want]?.text})`);
      }
    }
  });

  test('gives the same rule as trying every rule in order, for big files of nets, ranges, IPv6 and byte tests on truncated frames', () => {
    const extra = [
      'src net 10.0.0.0/8', 'dst net 198.18.0.0/15 and udp', 'net 192.168.1.0/24 and tcp', 'arp and src net 10.0.0.0/24',
      'udp dst portrange 20000-20999', 'tcp portrange 1-1024', 'src portrange 50-60 and udp', 'dst net 2001:db8::/32',
      'ip6 net 2001:db8:1::/48 and tcp', 'dst host 2001:db8::2 and udp', 'tcp[tcpflags] & tcp-syn != 0', 'tcp[tcpflags] & (tcp-syn|tcp-rst) = (tcp-syn|tcp-rst)',
      'icmp[icmptype] = icmp-echo', 'ip[8] < 2', 'ip[6:2] & 0x1fff != 0', 'len > 100 and tcp', 'ether[0] & 1 = 1', 'ip6[6] = 17 and udp port 53',
      'vlan and tcp port 80', 'not tcp and dst net 198.18.0.0/16', 'ether proto 0x88cc', 'ip proto 47', 'host 10.0.0.1 and port 53',
    ];
    const file = ruleFile(300).split('\n').slice(1).map((l) => l.replace(/^\S+\s+/, ''));
    const r = rng(77);
    const traffic = [...frames.map((f) => f.data), ...fuzzFrames(300, 6)];
    // Every truncation of the real frames, so that loads past the end are met everywhere.
    for (const f of frames) for (let k = 0; k < f.data.length && k < 80; k += 1 + Math.floor(r() * 3)) traffic.push(f.data.subarray(0, k));
    for (let round = 0; round < 6; round++) {
      const texts = [...file, ...extra, ...pool.map((x) => x.text)].filter(() => r() < 0.35);
      for (let i = texts.length - 1; i > 0 && round > 2; i--) {
        const j = Math.floor(r() * (i + 1));
        [texts[i], texts[j]] = [texts[j], texts[i]];
      }
      const rules = compileAll(texts);
      const matchers = rules.map((x) => bpfToMatcher(x.program));
      const c = createClassifier(rules);
      for (const f of traffic) {
        const want = matchers.findIndex((m) => m(f, f.length));
        const got = c.classify(f, f.length);
        assert.equal(got, want, `round ${round}, frame ${Buffer.from(f).toString('hex')}: got rule ${got} (${rules[got]?.text}), want ${want} (${rules[want]?.text})`);
      }
    }
  });

  test('every necessary test of a filter holds on every frame the filter matches, truncated frames included', () => {
    const traffic = [...frames.map((f) => f.data), ...fuzzFrames(400, 8)];
    for (const f of frames) for (let k = 0; k < f.data.length && k < 80; k++) traffic.push(f.data.subarray(0, k));
    const extra = compileAll(['tcp[tcpflags] & tcp-syn != 0 and dst port 22', 'dst net 2001:db8::/32 and len > 60', 'not (tcp or udp) and ip', 'ip[8] < 2 and not ip6']);
    const wrong: string[] = [];
    for (const { text, filter, program } of [...pool, ...extra]) {
      const m = bpfToMatcher(program);
      const tests = necessaryTests(filterToCond(filter)).map((t) => ({
        t,
        m: bpfToMatcher([
          ...t.test.stmts.map((x) => ({ code: x.code, jt: 0, jf: 0, k: x.k })),
          { code: t.test.jcode, jt: t.want ? 0 : 1, jf: t.want ? 1 : 0, k: t.test.k },
          { code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 1 },
          { code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 0 },
        ]),
      }));
      for (const f of traffic) {
        if (!m(f, f.length)) continue;
        const bad = tests.find((x) => !x.m(f, f.length));
        if (bad) {
          wrong.push(`${text}: test ${bad.t.test.key} ${bad.t.test.jcode}/${bad.t.test.k} want ${bad.t.want} fails on ${Buffer.from(f).toString('hex')}`);
          break;
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('indexes port, host and protocol rules and rules with a necessary test, and keeps the rest in the scan', () => {
    const c = createClassifier(compileAll(['tcp dst port 80', 'host 10.0.0.1', 'udp', 'tcp[13] & 2 != 0', 'ether[0] & 1 = 1', 'vlan and tcp port 80', 'tcp dst port 81']));
    // Six program shapes and four shared tests; only the vlan rule has neither a field nor a test to go by.
    assert.deepEqual(c.stats, { indexed: 6, scanned: 1, functions: 10 });
  });
});

describe('implication used for shadowing warnings', () => {
  test('is sound on real packets: when a implies b, every frame a matches, b matches', () => {
    const texts = [
      'tcp', 'udp', 'ip', 'ip6', 'arp', 'icmp', 'port 80', 'tcp port 80', 'udp port 53', 'port 53', 'src port 53', 'dst port 53',
      'tcp dst port 80', 'portrange 1-1024', 'udp portrange 20000-20999', 'udp dst port 20001', 'host 10.0.0.1', 'src host 10.0.0.1',
      'dst host 10.0.0.2', 'arp host 10.0.0.1', 'net 10.0.0.0/8', 'src net 198.18.0.0/15', 'host 198.18.0.2', 'ip host 198.18.0.2',
      'host 2001:db8::1', 'net 2001:db8::/32', 'src host 2001:db8::2', 'ether host 00:11:22:33:44:55', 'ether src 00:11:22:33:44:55',
      'broadcast', 'multicast', 'less 60', 'less 100', 'greater 64', 'greater 100', 'proto 6', 'ip proto 6', 'ip6 proto 6',
      'tcp or udp', 'tcp and port 80', 'udp and port 53 and host 10.0.0.1', 'not tcp', 'tcp[13] & 2 != 0', 'icmp or arp',
      'tcp port 80 and host 10.0.0.1', 'port 80 or port 443', 'src and dst host 10.0.0.1',
    ];
    const all = compileAll(texts);
    const sets = all.map(({ program }) => frames.map((f) => runBpf(program, f.data, f.wireLen) !== 0));
    let positives = 0;
    const wrong: string[] = [];
    all.forEach((a, i) =>
      all.forEach((b, j) => {
        if (i === j || !implies(a.filter, b.filter)) return;
        positives++;
        const bad = frames.findIndex((_, k) => sets[i][k] && !sets[j][k]);
        if (bad >= 0) wrong.push(`${a.text} => ${b.text}, but frame #${bad + 1} (${frames[bad].name}) breaks it`);
      }),
    );
    assert.deepEqual(wrong, []);
    assert.ok(positives >= 40, `got ${positives} implications, want at least 40`);
  });
});
