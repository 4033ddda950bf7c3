// test support: the decode benchmark's traffic mix — bulk TCP with timestamps, ACKs (some with SACK),
// a UDP feed, pings and ARP over 64 flows — shared by bench/decode and the fast-summary test, so the
// test checks exactly what the benchmark times.
import type { TcpOption } from '../../engine/wire/tcp';
import { ethernet, icmp, ip4, ipv4, tcp4Frame, udp4Frame } from './packet-builder';

const TS: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsVal: 1000, tsEcr: 2000 }];

/** Frame i of the mix (frames depend on the ones before them only through the running sequence number). */
export function* decodeMix(count: number): Generator<Uint8Array> {
  let seq = 1000;
  for (let i = 0; i < count; i++) {
    const flow = i % 64;
    const a = `198.18.0.${1 + (flow % 8)}`;
    const b = `198.18.1.${1 + (flow >> 3)}`;
    const kind = i % 20;
    if (kind < 12) {
      yield tcp4Frame(a, b, { srcPort: 40000 + flow, dstPort: 9000, seq, ack: 5000, flags: 0x18, window: 501, options: TS, payload: new Uint8Array(kind < 6 ? 1448 : 200) });
      seq = (seq + 1448) >>> 0;
    } else if (kind < 17) {
      const sack: TcpOption[] = kind === 16 ? [{ kind: 'sack', blocks: [{ left: seq + 2896, right: seq + 4344 }] }, { kind: 'nop' }, { kind: 'nop' }] : [];
      yield tcp4Frame(b, a, { srcPort: 9000, dstPort: 40000 + flow, seq: 5000, ack: seq, flags: 0x10, window: 1024, options: [...TS, ...sack] });
    } else if (kind < 19) {
      yield udp4Frame(a, b, 20000 + flow, 30000, new Uint8Array(64));
    } else if (i % 40 === 19) {
      yield ethernet(0x0800, ipv4({ src: ip4(a), dst: ip4(b), protocol: 1 }, icmp({ kind: 'echoRequest', identifier: flow, sequence: i & 0xffff, data: new Uint8Array(56) })));
    } else {
      const arp = Uint8Array.from([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 198, 18, 0, 1, 0, 0, 0, 0, 0, 0, 198, 18, 1, flow & 0xff]);
      yield ethernet(0x0806, arp, { dst: new Uint8Array(6).fill(0xff) });
    }
  }
}
