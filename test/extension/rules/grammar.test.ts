// The `.bypass` TextMate grammar, tokenized by vscode-textmate with the Oniguruma engine VS Code uses:
// the committed JSON is the grammar built from the engine's tables, each kind of word gets its scope,
// compound words (tcp-syn, 20000-20999, 198.18.0.0/15) stay whole, and every keyword the engine knows
// is highlighted.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';
import { buildGrammar } from '../../../extension/rules/grammar';
import { engineKeywords } from '../../../extension/rules/vocabulary';
import { serviceNames } from '../../../engine/steer/services';

const root = join(__dirname, '..', '..', '..');
const grammarPath = join(root, 'syntaxes', 'bypass.tmLanguage.json');
let grammar: textmate.IGrammar;

before(async () => {
  const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => (scope === 'source.bypass' ? textmate.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath) : null),
  });
  const g = await registry.loadGrammar('source.bypass');
  assert.ok(g, 'grammar source.bypass loads');
  grammar = g;
});

interface Tok {
  text: string;
  scopes: string[];
}

function tokenize(lines: string[]): Tok[][] {
  let stack = textmate.INITIAL;
  return lines.map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

/** The innermost scope of the token whose text is `text` on a one-line input. */
function scopeOf(line: string, text: string, nth = 0): string {
  const toks = tokenize([line])[0].filter((t) => t.text === text);
  assert.ok(toks.length > nth, `token '${text}' in '${line}': got tokens ${JSON.stringify(tokenize([line])[0].map((t) => t.text))}`);
  const scopes = toks[nth].scopes;
  return scopes[scopes.length - 1];
}

describe('the .bypass grammar', () => {
  it('is committed exactly as grammar.ts builds it (run npx tsx extension/rules/write-grammar.ts after changing it)', () => {
    const committed = JSON.parse(readFileSync(grammarPath, 'utf8'));
    assert.deepEqual(committed, JSON.parse(JSON.stringify(buildGrammar())));
  });

  it('scopes the actions, the default line and comments', () => {
    assert.equal(scopeOf('default kernel   # fallback', 'default'), 'keyword.control.default.bypass');
    assert.equal(scopeOf('default kernel   # fallback', 'kernel'), 'keyword.control.action.kernel.bypass');
    assert.equal(scopeOf('bypass udp', 'bypass'), 'keyword.control.action.bypass.bypass');
    assert.equal(scopeOf('drop icmp', 'drop'), 'keyword.control.action.drop.bypass');
    assert.equal(scopeOf('  kernel tcp port 22', 'kernel'), 'keyword.control.action.kernel.bypass');
    assert.equal(scopeOf('# bypass tcp port 80', ' bypass tcp port 80'), 'comment.line.number-sign.bypass');
    assert.equal(scopeOf('bypass tcp port 80 # and host', ' and host'), 'comment.line.number-sign.bypass');
    assert.equal(scopeOf('default kernel extra', 'extra'), 'invalid.illegal.default.bypass');
  });

  it('scopes qualifiers, protocols, primitives and logical words', () => {
    const line = 'bypass not tcp and src host 198.18.0.2 or dst portrange 20000-20999 && less 100 || !vlan';
    assert.equal(scopeOf(line, 'not'), 'keyword.operator.logical.bypass');
    assert.equal(scopeOf(line, 'tcp'), 'support.type.protocol.bypass');
    assert.equal(scopeOf(line, 'and'), 'keyword.operator.logical.bypass');
    assert.equal(scopeOf(line, 'src'), 'keyword.other.direction.bypass');
    assert.equal(scopeOf(line, 'host'), 'keyword.other.qualifier.bypass');
    assert.equal(scopeOf(line, 'portrange'), 'keyword.other.qualifier.bypass');
    assert.equal(scopeOf(line, 'less'), 'keyword.other.primitive.bypass');
    assert.equal(scopeOf(line, 'vlan'), 'keyword.other.primitive.bypass');
    assert.equal(scopeOf(line, '&&'), 'keyword.operator.logical.bypass');
    assert.equal(scopeOf(line, '||'), 'keyword.operator.logical.bypass');
    assert.equal(scopeOf(line, '!'), 'keyword.operator.logical.bypass');
    assert.equal(scopeOf('bypass icmp6 or ip6', 'icmp6'), 'support.type.protocol.bypass');
  });

  it('keeps port ranges, CIDRs, IPv6 and MAC literals whole', () => {
    assert.equal(scopeOf('bypass udp portrange 20000-20999', '20000'), 'constant.numeric.port.bypass');
    assert.equal(scopeOf('bypass udp portrange 20000-20999', '-'), 'punctuation.separator.range.bypass');
    const cidr = tokenize(['drop net 198.18.0.0/15'])[0];
    assert.deepEqual(cidr.slice(-3).map((t) => [t.text, t.scopes.at(-1)]), [
      ['198.18.0.0', 'constant.other.ipv4.bypass'],
      ['/', 'punctuation.separator.prefix.bypass'],
      ['15', 'constant.numeric.prefix.bypass'],
    ]);
    assert.ok(cidr.at(-1)!.scopes.includes('meta.cidr.ipv4.bypass'));
    assert.equal(scopeOf('bypass host 198.18.0.2', '198.18.0.2'), 'constant.other.ipv4.bypass');
    assert.equal(scopeOf('bypass host fe80::1', 'fe80::1'), 'constant.other.ipv6.bypass');
    assert.equal(scopeOf('bypass host ::ffff:198.18.0.2', '::ffff:198.18.0.2'), 'constant.other.ipv6.bypass');
    assert.equal(scopeOf('bypass net 2001:db8::/32', '2001:db8::'), 'constant.other.ipv6.bypass');
    assert.equal(scopeOf('bypass ether host 02:42:53:00:00:01', '02:42:53:00:00:01'), 'constant.other.mac.bypass');
    assert.equal(scopeOf('bypass ether src 02-42-53-00-00-01', '02-42-53-00-00-01'), 'constant.other.mac.bypass');
  });

  it('scopes numbers, services and escaped protocol names', () => {
    assert.equal(scopeOf('bypass tcp port 9000', '9000'), 'constant.numeric.decimal.bypass');
    assert.equal(scopeOf('bypass ether proto 0x0806', '0x0806'), 'constant.numeric.hex.bypass');
    assert.equal(scopeOf('kernel tcp port ssh', 'ssh'), 'support.constant.service.bypass');
    assert.equal(scopeOf('kernel port ftp-data', 'ftp-data'), 'support.constant.service.bypass');
    assert.equal(scopeOf('kernel ip proto \\tcp', '\\'), 'constant.character.escape.bypass');
    assert.equal(scopeOf('kernel ip proto \\tcp', 'tcp'), 'support.constant.name.bypass');
  });

  it('scopes byte access with named offsets, values, sizes and operators', () => {
    const line = 'bypass tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 and ip[2:2] > 576 and icmp[icmptype] = icmp-echo';
    const toks = tokenize([line])[0];
    const byText = (text: string, nth = 0) => toks.filter((t) => t.text === text)[nth];
    assert.equal(byText('[').scopes.at(-1), 'punctuation.section.brackets.begin.bypass');
    assert.ok(byText('tcpflags').scopes.includes('meta.byte-access.bypass'));
    assert.equal(byText('tcpflags').scopes.at(-1), 'constant.language.offset.bypass');
    assert.equal(byText('tcp-syn').scopes.at(-1), 'constant.language.value.bypass');
    assert.equal(byText('tcp-fin').scopes.at(-1), 'constant.language.value.bypass');
    assert.equal(byText('&').scopes.at(-1), 'keyword.operator.bitwise.bypass');
    assert.equal(byText('|').scopes.at(-1), 'keyword.operator.bitwise.bypass');
    assert.equal(byText('!=').scopes.at(-1), 'keyword.operator.comparison.bypass');
    assert.equal(byText(':').scopes.at(-1), 'punctuation.separator.size.bypass');
    assert.equal(byText('2', 1).scopes.at(-1), 'constant.numeric.size.bypass');
    assert.equal(byText('>').scopes.at(-1), 'keyword.operator.comparison.bypass');
    assert.equal(byText('icmptype').scopes.at(-1), 'constant.language.offset.bypass');
    assert.equal(byText('icmp-echo').scopes.at(-1), 'constant.language.value.bypass');
    assert.equal(byText('(').scopes.at(-1), 'punctuation.section.parens.begin.bypass');
  });

  it('does not split compound names into keywords (tcp-syn is not tcp, xtcp is not tcp)', () => {
    const toks = tokenize(['bypass tcp-syn and icmp6-echo and xtcp and tcp.x'])[0];
    assert.ok(!toks.some((t) => t.text === 'tcp' || t.text === 'icmp6'), `got ${JSON.stringify(toks.map((t) => t.text))}`);
  });

  it('marks pcap-filter keywords that rules refuse as invalid', () => {
    assert.equal(scopeOf('bypass inbound', 'inbound'), 'invalid.illegal.unsupported.bypass');
    assert.equal(scopeOf('bypass ip protochain 6', 'protochain'), 'invalid.illegal.unsupported.bypass');
  });

  it('gives every keyword, named number and service of the engine a scope of its own', () => {
    const { supported, unsupported, named } = engineKeywords();
    const bare: string[] = [];
    for (const w of [...supported, ...unsupported, ...named, ...serviceNames()]) {
      // After `port` for services; inside a relation for named numbers; elsewhere as a primitive.
      const line = `bypass port ${w}`;
      const tok = tokenize([line])[0].find((t) => t.text === w);
      const scope = tok?.scopes.at(-1);
      if (!scope || scope === 'meta.rule.bypass') bare.push(w);
    }
    assert.deepEqual(bare, [], 'words with no scope of their own');
  });

  it('carries no state from one line to the next (an unclosed bracket ends with its line)', () => {
    const [, second] = tokenize(['bypass tcp[13', 'kernel udp']);
    assert.equal(second[0].scopes.at(-1), 'keyword.control.action.kernel.bypass');
    assert.deepEqual(second[0].scopes, ['source.bypass', 'meta.rule.bypass', 'keyword.control.action.kernel.bypass']);
  });
});
