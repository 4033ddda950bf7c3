// rules: the TextMate grammar of `.bypass` files, built from the engine's own word tables (keywords,
// named offsets and values, services) so highlighting cannot drift from what the parser accepts.
// syntaxes/bypass.tmLanguage.json is this grammar written out by extension/rules/write-grammar.ts;
// a unit test fails when the two differ.
import { NAMED_NUMBERS, UNSUPPORTED_KEYWORDS } from '../../engine/steer/lexer';
import { serviceNames } from '../../engine/steer/services';
import { NAMED_OFFSETS, PROTOCOL_WORDS } from './vocabulary';

/** Word boundaries as the lexer's names have them: letters, digits, '_', '.', and '-' inside. */
const B = '(?<![A-Za-z0-9_.\\\\-])';
const E = '(?![A-Za-z0-9_.]|-[A-Za-z0-9_.])';
/** An alternation of words, longest first (so `icmp6` is tried before `icmp`). */
const alt = (ws: readonly string[]) => [...ws].sort((a, b) => b.length - a.length || a.localeCompare(b)).map((w) => w.replace(/[.\-]/g, (c) => '\\' + c)).join('|');
const offsets: readonly string[] = NAMED_OFFSETS;
const values = [...NAMED_NUMBERS.keys()].filter((n) => !offsets.includes(n));
const protos = PROTOCOL_WORDS;
/** The TextMate grammar of `.bypass` files (syntaxes/bypass.tmLanguage.json is this, written out). */
export function buildGrammar(): object {
  return {
    name: 'Bypass Scope routing rules',
    scopeName: 'source.bypass',
    fileTypes: ['bypass'],
    patterns: [{ include: '#comment' }, { include: '#default-line' }, { include: '#rule-line' }],
    repository: {
      comment: { match: '(#).*$', name: 'comment.line.number-sign.bypass', captures: { 1: { name: 'punctuation.definition.comment.bypass' } } },
      'default-line': {
        begin: `^\\s*(default)${E}`,
        beginCaptures: { 1: { name: 'keyword.control.default.bypass' } },
        end: '$',
        name: 'meta.default.bypass',
        patterns: [
          { include: '#comment' },
          { include: '#action' },
          { match: '[^\\s#]+', name: 'invalid.illegal.default.bypass' },
        ],
      },
      'rule-line': {
        begin: `^\\s*(?:(bypass)|(kernel)|(drop))${E}`,
        beginCaptures: {
          1: { name: 'keyword.control.action.bypass.bypass' },
          2: { name: 'keyword.control.action.kernel.bypass' },
          3: { name: 'keyword.control.action.drop.bypass' },
        },
        end: '$',
        name: 'meta.rule.bypass',
        patterns: [{ include: '#comment' }, { include: '#filter' }],
      },
      action: {
        match: `${B}(?:(bypass)|(kernel)|(drop))${E}`,
        captures: {
          1: { name: 'keyword.control.action.bypass.bypass' },
          2: { name: 'keyword.control.action.kernel.bypass' },
          3: { name: 'keyword.control.action.drop.bypass' },
        },
      },
      filter: {
        patterns: [
          { include: '#byte-access' },
          { include: '#named' },
          { include: '#address' },
          { include: '#number' },
          { include: '#keyword' },
          { include: '#service' },
          { include: '#escaped-name' },
          { include: '#operator' },
          { include: '#paren' },
        ],
      },
      expression: {
        patterns: [
          { include: '#byte-access' },
          { include: '#named' },
          { include: '#number' },
          { match: `${B}len${E}`, name: 'keyword.other.primitive.bypass' },
          { include: '#operator' },
          { include: '#paren' },
        ],
      },
      'byte-access': {
        begin: `${B}(${alt(protos)})\\s*(\\[)`,
        beginCaptures: { 1: { name: 'support.type.protocol.bypass' }, 2: { name: 'punctuation.section.brackets.begin.bypass' } },
        end: '(\\])|$',
        endCaptures: { 1: { name: 'punctuation.section.brackets.end.bypass' } },
        name: 'meta.byte-access.bypass',
        patterns: [
          { match: '(:)\\s*([124])(?![0-9])', captures: { 1: { name: 'punctuation.separator.size.bypass' }, 2: { name: 'constant.numeric.size.bypass' } } },
          { include: '#expression' },
        ],
      },
      named: {
        patterns: [
          { match: `${B}(?:${alt(offsets)})${E}`, name: 'constant.language.offset.bypass' },
          { match: `${B}(?:${alt(values)})${E}`, name: 'constant.language.value.bypass' },
        ],
      },
      address: {
        patterns: [
          {
            match: `${B}[0-9A-Fa-f]{1,2}([:-])[0-9A-Fa-f]{1,2}(?:\\1[0-9A-Fa-f]{1,2}){4}${E}`,
            name: 'constant.other.mac.bypass',
          },
          {
            match: `${B}((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?)(/)([0-9]+)${E}`,
            name: 'meta.cidr.ipv6.bypass',
            captures: { 1: { name: 'constant.other.ipv6.bypass' }, 2: { name: 'punctuation.separator.prefix.bypass' }, 3: { name: 'constant.numeric.prefix.bypass' } },
          },
          {
            match: `${B}(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?${E}`,
            name: 'constant.other.ipv6.bypass',
          },
          {
            match: `${B}([0-9]{1,3}(?:\\.[0-9]{1,3}){0,3})(/)([0-9]+)${E}`,
            name: 'meta.cidr.ipv4.bypass',
            captures: { 1: { name: 'constant.other.ipv4.bypass' }, 2: { name: 'punctuation.separator.prefix.bypass' }, 3: { name: 'constant.numeric.prefix.bypass' } },
          },
          { match: `${B}[0-9]{1,3}(?:\\.[0-9]{1,3}){1,3}${E}`, name: 'constant.other.ipv4.bypass' },
          {
            match: `${B}([0-9]+)(-)([0-9]+)${E}`,
            name: 'meta.port-range.bypass',
            captures: { 1: { name: 'constant.numeric.port.bypass' }, 2: { name: 'punctuation.separator.range.bypass' }, 3: { name: 'constant.numeric.port.bypass' } },
          },
        ],
      },
      number: {
        patterns: [
          { match: `${B}0[xX][0-9A-Fa-f]+${E}`, name: 'constant.numeric.hex.bypass' },
          { match: `${B}[0-9]+${E}`, name: 'constant.numeric.decimal.bypass' },
        ],
      },
      keyword: {
        patterns: [
          { match: `${B}(?:and|or|not)${E}`, name: 'keyword.operator.logical.bypass' },
          { match: `${B}(?:src|dst)${E}`, name: 'keyword.other.direction.bypass' },
          { match: `${B}(?:portrange|port|host|net|proto|mask)${E}`, name: 'keyword.other.qualifier.bypass' },
          { match: `${B}(?:${alt(protos)})${E}`, name: 'support.type.protocol.bypass' },
          { match: `${B}(?:less|greater|len|vlan|broadcast|multicast)${E}`, name: 'keyword.other.primitive.bypass' },
          { match: `${B}(?:${alt(UNSUPPORTED_KEYWORDS)})${E}`, name: 'invalid.illegal.unsupported.bypass' },
        ],
      },
      service: { match: `${B}(?:${alt(serviceNames())})${E}`, name: 'support.constant.service.bypass' },
      'escaped-name': {
        match: '(\\\\)([^\\s!()#]+)',
        captures: { 1: { name: 'constant.character.escape.bypass' }, 2: { name: 'support.constant.name.bypass' } },
      },
      operator: {
        patterns: [
          { match: '&&|\\|\\|', name: 'keyword.operator.logical.bypass' },
          { match: '!=|==|<=|>=|=|<(?!<)|>(?!>)', name: 'keyword.operator.comparison.bypass' },
          { match: '!', name: 'keyword.operator.logical.bypass' },
          { match: '<<|>>|&|\\||\\^', name: 'keyword.operator.bitwise.bypass' },
          { match: '[-+*/%]', name: 'keyword.operator.arithmetic.bypass' },
          { match: ':', name: 'punctuation.separator.size.bypass' },
        ],
      },
      paren: {
        patterns: [
          { match: '\\(', name: 'punctuation.section.parens.begin.bypass' },
          { match: '\\)', name: 'punctuation.section.parens.end.bypass' },
        ],
      },
    },
  };
}
