// The afpacket backend's kernel filter, compiled from the rules: run in the cBPF interpreter on
// crafted frames, it accepts what the engine must see (ARP; packets to the bypass address that the
// rules steer to bypass, first match wins; replies to flows the bypass stack opened) and nothing else.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { afpacketFilter, bypassCond } from '../../../engine/backends/afpacket-filter';
import { condToBpf } from '../../../engine/steer/bpf';
import { runBpf } from '../../../engine/steer/bpf-interp';
import { parseRules } from '../../../engine/steer/rules';
import { Steering } from '../../../engine/steer/steering';
import { ethernet, ip4, tcp4Frame, udp4Frame } from '../../support/packet-builder';

const OURS = '198.18.1.2';
const RULES = parseRules('kernel tcp port 7300 and src host 198.18.1.9\nbypass tcp port 7300\nbypass udp dst portrange 20000-20099\ndrop udp port 20050\ndefault kernel\n');
const program = afpacketFilter(RULES, ip4(OURS), [32768, 60999]);
const accepts = (f: Uint8Array) => runBpf(program, f, f.length) > 0;

function arpRequest(): Uint8Array {
  const p = new Uint8Array(28);
  p.set([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 198, 18, 1, 1, 0, 0, 0, 0, 0, 0, 198, 18, 1, 2]);
  return ethernet(0x0806, p, { dst: new Uint8Array([255, 255, 255, 255, 255, 255]) });
}

describe('afpacket kernel filter', () => {
  it('accepts ARP', () => {
    assert.equal(accepts(arpRequest()), true);
  });

  it('accepts a TCP segment to the bypass address that a bypass rule matches', () => {
    assert.equal(accepts(tcp4Frame('198.18.1.1', OURS, { srcPort: 40000, dstPort: 7300 })), true);
  });

  it('rejects it when an earlier kernel rule matches first', () => {
    assert.equal(accepts(tcp4Frame('198.18.1.9', OURS, { srcPort: 40000, dstPort: 7300 })), false);
  });

  it('rejects frames the rules leave to the kernel or drop, and frames to another address', () => {
    assert.equal(accepts(tcp4Frame('198.18.1.1', OURS, { srcPort: 40000, dstPort: 22 })), false);
    assert.equal(accepts(udp4Frame('198.18.1.1', OURS, 5000, 20050, new Uint8Array(8))), true, 'udp 20050: the bypass portrange rule comes first');
    assert.equal(accepts(udp4Frame('198.18.1.1', OURS, 5000, 30000, new Uint8Array(8))), false);
    assert.equal(accepts(tcp4Frame('198.18.1.1', '198.18.1.3', { srcPort: 40000, dstPort: 7300 })), false);
  });

  it('accepts replies to a flow the bypass stack opened (its ephemeral ports), whatever the rules say', () => {
    assert.equal(accepts(tcp4Frame('198.18.1.1', OURS, { srcPort: 22, dstPort: 45000 })), true);
    assert.equal(accepts(udp4Frame('198.18.1.1', OURS, 53, 50000, new Uint8Array(4))), true);
  });

  it('decides bypass exactly as the engine steers a new flow', () => {
    const frames = [
      tcp4Frame('198.18.1.1', OURS, { srcPort: 40000, dstPort: 7300 }),
      tcp4Frame('198.18.1.9', OURS, { srcPort: 40000, dstPort: 7300 }),
      tcp4Frame('198.18.1.1', OURS, { srcPort: 40000, dstPort: 7301 }),
      udp4Frame('198.18.1.1', OURS, 1, 20001, new Uint8Array(1)),
      udp4Frame('198.18.1.1', OURS, 1, 20100, new Uint8Array(1)),
      udp4Frame('198.18.1.1', OURS, 20050, 9, new Uint8Array(1)),
    ];
    const onlyRules = condToBpf(bypassCond(RULES));
    for (const f of frames) {
      const engine = new Steering(RULES).steer(f, f.length, 0).action === 'bypass';
      assert.equal(runBpf(onlyRules, f, f.length) > 0, engine, `frame ${Buffer.from(f.subarray(26, 38)).toString('hex')}: kernel filter and engine disagree`);
    }
  });
});
