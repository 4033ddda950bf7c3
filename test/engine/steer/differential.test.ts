// Differential test: every filter must keep exactly the packets tcpdump 4.99 / libpcap 1.10 keeps.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { compileBpf, type BpfInsn } from '../../../engine/steer/bpf';
import { runBpf } from '../../../engine/steer/bpf-interp';
import { bpfToMatcher } from '../../../engine/steer/matcher';
import { parseFilter } from '../../../engine/steer/parser';
import { generateExpressions, HAND_WRITTEN, INVALID, REFUSED } from './expressions';
import { buildFrames, pcapBytes, type TestFrame } from './frames';
import { haveTcpdump, pool, tcpdumpMatches, tcpdumpProgram, type TcpdumpAnswer } from './tcpdump';

const frames: TestFrame[] = buildFrames();
const GENERATED = generateExpressions(420, 0x5eed);

type Ours = { ok: true; program: BpfInsn[]; viaBpf: number[]; viaJs: number[] } | { ok: false; error: string };

function ours(expr: string): Ours {
  const parsed = parseFilter(expr);
  if (!parsed.ok) return { ok: false, error: parsed.error.message };
  const compiled = compileBpf(parsed.filter);
  if (!compiled.ok) return { ok: false, error: compiled.error.message };
  const match = bpfToMatcher(compiled.program);
  const viaBpf: number[] = [];
  const viaJs: number[] = [];
  frames.forEach((f, i) => {
    if (runBpf(compiled.program, f.data, f.wireLen) !== 0) viaBpf.push(i);
    if (match(f.data, f.wireLen)) viaJs.push(i);
  });
  return { ok: true, program: compiled.program, viaBpf, viaJs };
}

function describeSet(xs: readonly number[]): string {
  return xs.length ? xs.map((i) => `#${i + 1} ${frames[i].name}`).join('; ') : '(none)';
}

/** Compares one expression; returns a failure sentence or undefined. */
function compare(expr: string, want: TcpdumpAnswer, got: Ours): string | undefined {
  if (!want.ok) {
    if (!got.ok) return undefined;
    if (want.error === 'expression rejects all packets' && got.viaBpf.length === 0 && got.viaJs.length === 0) return undefined;
    return `${JSON.stringify(expr)}: tcpdump refuses it (${want.error}) but we accept it`;
  }
  if (!got.ok) {
    // libpcap's optimizer misses some contradictions this compiler finds; both match nothing.
    if (got.error === 'expression rejects all packets' && want.matches.length === 0) return undefined;
    return `${JSON.stringify(expr)}: tcpdump accepts it but we refuse it: ${got.error}`;
  }
  const w = want.matches.join(',');
  if (got.viaBpf.join(',') !== w) {
    const extra = got.viaBpf.filter((i) => !want.matches.includes(i));
    const missing = want.matches.filter((i) => !got.viaBpf.includes(i));
    return `${JSON.stringify(expr)}: our cBPF matches differ — extra: ${describeSet(extra)}; missing: ${describeSet(missing)}`;
  }
  if (got.viaJs.join(',') !== w) return `${JSON.stringify(expr)}: our JS matcher differs: got ${got.viaJs} want ${w}`;
  return undefined;
}

describe('differential against tcpdump', { skip: !haveTcpdump && 'tcpdump is not installed' }, () => {
  let pcapPath = '';
  const answers = new Map<string, TcpdumpAnswer>();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steer-diff-'));
    pcapPath = join(dir, 'frames.pcap');
    writeFileSync(pcapPath, pcapBytes(frames));
    const all = [...new Set([...HAND_WRITTEN, ...GENERATED, ...REFUSED, ...INVALID])];
    const got = await pool(all, 8, (e) => tcpdumpMatches(pcapPath, e));
    all.forEach((e, i) => answers.set(e, got[i]));
  });

  test('the capture holds the varied traffic the comparison needs', () => {
    assert.ok(frames.length >= 70, `got ${frames.length} frames, want at least 70`);
    const all = answers.get('ip or not ip');
    assert.ok(all?.ok && all.matches.length === frames.length, 'tcpdump reads every frame of the capture');
  });

  test(`hand-written edge cases (${HAND_WRITTEN.length}) match exactly what tcpdump matches`, () => {
    const failures = HAND_WRITTEN.map((e) => compare(e, answers.get(e)!, ours(e))).filter((x): x is string => !!x);
    assert.deepEqual(failures, []);
  });

  test(`generated expressions (${GENERATED.length}, seed 0x5eed) match exactly what tcpdump matches`, () => {
    const failures = GENERATED.map((e) => compare(e, answers.get(e)!, ours(e))).filter((x): x is string => !!x);
    assert.deepEqual(failures, []);
  });

  test('the differential covers at least 500 expressions that both accept', () => {
    const accepted = [...HAND_WRITTEN, ...GENERATED].filter((e) => answers.get(e)!.ok && ours(e).ok);
    assert.ok(accepted.length >= 500, `got ${accepted.length}, want at least 500`);
  });

  test('expressions tcpdump rejects are rejected here too', () => {
    const wrong = INVALID.filter((e) => ours(e).ok || answers.get(e)!.ok);
    assert.deepEqual(wrong, []);
  });

  test('expressions outside the supported set are refused with a message, though tcpdump accepts them', () => {
    for (const e of REFUSED) {
      const r = ours(e);
      assert.equal(r.ok, false, `${JSON.stringify(e)} should be refused`);
      assert.ok(answers.get(e)!.ok, `tcpdump accepts ${JSON.stringify(e)}`);
    }
  });

  test('refused expressions are errors whose range names the part that is refused', () => {
    const wrong: string[] = [];
    for (const e of REFUSED) {
      const parsed = parseFilter(e);
      const failure = parsed.ok ? compileBpf(parsed.filter) : parsed;
      if (failure.ok) continue; // the test above reports it
      const { offset, length } = failure.error.span;
      const inside = offset >= 0 && offset + length <= e.length && (length > 0 || e.trim() === '');
      if (!inside || !failure.error.message) wrong.push(`${JSON.stringify(e)}: range ${offset}+${length}, message ${JSON.stringify(failure.error.message)}`);
    }
    assert.deepEqual(wrong, []);
  });

  test("libpcap's own programs give tcpdump's matches in our interpreter", async () => {
    const sample = HAND_WRITTEN.filter((_, i) => i % 4 === 0);
    const programs = await pool(sample, 8, (e) => tcpdumpProgram(pcapPath, e));
    const failures: string[] = [];
    sample.forEach((e, k) => {
      const prog = programs[k];
      const want = answers.get(e)!;
      if (typeof prog === 'string' || !want.ok) return;
      const got = frames.flatMap((f, i) => (runBpf(prog, f.data, f.wireLen) ? [i] : []));
      if (got.join(',') !== want.matches.join(',')) failures.push(`${e}: got ${got} want ${want.matches}`);
    });
    assert.deepEqual(failures, []);
  });
});
