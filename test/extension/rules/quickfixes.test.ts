// Quick fixes for the engine's diagnostics: each fix, applied, leaves a file without that diagnostic.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRules } from '../../../engine/steer/rules';
import { editorDiagnostics } from '../../../extension/rules/diagnostics';
import { closest, quickFixes, type QuickFix } from '../../../extension/rules/quickfixes';

function apply(text: string, fix: QuickFix): string {
  let out = text;
  for (const e of [...fix.edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return out;
}

function fixesFor(text: string, code: string): QuickFix[] {
  const d = editorDiagnostics(parseRules(text)).find((x) => x.code === code);
  assert.ok(d, `a '${code}' diagnostic in ${JSON.stringify(text)}`);
  return quickFixes(text, d);
}

const codes = (text: string) => parseRules(text).diagnostics.map((d) => d.code);

describe('quick fixes', () => {
  it('adds the missing default before the first rule, after the leading comments', () => {
    const text = '# my rules\n\nbypass tcp port 80\n';
    const [fix] = fixesFor(text, 'missing-default');
    assert.equal(fix.title, "Add 'default kernel'");
    assert.equal(fix.preferred, true);
    assert.equal(apply(text, fix), '# my rules\n\ndefault kernel\nbypass tcp port 80\n');
    assert.deepEqual(codes(apply(text, fix)), []);
  });

  it('removes a second default line', () => {
    const text = 'default kernel\nbypass udp\ndefault drop\n';
    const [fix] = fixesFor(text, 'duplicate-default');
    assert.equal(apply(text, fix), 'default kernel\nbypass udp\n');
  });

  it('removes a rule that never applies', () => {
    const text = 'default kernel\nbypass tcp\nkernel tcp port 22\n';
    const [fix] = fixesFor(text, 'shadowed');
    assert.equal(apply(text, fix), 'default kernel\nbypass tcp\n');
  });

  it('corrects a misspelt action', () => {
    const text = 'default kernel\nbypas tcp port 80\n';
    const [fix] = fixesFor(text, 'unknown-action');
    assert.equal(fix.title, "Change to 'bypass'");
    assert.deepEqual(codes(apply(text, fix)), []);
  });

  it('corrects a misspelt service name, saying its port', () => {
    const text = 'default kernel\nkernel tcp port htp\n';
    const fixes = fixesFor(text, 'unknown-name');
    assert.equal(fixes[0].title, "Change to 'http' (port 80)");
    assert.deepEqual(codes(apply(text, fixes[0])), []);
  });

  it('clears the host bits of a network, or makes it a host', () => {
    const text = 'default kernel\ndrop src net 198.18.0.1/15\n';
    const [net, host] = fixesFor(text, 'bad-network');
    assert.equal(net.title, 'Change to the network 198.18.0.0/15');
    assert.equal(apply(text, net), 'default kernel\ndrop src net 198.18.0.0/15\n');
    assert.deepEqual(codes(apply(text, net)), []);
    assert.deepEqual(codes(apply(text, host)), []);
  });

  it('suggests only near words', () => {
    assert.deepEqual(closest('htp', ['http', 'https', 'ssh']), ['http']);
    assert.deepEqual(closest('zzzzzz', ['http', 'ssh']), []);
  });
});
