// Formatting a rules file: the example's layout, only whitespace changes, and what does not parse is left alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRules } from '../../../engine/steer/rules';
import { formatRules } from '../../../extension/rules/format';
import { ROUTING } from './capture';

function formatted(text: string): string {
  const lines = text.split('\n');
  for (const e of formatRules(text)) lines[e.line] = e.newText;
  return lines.join('\n');
}

const meaning = (text: string) => {
  const s = parseRules(text);
  return { rules: s.rules.map((r) => [r.action, r.filterText]), def: s.defaultAction, diags: s.diagnostics.map((d) => d.code) };
};

describe('formatting', () => {
  it('leaves the example as it is', () => {
    assert.deepEqual(formatRules(ROUTING), []);
  });

  it('puts actions in one column and filters in the next, lining up comments', () => {
    const text = '# top\ndefault   kernel\nbypass udp and dst portrange 20000-20999 # feed\n  kernel tcp port 22     # ssh\ndrop icmp\n';
    assert.equal(formatted(text), [
      '# top',
      'default kernel',
      'bypass  udp and dst portrange 20000-20999  # feed',
      'kernel  tcp port 22                        # ssh',
      'drop    icmp',
      '',
    ].join('\n'));
  });

  it('changes only whitespace: the formatted file means the same', () => {
    const text = 'default kernel\nbypass   tcp[tcpflags] & tcp-syn != 0   # syn\nkernel  (udp or tcp) and port 53\nnonsense here\nbypass tcp port nosuch\n';
    const out = formatted(text);
    assert.deepEqual(meaning(out), meaning(text));
    assert.match(out, /^nonsense here$/m);
    assert.deepEqual(formatRules(out), [], 'formatting twice changes nothing more');
  });
});
