import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ipv4FromString,
  ipv4ToString,
  ipv6Equals,
  ipv6FromString,
  ipv6ToString,
  isMulticastMac,
  macEquals,
  macFromString,
  macToString,
  MAC_BROADCAST,
  readIpv4,
  writeIpv4,
} from '../../../engine/wire/address';
import { hex } from './frames';

describe('MAC addresses', () => {
  it('prints six lower-case two-digit groups separated by colons', () => {
    assert.equal(macToString(hex('02 00 5e 0A ff 01')), '02:00:5e:0a:ff:01');
    assert.equal(macToString(MAC_BROADCAST), 'ff:ff:ff:ff:ff:ff');
  });

  it('prints the six bytes at an offset', () => {
    assert.equal(macToString(hex('0000 0102 0304 0506'), 2), '01:02:03:04:05:06');
  });

  it('parses colon and dash forms in any case, with one or two digits a byte', () => {
    assert.ok(macEquals(macFromString('AA:bb:0c:d:ee:0F')!, hex('aa bb 0c 0d ee 0f')));
    assert.ok(macEquals(macFromString('aa-bb-cc-dd-ee-ff')!, hex('aa bb cc dd ee ff')));
  });

  it('returns undefined for text that is not a MAC address', () => {
    for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'aa:bb:cc:dd:ee:fff', 'gg:bb:cc:dd:ee:ff', 'aa:bb:cc:dd:ee:', 'aa:bb-cc:dd:ee:ff', ' aa:bb:cc:dd:ee:ff']) {
      assert.equal(macFromString(bad), undefined, `macFromString(${JSON.stringify(bad)})`);
    }
  });

  it('tells group addresses by the low bit of the first byte', () => {
    assert.ok(isMulticastMac(hex('01 00 5e 00 00 fb')));
    assert.ok(isMulticastMac(MAC_BROADCAST));
    assert.ok(!isMulticastMac(hex('02 00 00 00 00 01')));
  });

  it('reads back every MAC it prints', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (mac) => {
        assert.ok(macEquals(macFromString(macToString(mac))!, mac));
      }),
    );
  });
});

describe('IPv4 addresses', () => {
  it('prints dotted decimal from an unsigned 32-bit number', () => {
    assert.equal(ipv4ToString(0xc6120001), '198.18.0.1');
    assert.equal(ipv4ToString(0xffffffff), '255.255.255.255');
    assert.equal(ipv4ToString(0), '0.0.0.0');
  });

  it('parses a dotted quad to an unsigned number', () => {
    assert.equal(ipv4FromString('198.18.0.1'), 0xc6120001);
    assert.equal(ipv4FromString('255.255.255.255'), 0xffffffff);
    assert.equal(ipv4FromString('0.0.0.0'), 0);
  });

  it('returns undefined for shorthand, out-of-range parts, leading zeros and stray characters', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1..3.4', '1.2.3.-4', '1.2.3.4 ', '0x1.2.3.4', '1.2.3.a']) {
      assert.equal(ipv4FromString(bad), undefined, `ipv4FromString(${JSON.stringify(bad)})`);
    }
  });

  it('reads and writes addresses in network order', () => {
    const buf = new Uint8Array(6);
    writeIpv4(buf, 1, 0xc6120002);
    assert.deepEqual([...buf], [0, 198, 18, 0, 2, 0]);
    assert.equal(readIpv4(buf, 1), 0xc6120002);
  });

  it('reads back every address it prints', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (a) => assert.equal(ipv4FromString(ipv4ToString(a)), a)));
  });
});

describe('IPv6 addresses', () => {
  // Each pair was printed by tcpdump 4.99 and tshark 4.0 from the same packet (glibc inet_ntop rules).
  const printed: [string, string][] = [
    ['0000 0000 0000 0000 0000 0000 0102 0304', '::1.2.3.4'],
    ['0000 0000 0000 0000 0000 ffff 0102 0304', '::ffff:1.2.3.4'],
    ['0000 0000 0000 0000 0000 0000 0000 0002', '::2'],
    ['0000 0000 0000 0000 0000 0000 0000 0001', '::1'],
    ['0000 0000 0000 0000 0000 0000 0000 0000', '::'],
    ['2001 0db8 0000 0000 0001 0000 0000 0001', '2001:db8::1:0:0:1'],
    ['2001 0db8 0000 0001 0001 0001 0001 0001', '2001:db8:0:1:1:1:1:1'],
    ['fe80 0000 0000 0000 0000 0000 0000 0000', 'fe80::'],
    ['0000 0000 0000 0000 ffff 0000 0102 0304', '::ffff:0:102:304'],
    ['0000 0000 0000 0000 0000 0001 0102 0304', '::1:102:304'],
    ['0064 ff9b 0000 0000 0000 0000 0102 0304', '64:ff9b::102:304'],
    ['0000 0000 0000 0000 0000 ffff 0000 0000', '::ffff:0.0.0.0'],
    ['2001 0DB8 AAAA BBBB CCCC DDDD EEEE FFFF', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
    ['2001 0db8 0000 0001 0000 0000 0000 0001', '2001:db8:0:1::1'],
    ['ff02 0000 0000 0000 0000 0001 ff00 0002', 'ff02::1:ff00:2'],
    ['0001 0000 0000 0000 0000 0000 0000 0000', '1::'],
    ['0000 0001 0000 0000 0000 0000 0000 0000', '0:1::'],
  ];

  it('prints addresses exactly as tcpdump and tshark do', () => {
    for (const [bytes, text] of printed) assert.equal(ipv6ToString(hex(bytes)), text, `bytes ${bytes}`);
  });

  it('parses what it prints back to the same bytes', () => {
    for (const [bytes, text] of printed) assert.ok(ipv6Equals(ipv6FromString(text)!, hex(bytes)), `text ${text}`);
  });

  it('parses uncompressed, upper-case and embedded-IPv4 forms', () => {
    assert.equal(ipv6ToString(ipv6FromString('2001:0DB8:0000:0000:0000:0000:0000:0001')!), '2001:db8::1');
    assert.equal(ipv6ToString(ipv6FromString('0:0:0:0:0:ffff:198.18.0.1')!), '::ffff:198.18.0.1');
    assert.equal(ipv6ToString(ipv6FromString('1:2:3:4:5:6::')!), '1:2:3:4:5:6::');
    assert.equal(ipv6ToString(ipv6FromString('::2:3:4:5:6:7:8')!), '0:2:3:4:5:6:7:8');
  });

  it('prefers the first of two equally long zero runs and never shortens a single zero group', () => {
    assert.equal(ipv6ToString(hex('2001 0000 0000 0001 0000 0000 0001 0001')), '2001::1:0:0:1:1');
    assert.equal(ipv6ToString(hex('2001 0db8 0000 0001 0001 0001 0001 0001')), '2001:db8:0:1:1:1:1:1');
  });

  it('returns undefined for text that is not an IPv6 address', () => {
    for (const bad of ['', ':', ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::1%eth0', 'g::', '1:2:3:4:5:6:7::8', ':1:2:3:4:5:6:7', '1.2.3.4::', '::ffff:1.2.3', '::ffff:1.2.3.256', '1:2:3:4:5:6:7:1.2.3.4', '2001:db8::1 ']) {
      assert.equal(ipv6FromString(bad), undefined, `ipv6FromString(${JSON.stringify(bad)})`);
    }
  });

  it('reads back every address it prints, zero runs included', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    const addr = fc.array(group, { minLength: 8, maxLength: 8 }).map((ws) => {
      const b = new Uint8Array(16);
      ws.forEach((w, i) => {
        b[2 * i] = w >>> 8;
        b[2 * i + 1] = w & 0xff;
      });
      return b;
    });
    fc.assert(
      fc.property(addr, (a) => {
        const text = ipv6ToString(a);
        assert.ok(ipv6Equals(ipv6FromString(text)!, a), `${text}`);
        assert.match(text, /^[0-9a-f:.]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});
