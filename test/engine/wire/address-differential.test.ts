// Differential: ipv6ToString against what tcpdump and tshark print for the same addresses, when they are installed.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ipv6ToString } from '../../../engine/wire/address';
import { emitIpv6 } from '../../../engine/wire/ipv6';
import { emitEthernet, ETHERTYPE_IPV6 } from '../../../engine/wire/ethernet';

const has = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

/** Addresses with many zero runs and IPv4-looking tails, where formatting rules differ most. */
function sampleAddresses(): Uint8Array[] {
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.constant(1), fc.integer({ min: 0, max: 0xffff }));
  const arb = fc.array(group, { minLength: 8, maxLength: 8 }).map((ws) => {
    const b = new Uint8Array(16);
    ws.forEach((w, i) => {
      b[2 * i] = w >>> 8;
      b[2 * i + 1] = w & 0xff;
    });
    return b;
  });
  return fc.sample(arb, { seed: 5952, numRuns: 400 });
}

/** A classic pcap file of Ethernet frames, each an IPv6 header (no next header) from one address. */
function pcapOf(addresses: Uint8Array[]): Uint8Array {
  const frameLen = 14 + 40;
  const out = new Uint8Array(24 + addresses.length * (16 + frameLen));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  let at = 24;
  const dst = new Uint8Array(16);
  dst[0] = 0x20;
  dst[1] = 0x01;
  for (const src of addresses) {
    dv.setUint32(at + 8, frameLen, true);
    dv.setUint32(at + 12, frameLen, true);
    at += 16;
    at += emitEthernet({ dst: new Uint8Array(6).fill(2), src: new Uint8Array(6).fill(4), vlans: [], etherType: ETHERTYPE_IPV6 }, out, at);
    at += emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 0, nextHeader: 59, hopLimit: 64, src, dst }, out, at);
  }
  return out;
}

describe('IPv6 text against tcpdump and tshark', () => {
  const addresses = sampleAddresses();
  const dir = mkdtempSync(join(tmpdir(), 'bypass-scope-ipv6-'));
  const file = join(dir, 'addresses.pcap');
  writeFileSync(file, pcapOf(addresses));
  const ours = addresses.map((a) => ipv6ToString(a));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every sampled address the way tcpdump does', { skip: !has('tcpdump') && 'tcpdump is not installed' }, () => {
    const r = spawnSync('tcpdump', ['-tnr', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = r.stdout.trim().split('\n').map((line) => /^IP6 (\S+) >/.exec(line)?.[1]);
    assert.equal(theirs.length, ours.length);
    ours.forEach((text, i) => assert.equal(text, theirs[i], `address #${i}: got ${text}, tcpdump printed ${theirs[i]}`));
  });

  it('prints every sampled address the way tshark does', { skip: !has('tshark') && 'tshark is not installed' }, () => {
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ipv6.src'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = r.stdout.trim().split('\n');
    assert.equal(theirs.length, ours.length);
    ours.forEach((text, i) => assert.equal(text, theirs[i], `address #${i}: got ${text}, tshark printed ${theirs[i]}`));
  });

});
