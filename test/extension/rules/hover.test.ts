// Hover over `.bypass` lines: the word explained, the rule in plain words, its action, live hits and preview.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRules } from '../../../engine/steer/rules';
import { hoverAt, type HoverRequest } from '../../../extension/rules/hover';
import type { RulePreview } from '../../../extension/rules/preview';
import { engineKeywords, explainWord } from '../../../extension/rules/vocabulary';

const TEXT = `# rules
default kernel
bypass  udp and dst portrange 20000-20999   # market data
kernel  tcp port ssh
drop    tcp[tcpflags] & tcp-syn != 0 and ip proto \\tcp
`;
const LINES = TEXT.split('\n');
const SET = parseRules(TEXT);

/** Hovers at the first occurrence of `word` on 1-based line `n`. */
function hover(n: number, word: string, extra: Partial<HoverRequest> = {}) {
  const line = LINES[n - 1];
  const column = line.indexOf(word) + 1;
  assert.ok(column > 0, `'${word}' on line ${n}`);
  return hoverAt({ line, lineNumber: n, column, rules: SET, ...extra });
}

describe('hover', () => {
  it('says what a rule matches in plain words and where its flows go, on its action', () => {
    const h = hover(3, 'bypass')!;
    assert.match(h.markdown, /^\*\*Rule 0\*\* \(line 3\): UDP packets, that are also TCP, UDP or SCTP packets to ports 20000-20999\.$/m);
    assert.match(h.markdown, /go to the \*\*bypass\*\* path/);
    assert.deepEqual([h.start, h.end], [0, 6]);
  });

  it('explains a keyword under the cursor with its pcap-filter meaning, then the rule', () => {
    const h = hover(3, 'portrange')!;
    const [first, second] = h.markdown.split('\n\n---\n\n');
    assert.match(first, /^`portrange A-B` — TCP, UDP or SCTP packets/);
    assert.match(second, /\*\*Rule 0\*\*/);
    assert.equal(LINES[2].slice(h.start, h.end), 'portrange');
  });

  it('explains service names after port with their port number', () => {
    assert.match(hover(4, 'ssh')!.markdown, /^`ssh` — service port 22\/tcp/);
  });

  it('explains named offsets, named values and escaped protocol names', () => {
    assert.match(hover(5, 'tcpflags')!.markdown, /^`tcpflags` — offset 13 of the TCP header/);
    assert.match(hover(5, 'tcp-syn')!.markdown, /^`tcp-syn` — 0x02, the SYN bit/);
    assert.match(hover(5, '\\tcp')!.markdown, /^`tcp` — IP protocol 6/);
  });

  it('explains the default line, with the default hits when given', () => {
    const h = hover(2, 'default', { defaultHits: { packets: 12, bytes: 3400, flows: 2 } })!;
    assert.match(h.markdown, /^What happens to packets no rule matches/);
    assert.match(h.markdown, /\*\*Default:\*\* packets of flows no rule matches go to the \*\*kernel\*\* path/);
    assert.match(h.markdown, /\*\*Live:\*\* 12 packets · 2 flows · 3.40 kB/);
    assert.equal(h.markdown.split('What happens to packets no rule matches').length, 2, 'the default explained once');
  });

  it('shows live hits, or says a rule is not loaded yet, from the mapped hits', () => {
    const hits = [
      { kind: 'hits' as const, hits: { packets: 1204, bytes: 1_400_000, flows: 12 }, loadedIndex: 0 },
      { kind: 'new' as const },
      { kind: 'hits' as const, hits: { packets: 0, bytes: 0, flows: 0 }, loadedIndex: 2 },
    ];
    assert.match(hover(3, 'udp', { hits })!.markdown, /\*\*Live:\*\* 1,204 packets · 12 flows · 1.40 MB/);
    assert.match(hover(4, 'kernel', { hits })!.markdown, /not in the running capture's rules yet/);
  });

  it('shows the preview changes of the rule', () => {
    const empty: RulePreview = { packets: 0, bytes: 0, flows: 0, changes: [], changedPackets: 0 };
    const preview: RulePreview[] = [
      { packets: 500, bytes: 50_000, flows: 5, changes: [{ from: 'kernel', to: 'bypass', packets: 120, bytes: 12_000, flows: 3 }], changedPackets: 120 },
      empty, empty, empty,
    ];
    const h = hover(3, 'bypass', { preview })!;
    assert.match(h.markdown, /\*\*Preview:\*\* 500 captured packets would be steered by this line; these would change path:\n- 120 packets \(3 flows\) kernel → bypass/);
    assert.match(hover(4, 'kernel', { preview })!.markdown, /none would change path/);
  });

  it('has nothing to say in a comment or on a blank line', () => {
    assert.equal(hoverAt({ line: LINES[0], lineNumber: 1, column: 3, rules: SET }), undefined);
    assert.equal(hoverAt({ line: LINES[2], lineNumber: 3, column: LINES[2].indexOf('market'), rules: SET }), undefined);
    assert.equal(hoverAt({ line: '', lineNumber: 6, column: 0, rules: SET }), undefined);
  });

  it('explains a word on a line with errors, where there is no rule', () => {
    const bad = 'bypass tcp port nosuch';
    const h = hoverAt({ line: bad, lineNumber: 1, column: bad.indexOf('port') + 1, rules: parseRules(bad) });
    assert.match(h!.markdown, /^`port P`/);
  });
});

describe('the vocabulary', () => {
  it('explains every keyword the engine supports, every named number, and says which keywords are refused', () => {
    const { supported, unsupported, named } = engineKeywords();
    const missing = [...supported, ...named].filter((w) => explainWord(w) === undefined);
    assert.deepEqual(missing, []);
    for (const w of unsupported) assert.match(explainWord(w)!, /do not support/, w);
    for (const a of ['bypass', 'kernel', 'drop', 'default']) assert.ok(explainWord(a, { atLineStart: true }), a);
  });
});
