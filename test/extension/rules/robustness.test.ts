// Whatever is typed, the editor's logic answers without throwing: completion, hover and quick fixes
// at every column of random rule-like lines, and the grammar-independent line helpers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRules } from '../../../engine/steer/rules';
import { completeAt } from '../../../extension/rules/completion';
import { editorDiagnostics } from '../../../extension/rules/diagnostics';
import { hoverAt } from '../../../extension/rules/hover';
import { quickFixes } from '../../../extension/rules/quickfixes';

const WORDS = [
  'default', 'bypass', 'kernel', 'drop', 'tcp', 'udp', 'icmp', 'ip', 'ip6', 'ether', 'arp', 'host', 'net', 'port', 'portrange',
  'src', 'dst', 'proto', 'and', 'or', 'not', '&&', '||', '!', '(', ')', '[', ']', ':', '=', '!=', '&', '|', 'tcpflags', 'tcp-syn',
  'icmp-echo', '198.18.0.1', '198.18.0.0/15', 'fe80::1', '2001:db8::/32', '02:42:53:00:00:01', '20000-20999', '80', '0x1f',
  'ssh', 'htp', '\\tcp', '#', 'len', 'less', 'greater', 'vlan', 'mask', '255.255.0.0', 'inbound', '\u00e9', '\t', '"',
];

const line = fc.array(fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 4 })), { maxLength: 10 }).map((ws) => ws.join(' '));

describe('robustness', () => {
  it('completes, hovers and fixes at every column of random lines without throwing', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 4 }), (lines) => {
        const text = lines.join('\n');
        const set = parseRules(text);
        lines.forEach((l, i) => {
          for (let c = 0; c <= l.length; c++) {
            const r = completeAt({ line: l, column: c, hasDefault: false, seenHosts: ['198.18.0.1', 'fe80::1'] });
            assert.ok(r.replaceStart >= 0 && r.replaceStart <= c);
            const h = hoverAt({ line: l, lineNumber: i + 1, column: c, rules: set });
            if (h) assert.ok(h.start <= h.end && h.markdown.length > 0);
          }
        });
        for (const d of editorDiagnostics(set)) {
          for (const f of quickFixes(text, d)) for (const e of f.edits) assert.ok(e.start <= e.end && e.end <= text.length);
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
