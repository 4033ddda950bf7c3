import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Filter } from '../../../engine/steer/ast';
import { lex } from '../../../engine/steer/lexer';
import { parseFilter } from '../../../engine/steer/parser';
import { canonical } from '../../../engine/steer/semantics';
import { describeFilter } from '../../../engine/steer/describe';

function parse(text: string): Filter {
  const r = parseFilter(text);
  if (!r.ok) assert.fail(`${JSON.stringify(text)} should parse, got: ${r.error.message}`);
  return r.filter;
}

function error(text: string): { message: string; offset: number; length: number } {
  const r = parseFilter(text);
  if (r.ok) assert.fail(`${JSON.stringify(text)} should not parse`);
  return { message: r.error.message, offset: r.error.span.offset, length: r.error.span.length };
}

/** Same meaning: equal trees once source positions are left out. */
function sameAs(a: string, b: string): void {
  assert.equal(canonical(parse(a)), canonical(parse(b)), `${JSON.stringify(a)} should mean ${JSON.stringify(b)}`);
}

describe('lexer', () => {
  test('names may contain dashes and dots, so a port range is one token', () => {
    const toks = lex('portrange 10-20 and len-1');
    assert.deepEqual(toks.map((t) => `${t.kind}:${t.text}`), ['keyword:portrange', 'id:10-20', 'keyword:and', 'id:len-1', 'eof:']);
  });

  test('named constants become numbers and keywords win ties with names', () => {
    const toks = lex('tcp[tcpflags] & tcp-syn');
    assert.deepEqual(toks.map((t) => t.kind), ['keyword', 'op', 'num', 'op', 'op', 'num', 'eof']);
    assert.equal(toks[2].value, 13);
    assert.equal(toks[5].value, 2);
  });

  test('addresses lex as IPv4, IPv6 and Ethernet literals with their spans', () => {
    const toks = lex('host 10.0.0.1 or fe80::1 or 00:11:22:33:44:55');
    assert.deepEqual(toks.filter((t) => t.kind !== 'keyword' && t.kind !== 'eof').map((t) => [t.kind, t.span.offset, t.span.length]), [
      ['hid', 5, 8],
      ['hid6', 17, 7],
      ['eid', 28, 17],
    ]);
  });

  test("Ethernet addresses lex in libpcap's five forms, twelve hex digits in a row included", () => {
    for (const text of ['0:11:22:33:44:55', '00-11-22-33-44-55', '00.11.22.33.44.55', '0011.2233.4455', '001122334455']) {
      const toks = lex(text);
      assert.deepEqual(toks.map((t) => t.kind), ['eid', 'eof'], `${text}: got ${toks.map((t) => t.kind)}`);
      const f = parse(`ether host ${text}`);
      assert.ok(f.kind === 'ether-host' && Buffer.from(f.mac).toString('hex') === '001122334455', `${text} reads as 00:11:22:33:44:55`);
    }
    assert.equal(lex('0011.2233.44556')[0].kind, 'hid', 'a longer run lexes as an IPv4 form, as flex takes the longest match');
  });

  test('numbers are hex with 0x and octal with a leading zero, as in libpcap', () => {
    assert.equal(lex('0x1f')[0].value, 31);
    assert.equal(lex('010')[0].value, 8);
    assert.equal(lex('09')[0].kind, 'error');
  });
});

describe('parser: abbreviations expand as pcap-filter(7) says', () => {
  test('a bare number after or takes the previous qualifiers: port 80 or 443', () => {
    sameAs('port 80 or 443', 'port 80 or port 443');
    sameAs('tcp dst port 80 or 443', 'tcp dst port 80 or tcp dst port 443');
  });

  test('host a and not b means host a and not host b', () => {
    sameAs('host 10.0.0.1 and not 10.0.0.2', 'host 10.0.0.1 and not host 10.0.0.2');
  });

  test('a parenthesised id list takes the qualifiers before it', () => {
    sameAs('host 10.0.0.1 and (10.0.0.2 or 10.0.0.3)', 'host 10.0.0.1 and (host 10.0.0.2 or host 10.0.0.3)');
  });

  test('the qualifiers of the last head carry on: src port 1 and dst port 2 or 3', () => {
    sameAs('tcp src port 1 and dst port 2 or 3', 'tcp src port 1 and dst port 2 or dst port 3');
  });

  test('and and or have the same precedence and group to the left', () => {
    const f = parse('tcp or udp and port 53');
    assert.equal(f.kind, 'and');
    sameAs('tcp or udp and port 53', '(tcp or udp) and port 53');
  });

  test('a term that is not "qualifiers id" leaves no qualifiers: tcp and 80 is an error', () => {
    assert.match(error('tcp and 80').message, /syntax error/);
  });

  test('a service name known only for TCP makes a TCP-only port', () => {
    const f = parse('port ssh');
    assert.equal(f.kind === 'port' && f.proto, 'tcp');
    const g = parse('port domain');
    assert.equal(g.kind === 'port' && g.proto, 'any');
  });

  test('vlan shifts the offsets of everything after it, in the order written', () => {
    const f = parse('ip and vlan and ip');
    assert.ok(f.kind === 'and' && f.left.kind === 'and');
    const [first, tag, second] = [f.left.left, f.left.right, f.right];
    assert.equal('shift' in first && first.shift, 0);
    assert.equal('shift' in tag && tag.shift, 0);
    assert.equal('shift' in second && second.shift, 4);
  });

  test('short forms of addresses widen the way libpcap does', () => {
    const net = parse('net 192.168.1');
    assert.ok(net.kind === 'host4' && net.addr === 0xc0a80100 && net.mask === 0xffffff00);
    const ten = parse('net 10');
    assert.ok(ten.kind === 'host4' && ten.addr === 0x0a000000 && ten.mask === 0xff000000);
  });

  test('arithmetic binds like C: & over ^ over |, and + over &', () => {
    sameAs('ip[0] ^ 3 & 1 = 0', 'ip[0] ^ (3 & 1) = 0');
    sameAs('ip[0] & 0xff + 1 = 0', 'ip[0] & (0xff + 1) = 0');
  });
});

describe('parser: spans and errors', () => {
  test('every node spans the text it came from', () => {
    const text = 'tcp dst port 9000 and dst host 198.18.0.2';
    const f = parse(text);
    assert.ok(f.kind === 'and');
    assert.equal(text.slice(f.left.span.offset, f.left.span.offset + f.left.span.length), 'tcp dst port 9000');
    assert.equal(text.slice(f.right.span.offset, f.right.span.offset + f.right.span.length), 'dst host 198.18.0.2');
  });

  test('an unknown service is an error on the name', () => {
    assert.deepEqual(error('tcp port nosuch'), { message: "unknown port 'nosuch'", offset: 9, length: 6 });
  });

  test('a port above 65535 is an error', () => {
    assert.match(error('port 70000').message, /illegal port number 70000 > 65535/);
  });

  test('host bits in a network are an error, as in tcpdump', () => {
    assert.equal(error('net 198.18.0.1/16').message, 'non-network bits set in "198.18.0.1/16"');
    assert.match(error('net 2001:db8::1/32').message, /non-network bits set/);
  });

  test('a service on the wrong transport is an error', () => {
    assert.equal(error('udp port ssh').message, "port 'ssh' is tcp");
  });

  test('host names and other unsupported forms are refused by name', () => {
    assert.match(error('host example').message, /host names are not supported/);
    assert.match(error('mpls').message, /'mpls' is not supported/);
    assert.match(error('ip broadcast').message, /not supported/);
  });

  test('a syntax error points at the token', () => {
    const e = error('tcp port 80 and and udp');
    assert.match(e.message, /syntax error at 'and'/);
    assert.equal(e.offset, 16);
  });

  test('an unknown IP protocol name is an error', () => {
    assert.equal(error('ip proto \\nosuch').message, "unknown ip proto 'nosuch'");
  });
});

describe('describe', () => {
  test('says what a rule matches in words', () => {
    assert.equal(describeFilter(parse('tcp dst port 9000')), 'TCP packets to port 9000');
    assert.equal(describeFilter(parse('src net 198.19.0.0/16')), 'IPv4, ARP or RARP packets from net 198.19.0.0/16');
  });
});
