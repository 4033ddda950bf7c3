// Tests for engine/wire/checksum.ts: RFC 1071 sums, pseudo-headers, and RFC 1624 incremental updates.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  foldSum,
  internetChecksum,
  ipv4PseudoSum,
  ipv6PseudoSum,
  onesSum,
  updateChecksum16,
  updateChecksum32,
} from '../../../engine/wire/checksum';
import { hex } from './support';

/** The definition, one 16-bit word at a time with end-around carry: slow and obviously right. */
function referenceSum(b: Uint8Array, offset: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) {
    const word = (b[offset + i] << 8) | (i + 1 < len ? b[offset + i + 1] : 0);
    s += word;
    if (s > 0xffff) s -= 0xffff;
  }
  return s;
}

function referenceChecksum(b: Uint8Array): number {
  return ~referenceSum(b, 0, b.length) & 0xffff;
}

describe('onesSum and internetChecksum', () => {
  it('reproduce the RFC 1071 §3 numerical example', () => {
    // Bytes 00 01 f2 03 f4 f5 f6 f7: the 2's complement sum is 2ddf0, folded ddf2, checksum 220d.
    // onesSum may fold part-way (it folds once per stride), so only the folded value is compared.
    const b = hex('0001f203f4f5f6f7');
    assert.equal(foldSum(0x2ddf0), 0xddf2);
    assert.equal(foldSum(onesSum(b, 0, 8)), 0xddf2);
    assert.equal(internetChecksum(b, 0, 8), 0x220d);
  });

  it('pad an odd trailing byte with zero on the right (RFC 1071 §4.1)', () => {
    assert.equal(onesSum(hex('01'), 0, 1), 0x0100);
    assert.equal(onesSum(hex('010203'), 0, 3), 0x0102 + 0x0300);
    assert.equal(internetChecksum(hex('ff'), 0, 1), 0x00ff);
  });

  it('sum only the requested range and add the initial value', () => {
    const b = hex('ffff 1234 5678 ffff');
    assert.equal(foldSum(onesSum(b, 2, 4)), 0x1234 + 0x5678);
    assert.equal(foldSum(onesSum(b, 2, 4, 0x10000)), foldSum(0x10000 + 0x1234 + 0x5678));
    assert.equal(onesSum(b, 3, 0), 0);
  });

  it('verify to zero once the checksum is placed in the data', () => {
    const b = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    const c = internetChecksum(b, 0, b.length);
    assert.equal(c, 0xb861); // the well-known IPv4 header example
    b[10] = c >> 8;
    b[11] = c & 0xff;
    assert.equal(internetChecksum(b, 0, b.length), 0);
  });

  it('agree with the word-by-word definition at any offset and odd or even length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (b, x, y) => {
        const offset = b.length ? x % b.length : 0;
        const len = b.length - offset ? y % (b.length - offset + 1) : 0;
        assert.equal(foldSum(onesSum(b, offset, len)), referenceSum(b, offset, len));
      }),
      { numRuns: 3000 },
    );
  });

  it('stay exact on buffers longer than one folding stride (64 KiB and more)', () => {
    for (const len of [65535, 65536, 65537, 200001]) {
      const b = new Uint8Array(len).fill(0xff);
      for (let i = 0; i < len; i += 7) b[i] = i & 0xff;
      assert.equal(foldSum(onesSum(b, 0, len)), referenceSum(b, 0, len), `length ${len}`);
      assert.equal(internetChecksum(b, 0, len), referenceChecksum(b), `length ${len}`);
    }
  });
});

describe('onesSum on long ranges, 32 bits at a time', () => {
  /** Bytes 0, 1, 2, … in a view that starts `byteOffset` bytes into its ArrayBuffer. */
  function counting(len: number, byteOffset: number): Uint8Array {
    const b = new Uint8Array(new ArrayBuffer(len + byteOffset + 8), byteOffset, len);
    for (let i = 0; i < len; i++) b[i] = i & 0xff;
    return b;
  }

  it('gives the checksums worked out by hand for 100 counting bytes, from even and odd offsets', () => {
    // Words 0x0001 + 0x0203 + … + 0x6263 = 0x99bc4, folded 0x9bcd, inverted 0x6432. From byte 1 the
    // words are 0x0102 … 0x6162 and 0x6300 (padded): 0x9cd92 → 0xcd9b → 0x3264. From byte 3: 0x3366.
    for (const byteOffset of [0, 1, 2, 3]) {
      const b = counting(100, byteOffset);
      assert.equal(internetChecksum(b, 0, 100), 0x6432, `view at byte ${byteOffset}`);
      assert.equal(internetChecksum(b, 1, 99), 0x3264, `view at byte ${byteOffset}`);
      assert.equal(internetChecksum(b, 3, 97), 0x3366, `view at byte ${byteOffset}`);
    }
  });

  it('agree with the word-by-word definition for every short length, offset and alignment', () => {
    // Every length across the switch to the 32-bit loop, every start modulo 8 and every alignment of
    // the view in its buffer: all the ways a range can sit relative to 4-byte boundaries.
    for (const byteOffset of [0, 1, 2, 3]) {
      const b = new Uint8Array(new ArrayBuffer(512), byteOffset, 400);
      for (let i = 0; i < b.length; i++) b[i] = (i * 151 + 89) & 0xff;
      for (let offset = 0; offset < 8; offset++) {
        for (let len = 0; len <= 300; len++) {
          const got = foldSum(onesSum(b, offset, len, 0x2345));
          const want = foldSum(referenceSum(b, offset, len) + 0x2345);
          if (got !== want) assert.fail(`view at byte ${byteOffset}, offset ${offset}, length ${len}: got ${got.toString(16)}, want ${want.toString(16)}`);
        }
      }
    }
  });

  it('agree with the word-by-word definition on random segments up to 4 KiB anywhere in a buffer', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 4096 }),
        fc.integer({ min: 0, max: 7 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xfffff }),
        (data, byteOffset, x, y, initial) => {
          const b = new Uint8Array(new ArrayBuffer(data.length + byteOffset), byteOffset, data.length);
          b.set(data);
          const offset = x % b.length;
          const len = y % (b.length - offset + 1);
          assert.equal(foldSum(onesSum(b, offset, len, initial)), foldSum(referenceSum(b, offset, len) + initial));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('stay exact past one stride of 32-bit words, from an odd offset too', () => {
    const b = new Uint8Array(4 * (1 << 20) + 4099).fill(0xff);
    for (let i = 0; i < b.length; i += 5) b[i] = (i >>> 3) & 0xff;
    for (const offset of [0, 1, 2, 3]) {
      const len = b.length - offset;
      assert.equal(foldSum(onesSum(b, offset, len)), referenceSum(b, offset, len), `offset ${offset}`);
    }
  });

  it('stay below 2^32 for any range of a 64 KiB datagram, so foldSum can take the result', () => {
    const b = new Uint8Array(65536).fill(0xff);
    for (const offset of [0, 1, 2, 3]) assert.ok(onesSum(b, offset, b.length - offset, 0xfffff) < 2 ** 32);
  });
});

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const addr6 = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('pseudo-headers', () => {
  it('sum the IPv4 pseudo-header as its 12 bytes would (RFC 9293 §3.1)', () => {
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (src, dst, proto, len) => {
        const ph = new Uint8Array(12);
        const dv = new DataView(ph.buffer);
        dv.setUint32(0, src);
        dv.setUint32(4, dst);
        ph[9] = proto;
        dv.setUint16(10, len);
        assert.equal(foldSum(ipv4PseudoSum(src, dst, proto, len)), referenceSum(ph, 0, 12));
      }),
    );
  });

  it('sum the IPv6 pseudo-header as its 40 bytes would, 32-bit length included (RFC 8200 §8.1)', () => {
    fc.assert(
      fc.property(addr6, addr6, fc.integer({ min: 0, max: 255 }), u32, (src, dst, nh, len) => {
        const ph = new Uint8Array(40);
        ph.set(src, 0);
        ph.set(dst, 16);
        new DataView(ph.buffer).setUint32(32, len);
        ph[39] = nh;
        assert.equal(foldSum(ipv6PseudoSum(src, dst, nh, len)), referenceSum(ph, 0, 40));
      }),
    );
  });
});

describe('RFC 1624 incremental update', () => {
  // Buffers carry a fixed non-zero word, as every real checksummed header does (the protocol
  // number in a pseudo-header): for all-zero data, eqn. 3 yields 0x0000 where a full computation
  // yields 0xffff, the two zeros of one's complement (RFC 1624 §3).
  const data = fc.uint8Array({ minLength: 4, maxLength: 64 }).map((b) => {
    const even = b.length & ~1;
    const out = b.slice(0, even);
    out[0] = 0x00;
    out[1] = 0x06;
    return out;
  });

  it('updateChecksum16 equals a full recomputation after one 16-bit word changes', () => {
    fc.assert(
      fc.property(data, fc.nat(), fc.integer({ min: 0, max: 0xffff }), (b, at, word) => {
        const i = 2 + 2 * (at % ((b.length - 2) / 2));
        const before = internetChecksum(b, 0, b.length);
        const old = (b[i] << 8) | b[i + 1];
        b[i] = word >> 8;
        b[i + 1] = word & 0xff;
        assert.equal(updateChecksum16(before, old, word), internetChecksum(b, 0, b.length));
      }),
      { numRuns: 3000 },
    );
  });

  it('updateChecksum32 equals a full recomputation after a 32-bit field changes', () => {
    fc.assert(
      fc.property(data.filter((b) => b.length >= 6), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (b, at, value) => {
        const i = 2 + 2 * (at % ((b.length - 4) / 2));
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const before = internetChecksum(b, 0, b.length);
        const old = dv.getUint32(i);
        dv.setUint32(i, value);
        assert.equal(updateChecksum32(before, old, value), internetChecksum(b, 0, b.length));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps a header valid when a field changes under a checksum stored inside it', () => {
    fc.assert(
      fc.property(data.filter((b) => b.length >= 8), fc.nat(), fc.integer({ min: 0, max: 0xffff }), (b, at, word) => {
        // The checksum lives in word 1; change some other word and patch it.
        b[2] = 0;
        b[3] = 0;
        const c = internetChecksum(b, 0, b.length);
        b[2] = c >> 8;
        b[3] = c & 0xff;
        const i = 4 + 2 * (at % ((b.length - 4) / 2));
        const old = (b[i] << 8) | b[i + 1];
        b[i] = word >> 8;
        b[i + 1] = word & 0xff;
        const patched = updateChecksum16(c, old, word);
        b[2] = patched >> 8;
        b[3] = patched & 0xff;
        assert.equal(foldSum(onesSum(b, 0, b.length)), 0xffff);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the other zero of one’s complement when the data becomes all zeros (RFC 1624 §3)', () => {
    const b = hex('1234');
    const before = internetChecksum(b, 0, 2);
    assert.equal(updateChecksum16(before, 0x1234, 0), 0x0000);
    assert.equal(internetChecksum(hex('0000'), 0, 2), 0xffff);
  });
});
