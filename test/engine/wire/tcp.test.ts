// Tests for engine/wire/tcp.ts: golden segments both ways, options, malformed input, round trips, the view.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emitTcp,
  parseTcp,
  parseTcpOptions,
  tcpBufferLen,
  tcpFlagsToString,
  tcpHeaderLen,
  tcpOptionsLen,
  TcpHeaderView,
  TcpPacketBuffer,
  TCP_ACK,
  TCP_AE,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  type TcpOption,
  type TcpPacket,
  type TcpRepr,
} from '../../../engine/wire/tcp';
import { updateChecksum16, updateChecksum32 } from '../../../engine/wire/checksum';
import type { ChecksumContext } from '../../../engine/wire/ip-context';
import { guarded, hex, ip4, toHex } from './support';

const A = ip4(198, 18, 0, 1);
const B = ip4(198, 18, 0, 2);
const AtoB: ChecksumContext = { version: 4, src: A, dst: B };
const BtoA: ChecksumContext = { version: 4, src: B, dst: A };

// Hand-assembled; checksums confirmed with `tcpdump -vv` ("cksum 0xb515 (correct)"), which printed
// `Flags [S], seq 1234567890, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7]`.
const SYN_BYTES = hex(`
  9c40 2328 499602d2 00000000 a0 02 faf0 b515 0000
  020405b4 0402 080a 00000001 00000000 01 030307`);
const SYN: TcpRepr = {
  srcPort: 40000,
  dstPort: 9000,
  seq: 1234567890,
  ack: 0,
  flags: TCP_SYN,
  window: 64240,
  urgent: 0,
  options: [
    { kind: 'mss', value: 1460 },
    { kind: 'sackPermitted' },
    { kind: 'timestamps', tsVal: 1, tsEcr: 0 },
    { kind: 'nop' },
    { kind: 'wscale', shift: 7 },
  ],
  payload: new Uint8Array(0),
};

// 198.18.0.2.9000 > 198.18.0.1.40000: Flags [.], cksum 0xdbe2 (correct), seq 4096, ack 8192, win 502,
// options [nop,nop,TS val 100 ecr 200,nop,nop,sack 2 {0x3000:0x3100}{0x3200:0x3300}]
const ACK_SACK_BYTES = hex(`
  2328 9c40 00001000 00002000 d0 10 01f6 dbe2 0000
  0101 080a 00000064 000000c8 0101 0512 00003000 00003100 00003200 00003300`);
const ACK_SACK: TcpRepr = {
  srcPort: 9000,
  dstPort: 40000,
  seq: 0x1000,
  ack: 0x2000,
  flags: TCP_ACK,
  window: 502,
  urgent: 0,
  options: [
    { kind: 'nop' },
    { kind: 'nop' },
    { kind: 'timestamps', tsVal: 100, tsEcr: 200 },
    { kind: 'nop' },
    { kind: 'nop' },
    {
      kind: 'sack',
      blocks: [
        { left: 0x3000, right: 0x3100 },
        { left: 0x3200, right: 0x3300 },
      ],
    },
  ],
  payload: new Uint8Array(0),
};

function reprOf(p: TcpPacket): TcpRepr {
  return {
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    seq: p.seq,
    ack: p.ack,
    flags: p.flags,
    window: p.window,
    urgent: p.urgent,
    options: p.options,
    payload: p.payload,
  };
}

function parsed(buf: Uint8Array, ctx?: ChecksumContext): TcpPacket {
  const r = parseTcp(buf, ctx);
  if (!r.ok) assert.fail(`parseTcp failed: ${r.error.code} at ${r.error.offset}: ${r.error.message}`);
  return r.value;
}

function emitted(repr: TcpRepr, ctx?: ChecksumContext): Uint8Array {
  const buf = new Uint8Array(tcpBufferLen(repr));
  const n = emitTcp(repr, buf, 0, ctx);
  assert.equal(n, buf.length, 'emitTcp returns the bytes written');
  return buf;
}

/** A 20-byte header with `options` (already padded by the caller) and data offset to match. */
function withOptions(options: number[], payload: number[] = []): Uint8Array {
  const hl = 20 + options.length;
  const b = new Uint8Array(hl + payload.length);
  b.set(hex('9c40 2328 00000001 00000000'), 0);
  b[12] = (hl / 4) << 4;
  b[13] = TCP_ACK;
  b.set(options, 20);
  b.set(payload, hl);
  return b;
}

function expectError(buf: Uint8Array, code: string, offset: number): void {
  const r = parseTcp(guarded(buf));
  assert.equal(r.ok, false, `want ${code} at ${offset}, got a parse`);
  if (!r.ok) {
    assert.equal(r.error.code, code, `code: got ${r.error.code} (${r.error.message}), want ${code}`);
    assert.equal(r.error.offset, offset, `offset: got ${r.error.offset}, want ${offset}`);
  }
}

describe('parseTcp', () => {
  it('parses a real SYN with mss, sackOK, timestamps, nop and wscale and a correct checksum', () => {
    const p = parsed(SYN_BYTES, AtoB);
    assert.deepEqual(reprOf(p), SYN);
    assert.equal(p.headerLen, 40);
    assert.equal(p.checksum, 0xb515);
    assert.equal(p.checksumValid, true);
    assert.equal(p.reserved, 0);
  });

  it('parses an ACK carrying two SACK blocks and timestamps', () => {
    const p = parsed(ACK_SACK_BYTES, BtoA);
    assert.deepEqual(reprOf(p), ACK_SACK);
    assert.equal(p.headerLen, 52);
    assert.equal(p.checksumValid, true);
  });

  it('leaves checksumValid undefined when no checksum context is given', () => {
    assert.equal(parsed(SYN_BYTES).checksumValid, undefined);
  });

  it('flags a checksum computed over the wrong pseudo-header as invalid', () => {
    assert.equal(parsed(SYN_BYTES, { version: 4, src: A, dst: ip4(198, 18, 0, 3) }).checksumValid, false);
  });

  it('flags every single-bit corruption as a bad checksum or a parse error, never a throw', () => {
    for (let i = 0; i < SYN_BYTES.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = SYN_BYTES.slice();
        b[i] ^= 1 << bit;
        const r = parseTcp(guarded(b), AtoB);
        if (r.ok) assert.equal(r.value.checksumValid, false, `byte ${i} bit ${bit}: got a valid checksum`);
      }
    }
  });

  it('returns the payload as a view into the buffer, not a copy', () => {
    const buf = emitted({ ...SYN, flags: TCP_PSH | TCP_ACK, payload: new TextEncoder().encode('hello') }, AtoB);
    const p = parsed(buf, AtoB);
    assert.equal(p.checksumValid, true);
    assert.equal(new TextDecoder().decode(p.payload), 'hello');
    assert.equal(p.payload.buffer, buf.buffer);
    assert.equal(p.payload.byteOffset, 40);
  });

  it('reads the AE flag and the reserved bits from the data-offset byte', () => {
    const b = SYN_BYTES.slice();
    b[12] = 0xa0 | (0b101 << 1) | 1; // reserved 0b101, AE set
    const p = parsed(b);
    assert.equal(p.flags, TCP_SYN | TCP_AE);
    assert.equal(p.reserved, 0b101);
  });

  it('reads NOP, NOP, timestamps — the layout of nearly every segment — as the option walk would', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (tsVal, tsEcr) => {
        const b = new Uint8Array(12);
        b.set([1, 1, 8, 10]);
        new DataView(b.buffer).setUint32(4, tsVal);
        new DataView(b.buffer).setUint32(8, tsEcr);
        const got = parseTcpOptions(b, 0, 12);
        assert.ok(got.ok);
        assert.deepEqual(got.value, [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal, tsEcr }]);
        // Twelve bytes that only look alike go through the walk: a wrong TSopt length is an error.
        b[3] = 9;
        assert.equal(parseTcpOptions(b, 0, 12).ok, false);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps an EOL and ignores whatever padding follows it', () => {
    const p = parsed(withOptions([0x03, 0x03, 0x07, 0x00, 0x02, 0x04, 0xff, 0xff]));
    assert.deepEqual(p.options, [{ kind: 'wscale', shift: 7 }, { kind: 'eol' }]);
  });

  it('keeps unknown option kinds with their data', () => {
    const p = parsed(withOptions([0xfe, 0x06, 0xf9, 0x89, 0xaa, 0xbb, 0x01, 0x00]));
    assert.equal(p.options.length, 3);
    const u = p.options[0];
    assert.ok(u.kind === 'unknown');
    assert.equal(u.type, 0xfe);
    assert.deepEqual([...u.data], [0xf9, 0x89, 0xaa, 0xbb]);
    assert.deepEqual(p.options.slice(1), [{ kind: 'nop' }, { kind: 'eol' }]);
  });

  it('reads SACK options with one to four blocks', () => {
    for (let n = 1; n <= 4; n++) {
      const opt = [0x05, 2 + 8 * n];
      for (let i = 0; i < 2 * n; i++) opt.push(0, 0, 0x10, i);
      while (opt.length % 4) opt.push(0);
      const p = parsed(withOptions(opt));
      const s = p.options[0];
      assert.ok(s.kind === 'sack');
      assert.equal(s.blocks.length, n);
      assert.deepEqual(s.blocks[n - 1], { left: 0x1000 + 2 * n - 2, right: 0x1000 + 2 * n - 1 });
    }
  });

  it('keeps a window-scale shift above 14 as sent (clamping is the receiver’s business)', () => {
    assert.deepEqual(parsed(withOptions([0x03, 0x03, 0x20, 0x00])).options[0], { kind: 'wscale', shift: 32 });
  });

  it('verifies checksums over an IPv6 pseudo-header', () => {
    const src = hex('20010db8000000000000000000000001');
    const dst = hex('20010db8000000000000000000000002');
    const ctx: ChecksumContext = { version: 6, src, dst };
    const buf = emitted(SYN, ctx);
    assert.equal(parsed(buf, ctx).checksumValid, true);
    assert.equal(parsed(buf, { version: 6, src, dst: hex('20010db8000000000000000000000003') }).checksumValid, false);
  });
});

describe('emitTcp', () => {
  it('writes the real SYN byte for byte, checksum included', () => {
    assert.equal(toHex(emitted(SYN, AtoB)), toHex(SYN_BYTES));
  });

  it('writes the ACK with SACK blocks byte for byte, checksum included', () => {
    assert.equal(toHex(emitted(ACK_SACK, BtoA)), toHex(ACK_SACK_BYTES));
  });

  it('leaves the checksum 0 when no context is given', () => {
    const b = emitted(SYN);
    assert.equal((b[16] << 8) | b[17], 0);
    assert.equal(toHex(b.subarray(18)), toHex(SYN_BYTES.subarray(18)));
  });

  it('pads options to a multiple of 4 with EOL then zeros', () => {
    const repr: TcpRepr = { ...SYN, options: [{ kind: 'mss', value: 536 }, { kind: 'wscale', shift: 2 }] };
    assert.equal(tcpHeaderLen(repr), 28);
    const b = new Uint8Array(28).fill(0xee);
    emitTcp(repr, b, 0);
    assert.equal(toHex(b.subarray(20)), '0204021803030200');
    assert.equal(b[12] >> 4, 7);
  });

  it('writes the AE flag into the data-offset byte and zeros the reserved bits', () => {
    const b = emitted({ ...SYN, options: [], flags: TCP_SYN | TCP_ECE | TCP_CWR | TCP_AE });
    assert.equal(b[12], 0x51);
    assert.equal(b[13], 0xc2);
  });

  it('writes at an offset and touches no byte outside the segment', () => {
    const buf = new Uint8Array(100).fill(0xaa);
    const n = emitTcp(SYN, buf, 14, AtoB);
    assert.equal(n, 40);
    assert.equal(toHex(buf.subarray(14, 54)), toHex(SYN_BYTES));
    assert.ok(buf.subarray(0, 14).every((x) => x === 0xaa));
    assert.ok(buf.subarray(54).every((x) => x === 0xaa));
  });

  it('accepts a payload already in place, leaves it as it is and checksums it', () => {
    const buf = new Uint8Array(60);
    const payload = buf.subarray(40, 45);
    payload.set([1, 2, 3, 4, 5]);
    emitTcp({ ...SYN, payload }, buf, 0, AtoB);
    const p = parsed(buf.subarray(0, 45), AtoB);
    assert.equal(p.checksumValid, true);
    assert.deepEqual([...p.payload], [1, 2, 3, 4, 5]);
  });

  it('checksums full-sized segments wherever they sit in a frame, as the word-by-word definition does', () => {
    // The pseudo-header and segment summed one 16-bit word at a time, the obvious way (RFC 9293 §3.1).
    function sumsToOnes(seg: Uint8Array, ctx: { src: number; dst: number }): boolean {
      const ph = [ctx.src >>> 16, ctx.src & 0xffff, ctx.dst >>> 16, ctx.dst & 0xffff, 6, seg.length];
      let s = ph.reduce((a, b) => a + b, 0);
      for (let i = 0; i < seg.length; i += 2) s += (seg[i] << 8) | (i + 1 < seg.length ? seg[i + 1] : 0);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s === 0xffff;
    }
    const TS_ACK: TcpRepr = { ...SYN, flags: TCP_ACK | TCP_PSH, options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 0x01020304, tsEcr: 0xa0b0c0d0 }] };
    // The payload is summed where it lies (a send buffer, at any alignment) and copied into the frame.
    for (const len of [1448, 1447, 100, 63]) {
      for (let shift = 0; shift < 4; shift++) {
        const payload = new Uint8Array(len + 3).subarray(shift, shift + len);
        for (let i = 0; i < len; i++) payload[i] = (i * 37 + len) & 0xff;
        for (let at = 30; at < 38; at++) {
          const where = `payload ${len} at byte ${shift} of its buffer, segment at frame offset ${at}`;
          const frame = new Uint8Array(at + 32 + len);
          const n = emitTcp({ ...TS_ACK, payload }, frame, at, AtoB);
          const seg = frame.subarray(at, at + n);
          assert.ok(sumsToOnes(seg, AtoB), `${where}: checksum ${toHex(seg.subarray(16, 18))} does not verify`);
          assert.equal(parsed(seg, AtoB).checksumValid, true, where);
          seg[32 + (len >> 1)] ^= 0x10;
          assert.equal(parsed(seg, AtoB).checksumValid, false, `${where}, one bit flipped`);
        }
      }
    }
  });

  it('throws a RangeError when the buffer is too small (a programmer error)', () => {
    assert.throws(() => emitTcp(SYN, new Uint8Array(39), 0), RangeError);
    assert.throws(() => emitTcp(SYN, new Uint8Array(60), 21), RangeError);
  });

  it('sizes options exactly and throws a RangeError only past 40 bytes', () => {
    const ts: TcpOption = { kind: 'timestamps', tsVal: 0, tsEcr: 0 };
    assert.equal(tcpOptionsLen([]), 0);
    assert.equal(tcpOptionsLen(SYN.options), 20);
    assert.equal(tcpOptionsLen(ACK_SACK.options), 32);
    assert.equal(tcpOptionsLen([{ kind: 'unknown', type: 30, data: new Uint8Array(3) }]), 5);
    assert.equal(tcpHeaderLen({ ...SYN, options: [ts, ts, ts, ts] }), 60);
    assert.equal(tcpHeaderLen({ ...SYN, options: [ts, ts, ts] }), 52);
    assert.throws(() => tcpHeaderLen({ ...SYN, options: [ts, ts, ts, ts, { kind: 'nop' }] }), RangeError);
  });
});

describe('malformed segments', () => {
  const withPayload = emitted({ ...SYN, payload: new Uint8Array([9, 8, 7, 6, 5, 4]) }, AtoB);

  it('reports truncation at every byte offset below the header, without reading past the end', () => {
    for (let n = 0; n < withPayload.length; n++) {
      const r = parseTcp(guarded(withPayload.slice(0, n)), AtoB);
      if (n < 20) {
        assert.ok(!r.ok && r.error.code === 'truncated', `length ${n}: want truncated`);
      } else if (n < 40) {
        assert.ok(!r.ok && r.error.code === 'bad-header-length' && r.error.offset === 12, `length ${n}: want bad-header-length`);
      } else {
        // TCP has no length field: a cut payload parses, and the checksum catches it.
        assert.ok(r.ok, `length ${n}: want a parse`);
        assert.equal(r.value.payload.length, n - 40);
        assert.equal(r.value.checksumValid, false);
      }
    }
  });

  it('rejects a data offset below 5', () => {
    for (let doff = 0; doff < 5; doff++) {
      const b = SYN_BYTES.slice();
      b[12] = doff << 4;
      expectError(b, 'bad-header-length', 12);
    }
  });

  it('rejects a data offset past the end of the buffer', () => {
    const b = SYN_BYTES.slice();
    b[12] = 0xb0;
    expectError(b, 'bad-header-length', 12);
    expectError(SYN_BYTES.slice(0, 36), 'bad-header-length', 12);
  });

  it('rejects option lengths 0 and 1 at the offset of the option', () => {
    expectError(withOptions([0x01, 0x02, 0x00, 0x00]), 'bad-option', 21);
    expectError(withOptions([0x01, 0x01, 0x1e, 0x01]), 'bad-option', 22);
    expectError(withOptions([0x1e, 0x00, 0x00, 0x00]), 'bad-option', 20);
  });

  it('rejects an option whose length runs past the end of the options', () => {
    expectError(withOptions([0x01, 0x1e, 0x04, 0x00]), 'bad-option', 21);
    expectError(withOptions([0x08, 0x0a, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0]), 'bad-option', 20);
  });

  it('rejects a non-NOP option in the last byte of the options, where its length cannot be', () => {
    expectError(withOptions([0x01, 0x01, 0x01, 0x02]), 'bad-option', 23);
  });

  it('rejects known kinds with the wrong length', () => {
    const cases: [string, number[]][] = [
      ['MSS of 3', [0x02, 0x03, 0x05, 0x00]],
      ['MSS of 5', [0x02, 0x05, 0x05, 0xb4, 0x00, 0x00, 0x00, 0x00]],
      ['window scale of 2', [0x03, 0x02, 0x00, 0x00]],
      ['window scale of 4', [0x03, 0x04, 0x07, 0x00]],
      ['SACK-permitted of 3', [0x04, 0x03, 0x00, 0x00]],
      ['SACK of 2 (no blocks)', [0x05, 0x02, 0x00, 0x00]],
      ['SACK of 9', [0x05, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
      ['SACK of 11', [0x05, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
      ['timestamps of 8', [0x08, 0x08, 0, 0, 0, 0, 0, 0]],
      ['timestamps of 12', [0x08, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    ];
    for (const [name, opt] of cases) {
      const r = parseTcp(guarded(withOptions([0x01, ...opt, 0x00, 0x00, 0x00].slice(0, Math.ceil((opt.length + 1) / 4) * 4))));
      assert.ok(!r.ok, `${name}: want bad-option, got a parse`);
      assert.equal(r.error.code, 'bad-option', `${name}: got ${r.error.code}`);
      assert.equal(r.error.offset, 21, `${name}: got offset ${r.error.offset}, want 21`);
    }
  });

  it('never throws or reads past the end on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, withCtx) => {
        const r = parseTcp(guarded(bytes), withCtx ? AtoB : undefined);
        if (r.ok) assert.ok(r.value.headerLen >= 20 && r.value.headerLen <= bytes.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary option bytes behind a valid fixed header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 40 }), (words, opt) => {
        const b = withOptions([...opt.subarray(0, words * 4)].concat(new Array(Math.max(0, words * 4 - opt.length)).fill(0)));
        parseTcp(guarded(b), AtoB);
      }),
      { numRuns: 3000 },
    );
  });
});

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const sackBlock = fc.record({ left: u32, right: u32 }, { noNullPrototype: true });
const optionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map<TcpOption>((value) => ({ kind: 'mss', value })),
  fc.integer({ min: 0, max: 255 }).map<TcpOption>((shift) => ({ kind: 'wscale', shift })),
  fc.constant<TcpOption>({ kind: 'sackPermitted' }),
  fc.array(sackBlock, { minLength: 1, maxLength: 4 }).map<TcpOption>((blocks) => ({ kind: 'sack', blocks })),
  fc
    .record({ tsVal: u32, tsEcr: u32 }, { noNullPrototype: true })
    .map<TcpOption>(({ tsVal, tsEcr }) => ({ kind: 'timestamps', tsVal, tsEcr })),
  fc
    .record({
      type: fc.integer({ min: 6, max: 255 }).filter((t) => t !== 8),
      data: fc.uint8Array({ maxLength: 12 }),
    }, { noNullPrototype: true })
    .map<TcpOption>(({ type, data }) => ({ kind: 'unknown', type, data })),
);

/**
 * Option lists that survive the wire unchanged: they fit in 40 bytes, and they end with EOL when
 * they do not fill a multiple of 4 (the padding emit adds reads back as an EOL).
 */
const canonicalOptions = fc
  .tuple(fc.array(optionArb, { maxLength: 8 }), fc.boolean())
  .map(([opts, addEol]) => {
    const kept: TcpOption[] = [];
    let len = 0;
    for (const o of opts) {
      const l = tcpOptionsLen([o]);
      if (len + l > 39) break;
      kept.push(o);
      len += l;
    }
    if (len % 4 !== 0 || addEol) kept.push({ kind: 'eol' });
    return kept as readonly TcpOption[];
  });

const ctxArb: fc.Arbitrary<ChecksumContext | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ version: fc.constant(4 as const), src: u32, dst: u32 }),
  fc.record({
    version: fc.constant(6 as const),
    src: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  }),
);

const reprArb: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0x1ff }),
  window: u16,
  urgent: u16,
  options: canonicalOptions,
  payload: fc.uint8Array({ maxLength: 64 }),
}, { noNullPrototype: true });

describe('round trip', () => {
  it('parse(emit(x)) equals x for generated segments, with and without a checksum context, at any offset', () => {
    fc.assert(
      fc.property(reprArb, ctxArb, fc.integer({ min: 0, max: 20 }), (repr, ctx, offset) => {
        const len = tcpBufferLen(repr);
        const buf = new Uint8Array(offset + len + 7);
        assert.equal(emitTcp(repr, buf, offset, ctx), len);
        const p = parsed(guarded(buf.slice(offset, offset + len)), ctx);
        assert.deepEqual(reprOf(p), repr);
        assert.equal(p.headerLen, tcpHeaderLen(repr));
        assert.equal(p.reserved, 0);
        assert.equal(p.checksumValid, ctx === undefined ? undefined : true);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseTcpOptions reads the same options as parseTcp', () => {
    fc.assert(
      fc.property(reprArb, (repr) => {
        const b = emitted(repr);
        const r = parseTcpOptions(b, 20, tcpHeaderLen(repr));
        assert.ok(r.ok);
        assert.deepEqual(r.value, repr.options);
      }),
      { numRuns: 300 },
    );
  });

  it('parseTcpOptions reports a range outside the buffer instead of reading it', () => {
    const r = parseTcpOptions(new Uint8Array(24), 20, 28);
    assert.ok(!r.ok && r.error.code === 'truncated');
  });
});

describe('TcpHeaderView', () => {
  it('reads every field of the real SYN', () => {
    const v = new TcpHeaderView(SYN_BYTES);
    assert.equal(v.srcPort, 40000);
    assert.equal(v.dstPort, 9000);
    assert.equal(v.seq, 1234567890);
    assert.equal(v.ack, 0);
    assert.equal(v.headerLen, 40);
    assert.equal(v.flags, TCP_SYN);
    assert.equal(v.reserved, 0);
    assert.equal(v.window, 64240);
    assert.equal(v.checksum, 0xb515);
    assert.equal(v.urgent, 0);
    assert.equal(v.verifyChecksum(AtoB, 40), true);
  });

  it('reads a header at an offset inside a larger frame', () => {
    const frame = new Uint8Array(14 + 20 + SYN_BYTES.length);
    frame.set(SYN_BYTES, 34);
    const r = TcpHeaderView.check(frame, 34);
    assert.ok(r.ok);
    assert.equal(r.value.seq, 1234567890);
    assert.equal(r.value.verifyChecksum(AtoB, 40), true);
  });

  it('writes big-endian fields without disturbing their neighbours', () => {
    const b = SYN_BYTES.slice();
    const v = new TcpHeaderView(b);
    v.seq = 0xfedcba98;
    v.ack = 0x01020304;
    v.flags = TCP_ACK | TCP_AE;
    assert.equal(v.headerLen, 40, 'flags setter keeps the data offset');
    v.headerLen = 24;
    assert.equal(v.flags, TCP_ACK | TCP_AE, 'headerLen setter keeps AE');
    v.window = 0x1234;
    v.urgent = 0xabcd;
    v.srcPort = 1;
    v.dstPort = 65535;
    assert.equal(toHex(b.subarray(0, 20)), '0001ffff' + 'fedcba98' + '01020304' + '6110' + '1234' + 'b515' + 'abcd');
  });

  it('fillChecksum writes what emitTcp computes', () => {
    const b = emitted(SYN);
    new TcpHeaderView(b).fillChecksum(AtoB, b.length);
    assert.equal(toHex(b), toHex(SYN_BYTES));
  });

  it('stays valid when seq, ack and window are patched with RFC 1624 incremental updates', () => {
    fc.assert(
      fc.property(reprArb, u32, u32, u16, (repr, seq, ack, window) => {
        const b = emitted(repr, AtoB);
        const v = new TcpHeaderView(b);
        let c = v.checksum;
        c = updateChecksum32(c, v.seq, seq);
        c = updateChecksum32(c, v.ack, ack);
        c = updateChecksum16(c, v.window, window);
        v.seq = seq;
        v.ack = ack;
        v.window = window;
        v.checksum = c;
        assert.equal(v.verifyChecksum(AtoB, b.length), true);
        assert.equal(parsed(b, AtoB).checksumValid, true);
      }),
      { numRuns: 500 },
    );
  });

  it('check rejects short buffers and bad data offsets instead of reading past the end', () => {
    for (let n = 0; n < 20; n++) {
      const r = TcpHeaderView.check(guarded(SYN_BYTES.slice(0, n)));
      assert.ok(!r.ok && r.error.code === 'truncated', `length ${n}`);
    }
    const r1 = TcpHeaderView.check(guarded(SYN_BYTES.slice(0, 39)));
    assert.ok(!r1.ok && r1.error.code === 'bad-header-length');
    const low = SYN_BYTES.slice();
    low[12] = 0x40;
    const r2 = TcpHeaderView.check(guarded(low));
    assert.ok(!r2.ok && r2.error.code === 'bad-header-length');
    assert.equal(new TcpHeaderView(guarded(SYN_BYTES.slice(0, 39))).verifyChecksum(AtoB, 40), false);
  });
});

describe('tcpFlagsToString', () => {
  it('spells flags as tcpdump does', () => {
    const cases: [number, string][] = [
      [TCP_SYN, 'S'],
      [TCP_SYN | TCP_ACK, 'S.'],
      [TCP_PSH | TCP_ACK, 'P.'],
      [TCP_FIN | TCP_ACK, 'F.'],
      [TCP_FIN | TCP_PSH | TCP_ACK, 'FP.'],
      [TCP_RST, 'R'],
      [TCP_RST | TCP_ACK, 'R.'],
      [TCP_ACK, '.'],
      [TCP_ECE, 'E'],
      [TCP_CWR, 'W'],
      [TCP_URG, 'U'],
      [TCP_SYN | TCP_ECE | TCP_CWR, 'SEW'],
      [TCP_SYN | TCP_ACK | TCP_ECE, 'S.E'],
      [TCP_SYN | TCP_ECE | TCP_CWR | TCP_AE, 'SEWe'],
      [0, 'none'],
    ];
    for (const [flags, want] of cases) assert.equal(tcpFlagsToString(flags), want, `flags 0x${flags.toString(16)}`);
  });
});

/** Every field of a parsed segment, for comparing two parses. */
function fieldsOf(p: TcpPacket): Record<string, unknown> {
  return { ...reprOf(p), payload: [...p.payload], headerLen: p.headerLen, checksum: p.checksum, checksumValid: p.checksumValid, checksumPartial: p.checksumPartial, reserved: p.reserved };
}

describe('TcpPacketBuffer', () => {
  it('parses a segment inside a larger buffer as parseTcp parses it alone, one buffer reused for every segment', () => {
    const reused = new TcpPacketBuffer();
    fc.assert(
      fc.property(reprArb, ctxArb, fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 9 }), (repr, ctx, before, after) => {
        const len = tcpBufferLen(repr);
        const frame = new Uint8Array(before + len + after).fill(0xa5);
        emitTcp(repr, frame, before, ctx);
        assert.equal(reused.parse(guarded(frame), before, before + len, ctx), undefined);
        assert.deepEqual(fieldsOf(reused), fieldsOf(parsed(frame.slice(before, before + len), ctx)));
      }),
      { numRuns: 2000 },
    );
  });

  it('fails where parseTcp fails, with the same error relative to the segment, and leaves its fields as they were', () => {
    const reused = new TcpPacketBuffer();
    assert.equal(reused.parse(ACK_SACK_BYTES, 0, ACK_SACK_BYTES.length, BtoA), undefined);
    const good = fieldsOf(reused);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 12 }), (bytes, before) => {
        const frame = new Uint8Array(before + bytes.length + 4);
        frame.set(bytes, before);
        const want = parseTcp(bytes);
        const got = reused.parse(guarded(frame), before, before + bytes.length);
        if (want.ok) {
          assert.equal(got, undefined);
          assert.equal(reused.parse(ACK_SACK_BYTES, 0, ACK_SACK_BYTES.length, BtoA), undefined);
        } else {
          assert.deepEqual(got, want.error);
          assert.deepEqual(fieldsOf(reused), good);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('rewrites its own timestamp option for the common layout, and gives other layouts a list of their own', () => {
    const p = new TcpPacketBuffer();
    const ts = (tsVal: number) => emitted({ ...SYN, flags: TCP_ACK, options: [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal, tsEcr: 7 }] });
    const first = ts(0xfffffff0);
    p.parse(first, 0, first.length);
    const list = p.options;
    assert.deepEqual(list, [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 0xfffffff0, tsEcr: 7 }]);
    const second = ts(5);
    p.parse(second, 0, second.length);
    assert.equal(p.options, list, 'the same list, rewritten');
    assert.deepEqual(p.options[2], { kind: 'timestamps', tsVal: 5, tsEcr: 7 });
    p.parse(ACK_SACK_BYTES, 0, ACK_SACK_BYTES.length);
    assert.notEqual(p.options, list);
    assert.deepEqual(p.options, ACK_SACK.options);
  });

  it('hands out the same payload view for the same bytes of the same buffer, and a new one for others', () => {
    const p = new TcpPacketBuffer();
    const frame = new Uint8Array(14 + 20 + 64);
    emitTcp({ ...SYN, flags: TCP_ACK, options: [], payload: new Uint8Array(64).fill(3) }, frame, 14);
    p.parse(frame, 14, frame.length);
    const view = p.payload;
    assert.deepEqual([...view], new Array(64).fill(3));
    frame[34] = 9;
    p.parse(frame, 14, frame.length);
    assert.equal(p.payload, view);
    assert.equal(p.payload[0], 9, 'the view shows the buffer as it is now');
    p.parse(frame, 14, frame.length - 1);
    assert.notEqual(p.payload, view);
    assert.equal(p.payload.length, 63);
    p.parse(frame.slice(), 14, frame.length);
    assert.notEqual(p.payload, view, 'another buffer');
  });
});
