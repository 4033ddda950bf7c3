// The tap device's transmit with offloads: frames are built in a buffer the device lends and written
// from it with their virtio_net_hdr. A frame sent while another is still being built there (an ARP
// probe that the other's own transmission set off) must not overwrite it. The device writes to a
// plain file here (TapIo only write()s its fd), so what went out is read back byte for byte.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TapDevice } from '../../../engine/backends/tap';
import { libc, VNET_HDR_LEN } from '../../../native/index';

const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

describe('tap device transmit', { skip: process.platform !== 'linux' }, () => {
  it('keeps the frame being built in the lent buffer when another frame is sent before it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bypass-scope-tap-'));
    const path = join(dir, 'frames');
    const c = libc();
    const fd = c.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600);
    assert.ok(fd >= 0, `open: ${fd}`);
    try {
      const dev = new TapDevice({ fd, name: 'test0', vnetHeader: true }, 1500);
      const built = dev.frameBuffer(60);
      built.fill(0xaa);
      const probe = new Uint8Array(42).fill(0x55);
      dev.transmit(probe);
      dev.transmit(built);
      // And the lent buffer works as before once nothing is out.
      const next = dev.frameBuffer(50);
      next.fill(0x33);
      dev.transmit(next);
      dev.close();
      const out = readFileSync(path);
      const frames = [probe, new Uint8Array(60).fill(0xaa), new Uint8Array(50).fill(0x33)];
      assert.equal(out.length, frames.reduce((n, f) => n + VNET_HDR_LEN + f.length, 0));
      let at = 0;
      for (const [i, f] of frames.entries()) {
        assert.deepEqual([...out.subarray(at + VNET_HDR_LEN, at + VNET_HDR_LEN + f.length)], [...f], `frame ${i}`);
        at += VNET_HDR_LEN + f.length;
      }
      assert.equal(dev.counters.txFrames, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
