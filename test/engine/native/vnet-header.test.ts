// native/tap.ts's virtio_net_hdr (include/uapi/linux/virtio_net.h, the legacy 10-byte layout a TAP
// with IFF_VNET_HDR puts before every frame) against golden bytes, both ways.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyVnetHeader, readVnetHeader, VNET_HDR_LEN, VnetFlag, VnetGso, writeVnetHeader } from '../../../native/index';

describe('native: the virtio-net header', () => {
  it('is 10 bytes: u8 flags, u8 gso_type, then le16 hdr_len, gso_size, csum_start, csum_offset', () => {
    assert.equal(VNET_HDR_LEN, 10);
    // A TSO frame as the stack hands it over: NEEDS_CSUM from byte 34 (Ethernet 14 + IPv4 20), the
    // TCP checksum 16 bytes in, 66 bytes of headers (TCP with timestamps: 32), pieces of 1448.
    const h = { flags: VnetFlag.NEEDS_CSUM, gsoType: VnetGso.TCPV4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 };
    const buf = new Uint8Array(12).fill(0xee);
    writeVnetHeader(buf, 1, h);
    assert.deepEqual([...buf], [0xee, 0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00, 0xee], 'bytes written (one byte of 0xee either side)');
    const back = emptyVnetHeader();
    readVnetHeader(buf, 1, back);
    assert.deepEqual(back, h, 'read back');
  });

  it('reads what the kernel sends: a GSO super-frame with a partial checksum, and a checked frame', () => {
    // tun_put_user for a 64 KiB GSO skb from a local TCP socket (CHECKSUM_PARTIAL, gso_size 1448).
    const gso = emptyVnetHeader();
    readVnetHeader(Uint8Array.from([0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00]), 0, gso);
    assert.deepEqual(gso, { flags: 1, gsoType: 1, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
    const valid = emptyVnetHeader();
    readVnetHeader(Uint8Array.from([0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]), 0, valid);
    assert.equal(valid.flags & VnetFlag.DATA_VALID, VnetFlag.DATA_VALID, 'DATA_VALID');
    assert.equal(valid.gsoType, VnetGso.NONE, 'not a GSO frame');
    // Sizes above 255 use both bytes, little-endian.
    const wide = emptyVnetHeader();
    readVnetHeader(Uint8Array.from([0, 4, 0x34, 0x12, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04]), 0, wide);
    assert.deepEqual([wide.gsoType, wide.hdrLen, wide.gsoSize, wide.csumStart, wide.csumOffset], [VnetGso.TCPV6, 0x1234, 0xffff, 0x0201, 0x0403]);
  });
});
