// test support for engine/stack: simulated networks, deterministic payloads, a scripted raw peer.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SimNetwork, simMac, type SimHostOptions } from '../../../engine/backends/sim-network';
import type { SimPort, SimWireOptions } from '../../../engine/backends/sim';
import { SeededRng } from '../../../engine/tcp/rng';
import type { Ipv4Stack } from '../../../engine/stack/stack';
import type { Socket } from '../../../engine/stack/net';
import { ipv4ToString, readIpv4, writeIpv4 } from '../../../engine/wire/address';

export const A = 0xc6120001; // 198.18.0.1
export const B = 0xc6120002; // 198.18.0.2
export const PEER = 0xc6120063; // 198.18.0.99, the raw peer
export const PEER_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0x63]);
export const MAC_A = simMac(0);
export const MAC_B = simMac(1);

export function net2(hosts: readonly SimHostOptions[] = [{}, {}], wire: SimWireOptions = { latencyMs: 1 }, seed = 1): { net: SimNetwork; a: Ipv4Stack; b: Ipv4Stack } {
  const net = new SimNetwork({ seed, wire, hosts });
  return { net, a: net.stacks[0], b: net.stacks[1] };
}

export function addr(stack: Ipv4Stack): string {
  return ipv4ToString(stack.address);
}

/** A port on the wire that a test drives by hand: it records what it receives and sends raw frames. */
export class RawPeer {
  readonly port: SimPort;
  readonly frames: Uint8Array[] = [];
  /** Answer ARP requests for PEER (on by default), as a live host would. */
  answerArp = true;
  constructor(readonly net: SimNetwork, name = 'raw') {
    this.port = net.wire.attach(name);
    this.port.onReceive = (f) => {
      if (this.answerArp && f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 && readIpv4(f, 38) === PEER) {
        const reply = new Uint8Array(42);
        reply.set(f.subarray(6, 12), 0);
        reply.set(PEER_MAC, 6);
        reply.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
        reply.set(PEER_MAC, 22);
        writeIpv4(reply, 28, PEER);
        reply.set(f.subarray(22, 32), 32);
        this.frames.push(f.slice());
        this.send(reply);
        return;
      }
      this.frames.push(f.slice());
    };
    net.clock.add(this.port);
  }

  /** Frames received with the given EtherType (0x0800 IPv4, 0x0806 ARP). */
  ofType(type: number): Uint8Array[] {
    return this.frames.filter((f) => ((f[12] << 8) | f[13]) === type);
  }
  send(frame: Uint8Array): void {
    this.port.transmit(frame, this.net.now);
  }
  take(): Uint8Array[] {
    return this.frames.splice(0, this.frames.length);
  }
}

export function payload(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  const r = new SeededRng(seed);
  let i = 0;
  for (; i + 4 <= n; i += 4) b.writeUInt32LE(r.nextU32(), i);
  for (; i < n; i++) b[i] = r.nextU32() & 0xff;
  return b;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Writes `data` in chunks, honouring write() === false by waiting for 'drain', then end()s unless told not to. */
export function sendAll(s: Socket, data: Uint8Array, chunk = 64 * 1024, end = true): { written: () => number; drains: () => number } {
  let off = 0;
  let drains = 0;
  const pump = (): void => {
    while (off < data.length) {
      const stop = Math.min(off + chunk, data.length);
      const ok = s.write(data.subarray(off, stop));
      off = stop;
      if (!ok) {
        s.once('drain', () => {
          drains++;
          pump();
        });
        return;
      }
    }
    if (end) s.end();
  };
  pump();
  return { written: () => off, drains: () => drains };
}

/** Collects what a readable side delivers, hashing as it goes. */
export function collect(s: Socket): { bytes: () => number; digest: () => string; ended: () => boolean; text: () => string } {
  const h = createHash('sha256');
  const parts: Buffer[] = [];
  let n = 0;
  let ended = false;
  s.on('data', (d: Buffer) => {
    n += d.length;
    h.update(d);
    if (parts.length < 64) parts.push(d);
  });
  s.on('end', () => {
    ended = true;
  });
  let digest: string | undefined;
  return {
    bytes: () => n,
    digest: () => (digest ??= h.digest('hex')),
    ended: () => ended,
    text: () => Buffer.concat(parts).toString(),
  };
}

export function eq<T>(got: T, want: T, what: string): void {
  assert.deepEqual(got, want, `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

export function ok(cond: unknown, what: string): asserts cond {
  assert.ok(cond, what);
}
