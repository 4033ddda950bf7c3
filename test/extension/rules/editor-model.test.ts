// The editor's model of a rules file: diagnostics with the engine's ranges, live hits kept on their rule
// across edits, CodeLens titles and reload messages, the new-file template, the language configuration
// and the package's contributions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRules } from '../../../engine/steer/rules';
import { RulesCache, editorDiagnostics } from '../../../extension/rules/diagnostics';
import { mapHits, sameUri } from '../../../extension/rules/hit-map';
import { byteSize, defaultHitsTitle, hitsTitle, notLoadedLens, previewTitle, reloadMessage } from '../../../extension/rules/titles';
import { RULES_TEMPLATE, freeRulesFileName } from '../../../extension/rules/template';
import { root } from './capture';

describe('diagnostics', () => {
  it('carries the engine\'s messages, severities and exact ranges', () => {
    const text = 'default kernel\nbypass tcp port 99999\nkernel udp port nosuch\n';
    const ds = editorDiagnostics(parseRules(text));
    assert.deepEqual(ds.map((d) => [d.severity, d.code, text.slice(d.start, d.end), d.message]), [
      ['error', 'port-range', '99999', 'illegal port number 99999 > 65535'],
      ['error', 'unknown-name', 'nosuch', "unknown port 'nosuch'"],
    ]);
  });

  it('points a shadowed rule at the rule that shadows it, and marks it unnecessary', () => {
    const text = 'default kernel\nbypass tcp\nkernel tcp port 22\n';
    const [d] = editorDiagnostics(parseRules(text));
    assert.equal(d.code, 'shadowed');
    assert.equal(d.severity, 'warning');
    assert.equal(d.message, 'this rule never applies: every packet it matches is matched first by the rule on line 2');
    assert.equal(text.slice(d.start, d.end), 'tcp port 22');
    assert.equal(text.slice(d.related!.start, d.related!.end), 'tcp');
    assert.equal(d.unnecessary, true);
  });

  it('warns about a missing default at the start of the file and relates a duplicate to the first', () => {
    const missing = editorDiagnostics(parseRules('bypass tcp\n'));
    assert.deepEqual(missing.map((d) => [d.code, d.start, d.end]), [['missing-default', 0, 0]]);
    const text = 'default kernel\ndefault bypass\n';
    const [dup] = editorDiagnostics(parseRules(text));
    assert.equal(dup.code, 'duplicate-default');
    assert.equal(text.slice(dup.related!.start, dup.related!.end), 'default kernel');
  });

  it('parses once per document version', () => {
    const cache = new RulesCache();
    let reads = 0;
    const text = () => {
      reads++;
      return 'default kernel\n';
    };
    const a = cache.get('file:///a.bypass', 1, text);
    assert.equal(cache.get('file:///a.bypass', 1, text), a);
    assert.equal(reads, 1);
    assert.equal(cache.get('file:///a.bypass', 2, text), a, 'same text under a new version: same parse');
  });
});

describe('live hits on edited rules', () => {
  const loaded = parseRules('default kernel\nbypass udp\nbypass tcp port 80\nkernel tcp port 22\n');
  const view = {
    rulesUri: 'file:///w/routing.bypass',
    perRule: [{ packets: 10, bytes: 1000, flows: 1 }, { packets: 20, bytes: 2000, flows: 2 }, { packets: 30, bytes: 3000, flows: 3 }],
    defaultHits: { packets: 1, bytes: 60, flows: 1 },
    pinnedToOldRules: 0,
  };

  it('keeps each rule\'s hits when lines are inserted above it or its spacing changes', () => {
    const edited = parseRules('default kernel\n# new\nbypass icmp\nbypass udp\nbypass   tcp  port 80\nkernel tcp port 22\n');
    const m = mapHits(loaded, edited, view)!;
    assert.deepEqual(m.map((h) => (h.kind === 'hits' ? h.hits.packets : 'new')), ['new', 10, 20, 30]);
  });

  it('gives a changed rule no hits (they belong to the old filter)', () => {
    const edited = parseRules('default kernel\nbypass udp\nbypass tcp port 81\nkernel tcp port 22\n');
    assert.deepEqual(mapHits(loaded, edited, view)!.map((h) => h.kind), ['hits', 'new', 'hits']);
  });

  it('refuses to map when the capture counts another number of rules than the file loaded', () => {
    assert.equal(mapHits(parseRules('default kernel\nbypass udp\n'), loaded, view), undefined);
  });

  it('compares URIs as the same document despite escaping and scheme case', () => {
    assert.ok(sameUri('file:///w/my%20rules.bypass', 'file:///w/my rules.bypass'));
    assert.ok(sameUri('FILE:///w/a.bypass', 'file:///w/a.bypass'));
    assert.ok(!sameUri('file:///w/a.bypass', 'file:///w/b.bypass'));
    assert.ok(!sameUri(undefined, 'file:///w/a.bypass'));
  });
});

describe('titles and messages', () => {
  it('titles live-hit lenses with packets, flows and bytes', () => {
    assert.equal(hitsTitle({ packets: 1204, bytes: 1_400_000, flows: 12 }), '$(pulse) 1,204 packets · 12 flows · 1.40 MB');
    assert.equal(hitsTitle({ packets: 1, bytes: 60, flows: 1 }), '$(pulse) 1 packet · 1 flow · 60 B');
    assert.equal(hitsTitle({ packets: 0, bytes: 0, flows: 0 }), '$(pulse) no packets yet');
    assert.equal(defaultHitsTitle({ packets: 5, bytes: 300, flows: 2 }, 3), '$(pulse) default: 5 packets · 2 flows · 300 B · 3 flows pinned to earlier rules');
    assert.equal(byteSize(999), '999 B');
    assert.equal(byteSize(12_345), '12.3 kB');
    assert.equal(byteSize(123_456_789), '123 MB');
  });

  it('says why a rule is not in the capture yet and what would load it', () => {
    assert.deepEqual(notLoadedLens({ running: false, fileOk: true, dirty: true }).command, 'none');
    assert.deepEqual(notLoadedLens({ running: true, fileOk: false, dirty: false }), { title: '$(circle-outline) not applied: the file has errors (see Problems)', command: 'problems' });
    assert.deepEqual(notLoadedLens({ running: true, fileOk: true, dirty: true }), { title: '$(circle-outline) not applied yet: save to apply to new flows', command: 'none' });
    assert.equal(notLoadedLens({ running: true, fileOk: true, dirty: false }).command, 'reload');
  });

  it('titles preview lenses with the path changes, most first, or none when nothing changes', () => {
    const p = {
      packets: 500, bytes: 0, flows: 3, changedPackets: 130,
      changes: [
        { from: 'kernel' as const, to: 'bypass' as const, packets: 120, bytes: 0, flows: 2 },
        { from: 'drop' as const, to: 'bypass' as const, packets: 10, bytes: 0, flows: 1 },
      ],
    };
    assert.equal(previewTitle(p), '$(git-compare) preview: 120 packets kernel → bypass, 10 packets drop → bypass');
    assert.equal(previewTitle({ ...p, changes: [], changedPackets: 0 }), undefined);
  });

  it('words a reload: rules applied and flows pinned, or refused with the first error', () => {
    assert.deepEqual(reloadMessage('routing.bypass', { applied: true, ruleCount: 5, pinnedToOldRules: 12, diagnostics: [] }), {
      level: 'info', text: 'Bypass Scope: 5 rules applied to new flows; 12 flows stay pinned to the old rules.',
    });
    assert.match(reloadMessage('r.bypass', { applied: true, ruleCount: 1, pinnedToOldRules: 1, diagnostics: [] }).text, /1 rule applied to new flows; 1 flow stays pinned/);
    const refused = reloadMessage('routing.bypass', {
      applied: false, ruleCount: 0, pinnedToOldRules: 4,
      diagnostics: [
        { severity: 'warning', message: 'w', line: 1, column: 1, endLine: 1, endColumn: 1 },
        { severity: 'error', message: "unknown port 'htp'", line: 4, column: 17, endLine: 4, endColumn: 20 },
        { severity: 'error', message: 'x', line: 5, column: 1, endLine: 5, endColumn: 2 },
      ],
    });
    assert.deepEqual(refused, {
      level: 'warning',
      text: "Bypass Scope: routing.bypass was not applied; the capture keeps its current rules. Line 4: unknown port 'htp'. (2 errors in all; see the Problems view)",
    });
  });
});

describe('the new-file template', () => {
  it('is a valid rules file with one default, the example\'s rules and comments', () => {
    const set = parseRules(RULES_TEMPLATE);
    assert.ok(set.ok, `diagnostics: ${JSON.stringify(set.diagnostics)}`);
    assert.equal(set.diagnostics.length, 0);
    assert.equal(set.default?.action, 'kernel');
    const example = parseRules(readFileSync(join(root, 'examples', 'routing.bypass'), 'utf8'));
    assert.deepEqual(set.rules.map((r) => `${r.action} ${r.filterText}`), example.rules.map((r) => `${r.action} ${r.filterText}`));
  });

  it('picks a free file name', () => {
    assert.equal(freeRulesFileName(() => false), 'routing.bypass');
    const taken = new Set(['routing.bypass', 'routing-2.bypass']);
    assert.equal(freeRulesFileName((n) => taken.has(n)), 'routing-3.bypass');
  });
});

describe('the language contribution', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(root, 'language-configuration.json'), 'utf8'));

  it('contributes the bypass language for *.bypass with its configuration and grammar files', () => {
    const lang = pkg.contributes.languages.find((l: { id: string }) => l.id === 'bypass');
    assert.deepEqual(lang.extensions, ['.bypass']);
    const grammar = pkg.contributes.grammars.find((g: { language: string }) => g.language === 'bypass');
    assert.equal(grammar.scopeName, 'source.bypass');
    for (const f of [lang.configuration, grammar.path]) assert.doesNotThrow(() => JSON.parse(readFileSync(join(root, f), 'utf8')), f);
    const commands = pkg.contributes.commands.map((c: { command: string }) => c.command);
    for (const c of ['bypassScope.newRulesFile', 'bypassScope.reloadRules', 'bypassScope.showRulesPreview']) assert.ok(commands.includes(c), c);
  });

  it('keeps CIDRs, named values, port ranges and addresses as one word', () => {
    const re = new RegExp(config.wordPattern, 'g');
    const words = (s: string) => s.match(re);
    assert.deepEqual(words('drop net 198.18.0.0/15'), ['drop', 'net', '198.18.0.0/15']);
    assert.deepEqual(words('tcp[tcpflags] & tcp-syn != 0'), ['tcp', 'tcpflags', 'tcp-syn', '0']);
    assert.deepEqual(words('portrange 20000-20999'), ['portrange', '20000-20999']);
    assert.deepEqual(words('host fe80::1 or net 2001:db8::/32'), ['host', 'fe80::1', 'or', 'net', '2001:db8::/32']);
    assert.deepEqual(words('ether host 02:42:53:00:00:01'), ['ether', 'host', '02:42:53:00:00:01']);
    assert.deepEqual(words('ip[2:2]'), ['ip', '2', '2']);
  });

  it('comments with # and pairs both kinds of bracket', () => {
    assert.equal(config.comments.lineComment, '#');
    assert.deepEqual(config.brackets, [['(', ')'], ['[', ']']]);
    assert.deepEqual(config.autoClosingPairs.map((p: { open: string }) => p.open), ['(', '[']);
  });
});
