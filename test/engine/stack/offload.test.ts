// The stack on a link with offloads (stack/offload.ts): TCP checksums left partial for the device,
// TSO segments that a device cuts into MSS-sized frames every plain receiver accepts, GSO
// super-frames with partial checksums taken whole, and the ACKs of one poll's segments coalesced
// (StackOptions.coalesceAcks), riding on the reply of an application that answers at once.
import { describe, it } from 'node:test';
import { connect, createServer } from '../../../engine/stack/net';
import { Ipv4Stack } from '../../../engine/stack/stack';
import { rxOffload, type LinkOffloads, type RxOffload, type TxOffload } from '../../../engine/stack/offload';
import { BYPASS_TCP_CONFIG } from '../../../engine/capture/session';
import { SeededRng } from '../../../engine/tcp/rng';
import { emitTcp } from '../../../engine/wire/tcp';
import { foldSum, internetChecksum, ipv4PseudoSum, onesSum } from '../../../engine/wire/checksum';
import { finishInSoftware, writePartialTcpChecksum } from '../../../engine/stack/offload';
import { collect, eq, ok, payload, sendAll, sha256 } from './support';

const A = 0xc6120001;
const B = 0xc6120002;
const MTU = 1500;

/** What a device with offloads does with a TxOffload: the checksum completed, a TSO frame cut into MTU-sized ones (as Linux's GSO does). */
function segment(frame: Uint8Array, o: TxOffload | undefined): Uint8Array[] {
  if (o === undefined) return [frame.slice()];
  const complete = (f: Uint8Array): void => {
    const at = o.csumStart + o.csumOffset;
    const c = ~foldSum(onesSum(f, o.csumStart, f.length - o.csumStart)) & 0xffff;
    f[at] = c >>> 8;
    f[at + 1] = c & 0xff;
  };
  if (o.gsoSize === 0) {
    const f = frame.slice();
    complete(f);
    return [f];
  }
  const out: Uint8Array[] = [];
  const data = frame.subarray(o.hdrLen);
  const seq0 = new DataView(frame.buffer, frame.byteOffset).getUint32(o.csumStart + 4);
  const id0 = (frame[18] << 8) | frame[19];
  const src = new DataView(frame.buffer, frame.byteOffset).getUint32(26);
  const dst = new DataView(frame.buffer, frame.byteOffset).getUint32(30);
  for (let off = 0, i = 0; off < data.length; off += o.gsoSize, i++) {
    const n = Math.min(o.gsoSize, data.length - off);
    const last = off + n >= data.length;
    const f = new Uint8Array(o.hdrLen + n);
    f.set(frame.subarray(0, o.hdrLen), 0);
    f.set(data.subarray(off, off + n), o.hdrLen);
    const v = new DataView(f.buffer);
    v.setUint16(16, f.length - 14);
    v.setUint16(18, (id0 + i) & 0xffff);
    v.setUint16(24, 0);
    v.setUint16(24, internetChecksum(f, 14, 20));
    v.setUint32(o.csumStart + 4, (seq0 + off) >>> 0);
    // FIN and PSH belong to the last piece only.
    if (!last) f[o.csumStart + 13] &= ~0x09;
    writePartialTcpChecksum(f, o.csumStart, src, dst, f.length - o.csumStart);
    complete(f);
    out.push(f);
  }
  return out;
}

type Mode = 'segment' | 'whole' | 'software';

/** A link between two stacks; A's side has offloads. `whole`: TSO frames reach B as one GSO frame with a partial checksum, as Linux delivers them to a local socket. */
class Link {
  readonly name = 'link';
  readonly mtu = MTU;
  onReceive: ((frame: Uint8Array, now: number, wireLen?: number, rx?: RxOffload) => void) | undefined;
  offloads: LinkOffloads | undefined;
  peer!: Link;
  queue: { frame: Uint8Array; rx: RxOffload | undefined }[] = [];
  sent: { length: number; gso: number; frame: Uint8Array }[] = [];
  /** software: pieces finishInSoftware made, and those that differ from `segment`'s (the reference). */
  pieces = 0;
  mismatches: string[] = [];
  constructor(
    offloads: boolean,
    private readonly mode: Mode,
    private readonly rxMark: RxOffload['checksum'] = 'partial',
  ) {
    this.offloads = offloads ? { txChecksum: true, tsoMaxBytes: 65535 } : undefined;
  }
  transmit(frame: Uint8Array, _now: number, o?: TxOffload): void {
    this.sent.push({ length: frame.length, gso: o?.gsoSize ?? 0, frame: frame.slice(0, 54) });
    if (o !== undefined && this.mode === 'whole') {
      const rx = rxOffload();
      rx.checksum = this.rxMark;
      rx.gsoSize = o.gsoSize;
      this.peer.queue.push({ frame: frame.slice(), rx });
      return;
    }
    if (o !== undefined && this.mode === 'software') {
      const want = segment(frame, o);
      const got: Uint8Array[] = [];
      finishInSoftware(frame, o, (f) => got.push(f));
      this.pieces += got.length;
      if (got.length !== want.length) this.mismatches.push(`${got.length} pieces, want ${want.length}`);
      else got.forEach((f, i) => Buffer.compare(f, want[i]) !== 0 && this.mismatches.push(`piece ${i} of ${got.length} differs`));
      for (const f of got) this.peer.queue.push({ frame: f, rx: undefined });
      return;
    }
    for (const f of segment(frame, o)) this.peer.queue.push({ frame: f, rx: undefined });
  }
  poll(): void {}
  pollAt(): number | undefined {
    return undefined;
  }
  deliver(now: number): number {
    const q = this.queue;
    this.queue = [];
    for (const { frame, rx } of q) this.onReceive!(frame, now, undefined, rx);
    return q.length;
  }
}

function pair(
  mode: Mode,
  opts: { coalesce?: boolean; rxMark?: RxOffload['checksum'] } = {},
): { a: Ipv4Stack; b: Ipv4Stack; la: Link; lb: Link; run: (until: () => boolean, steps?: number) => boolean; tick: () => number } {
  const la = new Link(true, mode, opts.rxMark);
  const lb = new Link(false, mode);
  la.peer = lb;
  lb.peer = la;
  const common = { prefixLength: 24, tcp: BYPASS_TCP_CONFIG, coalesceAcks: opts.coalesce };
  const a = new Ipv4Stack(la, { ...common, mac: new Uint8Array([2, 0, 0, 0, 0, 1]), address: A, rng: new SeededRng(1) });
  const b = new Ipv4Stack(lb, { ...common, mac: new Uint8Array([2, 0, 0, 0, 0, 2]), address: B, rng: new SeededRng(2) });
  let now = 0;
  const run = (until: () => boolean, steps = 200_000): boolean => {
    for (let i = 0; i < steps; i++) {
      if (until()) return true;
      now += 0.05;
      a.poll(now);
      b.poll(now);
      la.deliver(now);
      lb.deliver(now);
    }
    return until();
  };
  const tick = (): number => (now += 0.05);
  return { a, b, la, lb, run, tick };
}

async function transfer(mode: Mode, bytes: number, rxMark?: RxOffload['checksum']): Promise<{ b: Ipv4Stack; a: Ipv4Stack; la: Link; lb: Link; got: ReturnType<typeof collect>; data: Buffer; done: boolean }> {
  const { a, b, la, lb, run } = pair(mode, { rxMark });
  let got: ReturnType<typeof collect> | undefined;
  createServer(b, (s) => {
    got = collect(s);
    s.on('end', () => s.end());
  }).listen(80);
  const c = connect(a, { host: '198.18.0.2', port: 80 });
  const data = payload(bytes, 7);
  sendAll(c, data);
  // Stream callbacks run on Node's event loop: give it turns while the stacks run.
  let done = false;
  for (let round = 0; round < 400 && !done; round++) {
    done = run(() => got !== undefined && got.ended(), 2_000);
    await new Promise((r) => setImmediate(r));
  }
  return { a, b, la, lb, got: got!, data, done };
}

describe('stack: a link with offloads', () => {
  it('sends TSO segments larger than the MTU that, cut by the device, reach a plain receiver intact', async () => {
    const r = await transfer('segment', 1 << 20);
    ok(r.done, `the transfer ended: got ${r.got?.bytes()} of ${r.data.length} bytes`);
    eq(r.got.digest(), sha256(r.data), 'SHA-256 of what the receiver read');
    ok(r.a.counters.tsoSegments > 0, `TSO segments sent: ${r.a.counters.tsoSegments}, want some`);
    const big = r.la.sent.filter((s) => s.length > MTU + 14);
    ok(big.length > 0 && big.every((s) => s.gso > 0 && s.gso <= MTU - 52), `frames over the MTU carry a piece size within it: ${JSON.stringify(big.slice(0, 3))}`);
    eq(r.b.counters.rxDrops['tcp-bad-checksum'] ?? 0, 0, 'segments the plain receiver dropped for a bad checksum');
  });

  it('takes GSO super-frames with partial checksums whole when the device vouches for them', async () => {
    const r = await transfer('whole', 1 << 20);
    ok(r.done, `the transfer ended: got ${r.got?.bytes()} of ${r.data.length} bytes`);
    eq(r.got.digest(), sha256(r.data), 'SHA-256 of what the receiver read');
    ok(r.b.counters.rx.frames > 0 && r.la.sent.some((s) => s.length > 32 * 1024), 'super-frames of tens of KiB crossed the link');
    eq(r.b.counters.rxDrops['tcp-bad-checksum'] ?? 0, 0, 'super-frames dropped for a bad checksum');
  });

  it('finishes TSO frames and partial checksums in software (finishInSoftware) as a device would, byte for byte', async () => {
    const r = await transfer('software', 1 << 20);
    ok(r.done, `the transfer ended: got ${r.got?.bytes()} of ${r.data.length} bytes`);
    eq(r.got.digest(), sha256(r.data), 'SHA-256 of what the receiver read');
    ok(r.la.pieces > r.la.sent.length, `pieces made: ${r.la.pieces} from ${r.la.sent.length} frames, want more pieces than frames (TSO cut)`);
    eq(r.la.mismatches.slice(0, 5), [], 'pieces that differ from the reference segmentation');
    eq(r.b.counters.rxDrops['tcp-bad-checksum'] ?? 0, 0, 'pieces the plain receiver dropped for a bad checksum');
  });

  it('drops a segment with a partial checksum when the device does not vouch for it', async () => {
    const r = await transfer('whole', 64 * 1024, 'none');
    ok(!r.done, 'the transfer must not complete over frames whose checksums nobody completed');
    ok((r.b.counters.rxDrops['tcp-bad-checksum'] ?? 0) > 0, `bad-checksum drops: ${r.b.counters.rxDrops['tcp-bad-checksum'] ?? 0}, want some`);
  });

  it('leaves the pseudo-header sum in the checksum field, which the device completes to the full checksum', () => {
    const seg = { srcPort: 40000, dstPort: 80, seq: 0x01020304, ack: 0x0a0b0c0d, flags: 0x18, window: 512, urgent: 0, options: [], payload: payload(999, 3) };
    const full = new Uint8Array(20 + 999);
    emitTcp(seg, full, 0, { version: 4, src: A, dst: B });
    const partial = new Uint8Array(20 + 999);
    emitTcp(seg, partial, 0);
    writePartialTcpChecksum(partial, 0, A, B, partial.length);
    eq([partial[16], partial[17]], [foldSum(ipv4PseudoSum(A, B, 6, partial.length)) >>> 8, foldSum(ipv4PseudoSum(A, B, 6, partial.length)) & 0xff], 'the partial field');
    const done = ~foldSum(onesSum(partial, 0, partial.length)) & 0xffff;
    eq(done, (full[16] << 8) | full[17], 'the checksum the device computes');
  });
});

describe('stack: ACKs coalesced per poll', () => {
  it('answers a burst of segments read in one poll with one ACK', () => {
    const { a, b, lb, run, tick } = pair('segment', { coalesce: true });
    let server: import('../../../engine/stack/net').Socket | undefined;
    createServer(b, (s) => {
      server = s;
      s.resume();
    }).listen(81);
    const c = connect(a, { host: '198.18.0.2', port: 81 });
    ok(run(() => server !== undefined && c.readyState === 'open'), 'connected');
    // Ten full segments leave A before B runs: B reads them in one poll.
    c.write(payload(10 * 1448, 1));
    let n = 0;
    for (let i = 0; i < 50 && n < 10; i++) {
      a.poll(tick());
      n = lb.queue.length;
    }
    ok(n >= 2, `segments queued for B: ${n}`);
    const before = lb.sent.length;
    const t = tick();
    lb.deliver(t);
    b.poll(t);
    const acks = lb.sent.length - before;
    eq(acks, 1, `ACK frames B sent for ${n} segments`);
  });

  it('sends an echo server\'s reply with the ACK of the request on it: one frame, not two', async () => {
    const { a, b, lb, run, tick } = pair('segment', { coalesce: true });
    createServer(b, (s) => s.on('data', (d: Buffer) => s.write(d))).listen(82);
    const c = connect(a, { host: '198.18.0.2', port: 82 });
    let echoed = 0;
    c.on('data', (d: Buffer) => (echoed += d.length));
    ok(run(() => c.readyState === 'open'), 'connected');
    // The streams start flowing on Node's event loop (process.nextTick): let it turn.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      run(() => false, 20);
    }
    ok(run(() => lb.queue.length === 0), 'idle');
    const before = lb.sent.length;
    c.write(payload(64, 2));
    a.poll(tick());
    eq(lb.queue.length, 1, 'the request reached B');
    const t = tick();
    lb.deliver(t);
    b.poll(t);
    const answer = lb.sent.slice(before);
    eq(answer.length, 1, 'frames B sent in answer to the request');
    // IPv4 total length 20 + 32 (TCP with timestamps) + 64: the echo itself, with ACK set.
    eq(((answer[0].frame[16] << 8) | answer[0].frame[17]) - 52, 64, 'payload bytes of that frame');
    eq(answer[0].frame[47] & 0x10, 0x10, 'its ACK flag');
  });
});
