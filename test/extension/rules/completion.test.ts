// Completion in `.bypass` lines: what is offered at each place of a rule, read from the engine's tokens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookupIpProtocol } from '../../../engine/steer/services';
import { parseRules } from '../../../engine/steer/rules';
import { IP_PROTOCOL_NAMES, completeAt, type CompletionRequest } from '../../../extension/rules/completion';

const HOSTS = ['198.18.0.1', '198.18.0.2', '2001:db8::5'];

/** Completes at the `|` of the line. */
function complete(lineWithCursor: string, extra: Partial<CompletionRequest> = {}) {
  const column = lineWithCursor.indexOf('|');
  assert.ok(column >= 0, 'the line marks the cursor with |');
  const line = lineWithCursor.replace('|', '');
  return completeAt({ line, column, hasDefault: true, seenHosts: HOSTS, ...extra });
}

function labels(lineWithCursor: string, extra: Partial<CompletionRequest> = {}): string[] {
  return complete(lineWithCursor, extra).items.map((i) => i.label);
}

/** Labels in the order an editor shows them (by sortText). */
function sorted(lineWithCursor: string): string[] {
  return [...complete(lineWithCursor).items].sort((a, b) => a.sortText.localeCompare(b.sortText)).map((i) => i.label);
}

describe('completion', () => {
  it('offers the actions at the start of a line, and default only when the file has none', () => {
    assert.deepEqual(labels('|'), ['bypass', 'kernel', 'drop']);
    assert.deepEqual(labels('by|'), ['bypass', 'kernel', 'drop']);
    assert.deepEqual(labels('|', { hasDefault: false }), ['bypass', 'kernel', 'drop', 'default']);
    const def = complete('|', { hasDefault: false }).items.find((i) => i.label === 'default')!;
    assert.equal(def.insertText, 'default ${1|kernel,bypass,drop|}');
    assert.equal(def.snippet, true);
    assert.equal(complete('by|').replaceStart, 0);
  });

  it('offers the actions after default, and nothing after its action', () => {
    assert.deepEqual(labels('default |'), ['bypass', 'kernel', 'drop']);
    assert.deepEqual(labels('default kernel |'), []);
  });

  it('offers protocols, qualifiers, primitives and snippets where a filter starts', () => {
    const got = labels('bypass |');
    for (const want of ['tcp', 'udp', 'icmp', 'ip6', 'ether', 'host', 'net', 'port', 'portrange', 'src', 'dst', 'proto', 'not', 'vlan', 'less', 'greater', 'portrange A-B', 'tcp[tcpflags] & flag != 0']) {
      assert.ok(got.includes(want), `'${want}' after an action: got ${got.join(' ')}`);
    }
    const pr = complete('bypass |').items.find((i) => i.label === 'portrange A-B')!;
    assert.equal(pr.insertText, 'portrange ${1:20000}-${2:20999}');
    assert.equal(pr.snippet, true);
    assert.deepEqual(labels('bypass tcp and (|').slice(0, 3), ['tcp', 'udp', 'icmp']);
    assert.deepEqual(labels('bypass not |').slice(0, 3), ['tcp', 'udp', 'icmp']);
  });

  it('offers service names with their ports after port, only those the protocol has', () => {
    const items = complete('kernel tcp port |').items;
    const ssh = items.find((i) => i.label === 'ssh');
    assert.equal(ssh?.detail, '22/tcp');
    assert.equal(items.find((i) => i.label === 'domain')?.detail, '53/tcp+udp');
    assert.ok(!items.some((i) => i.label === 'ntp'), 'ntp is UDP only: not after tcp port');
    const udp = labels('kernel udp dst port |');
    assert.ok(udp.includes('ntp') && !udp.includes('ssh'), `udp port: got ${udp.slice(0, 10)}`);
    assert.ok(labels('kernel port |').includes('ssh') && labels('kernel port |').includes('ntp'));
    assert.ok(labels('kernel port ht|').includes('http'));
    assert.equal(complete('kernel port ht|').replaceStart, 'kernel port '.length);
    // Ordered by port number.
    const order = sorted('kernel port |');
    assert.ok(order.indexOf('ssh') < order.indexOf('http') && order.indexOf('http') < order.indexOf('https'));
  });

  it('offers services again after "or" in an implied port list (port 80 or 443)', () => {
    assert.ok(labels('bypass tcp port 80 or |').includes('https'));
    assert.ok(labels('bypass tcp port 80 or 443 or |').includes('https'));
    assert.ok(!labels('bypass tcp and |').includes('https'));
  });

  it('offers hosts seen in the capture after host, src and dst, by family where the protocol says', () => {
    assert.deepEqual(labels('bypass host |'), HOSTS);
    assert.deepEqual(labels('bypass ip6 host |'), ['2001:db8::5']);
    assert.deepEqual(labels('bypass ip host |'), ['198.18.0.1', '198.18.0.2']);
    assert.ok(labels('bypass src |').includes('198.18.0.2') && labels('bypass src |').includes('host'));
    assert.deepEqual(labels('bypass host 198.18.0.1 or |').slice(0, 3), HOSTS);
    assert.equal(complete('bypass host 2001:db|').replaceStart, 'bypass host '.length);
  });

  it('offers networks around the seen hosts after net', () => {
    const got = labels('bypass net |');
    assert.deepEqual(got.slice(0, 3), ['198.18.0.0/24', '198.18.0.0/16', '2001:db8:0:0::/64']);
    assert.ok(got.includes('A/len'));
    assert.ok(parseRules(`default kernel\nbypass net ${got[2]}\n`).ok, `${got[2]} parses as a network`);
  });

  it('offers IP protocol names after proto, with a backslash where the name is a keyword', () => {
    const items = complete('bypass ip proto |').items;
    assert.equal(items.find((i) => i.label === '\\tcp')?.detail, 'IP protocol 6');
    assert.equal(items.find((i) => i.label === 'gre')?.detail, 'IP protocol 47');
    assert.ok(items.some((i) => i.label === '\\esp'), 'esp is an (unsupported) keyword: it needs the backslash');
    for (const i of items) {
      assert.ok(parseRules(`default kernel\nbypass ip proto ${i.label}\n`).ok, `ip proto ${i.label} parses`);
    }
    assert.deepEqual(labels('bypass ether proto |'), ['\\ip', '\\ip6', '\\arp', '\\rarp', '\\loopback']);
    for (const l of labels('bypass ether proto |')) assert.ok(parseRules(`default kernel\nbypass ether proto ${l}\n`).ok, `ether proto ${l} parses`);
  });

  it('knows every IP protocol name it offers', () => {
    for (const n of IP_PROTOCOL_NAMES) assert.notEqual(lookupIpProtocol(n), undefined, n);
  });

  it('offers the qualifiers a protocol takes after it', () => {
    assert.deepEqual(labels('bypass tcp |').slice(0, 4), ['port', 'portrange', 'src', 'dst']);
    assert.ok(labels('bypass ip |').includes('proto') && !labels('bypass ip |').includes('port'));
    assert.ok(labels('bypass ether |').includes('broadcast'));
  });

  it('offers named offsets inside a byte access, the fitting ones first, and sizes after the colon', () => {
    assert.equal(sorted('bypass tcp[|')[0], 'tcpflags');
    assert.deepEqual(sorted('bypass icmp[|').slice(0, 2), ['icmpcode', 'icmptype']);
    assert.deepEqual(labels('bypass ip[2:|'), ['1', '2', '4']);
    assert.equal(complete('bypass tcp[tcpf|').replaceStart, 'bypass tcp['.length);
  });

  it('offers the named values that fit the offset after an operator', () => {
    const flags = labels('bypass tcp[tcpflags] & |');
    assert.ok(flags.includes('tcp-syn') && flags.includes('tcp-ack'), `got ${flags}`);
    assert.ok(flags.every((f) => f.startsWith('tcp-')), `only TCP flags: got ${flags}`);
    assert.ok(labels('bypass icmp[icmptype] = |').every((v) => v.startsWith('icmp-')));
    assert.ok(labels('bypass icmp[icmptype] = |').includes('icmp-echo'));
    assert.ok(labels('bypass icmp6[icmp6type] == |').includes('icmp6-echo'));
    assert.ok(labels('bypass tcp[13] & |').includes('tcp-fin'));
  });

  it('offers and/or after a complete primitive, but not on every space typed', () => {
    assert.deepEqual(labels('bypass tcp port 80 |'), ['and', 'or', 'and not']);
    assert.deepEqual(labels('bypass tcp port 80 |', { triggerCharacter: ' ' }), []);
    assert.deepEqual(labels('bypass (tcp or udp) |'), ['and', 'or', 'and not']);
  });

  it('offers nothing in a comment or after an unknown first word', () => {
    assert.deepEqual(labels('bypass tcp # port |'), []);
    assert.deepEqual(labels('bypas tcp |'), []);
  });

  it('inserts completions that parse: every filter-start item followed by a value makes a valid rule somewhere', () => {
    const tcpItems = complete('bypass tcp port |').items;
    for (const i of tcpItems) assert.ok(parseRules(`default kernel\nbypass tcp port ${i.insertText ?? i.label}\n`).ok, `tcp port ${i.label}`);
  });
});
