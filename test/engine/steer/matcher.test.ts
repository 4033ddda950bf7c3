import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Filter } from '../../../engine/steer/ast';
import { BPF_JMP, BPF_RET, compileBpf, DEFAULT_SNAPLEN, formatBpf, type BpfInsn } from '../../../engine/steer/bpf';
import { runBpf } from '../../../engine/steer/bpf-interp';
import { bpfToMatcher, createClassifier } from '../../../engine/steer/matcher';
import { parseFilter } from '../../../engine/steer/parser';
import { implies } from '../../../engine/steer/semantics';
import { generateExpressions, HAND_WRITTEN, rng } from './expressions';
import { buildFrames } from './frames';

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

  test('indexes port and host rules, and keeps rules with no index field in the scan', () => {
    const c = createClassifier(compileAll(['tcp dst port 80', 'host 10.0.0.1', 'udp', 'tcp[13] & 2 != 0', 'ether[0] & 1 = 1', 'vlan and tcp port 80', 'tcp dst port 81']));
    assert.deepEqual(c.stats, { indexed: 5, scanned: 2, functions: 6 });
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
