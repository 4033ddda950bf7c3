// stack: what a link device can finish for the stack, as a NIC's offloads — the shapes the stack and
// the devices (backends/) agree on, and the checksum the stack leaves for a device to complete.
//
// A device with offloads (a TAP with a virtio-net header, native/tap.ts) says so in
// `LinkDevice.offloads`. On transmit the stack may then leave a TCP checksum as the pseudo-header
// sum (Linux's CHECKSUM_PARTIAL) and hand over one TCP segment of up to 64 KiB that the device cuts
// into MSS-sized ones (TSO; Linux's GSO does the same in software), describing both in a TxOffload.
// On receive the device says, in an RxOffload, when a checksum need not be checked (the frame was
// made on this host and never crossed a wire, or the device checked it) and when the frame is a
// GSO/GRO super-frame larger than the MTU. Both objects are reused from frame to frame.
import { foldSum, ipv4PseudoSum, onesSum } from '../wire/checksum';

export interface LinkOffloads {
  /** The device completes a TCP checksum left as the pseudo-header sum. */
  readonly txChecksum: boolean;
  /** Largest IPv4 packet of one TCP segment the device takes and cuts into MSS-sized ones (TSO); 0 when it cannot. */
  readonly tsoMaxBytes: number;
}

/** What a transmitted frame leaves to the device. Valid during the `transmit` call. */
export interface TxOffload {
  /** Offset of the transport header in the frame: the checksum over the rest is the device's to finish. */
  csumStart: number;
  /** Offset of the checksum field from csumStart (TCP: 16). */
  csumOffset: number;
  /** > 0: a TCP segment whose payload the device cuts into pieces of this size, each with the same headers. */
  gsoSize: number;
  /** Bytes of headers (Ethernet, IP, TCP) before the payload. */
  hdrLen: number;
}

/** What the device says of a received frame. Valid during the receive call. */
export interface RxOffload {
  /**
   * 'partial': the sender left the TCP/UDP checksum to a device (the field holds the pseudo-header
   * sum) and the frame never crossed a wire; 'valid': the device checked it; 'none': check it.
   */
  checksum: 'none' | 'partial' | 'valid';
  /** A GSO/GRO super-frame: the segment size it was made of; 0 for an ordinary frame. */
  gsoSize: number;
  /** 'partial': where the checksummed range starts and where in it the field is (as TxOffload's). */
  csumStart: number;
  csumOffset: number;
  /** A GSO frame: bytes of headers before the payload. */
  hdrLen: number;
}

export function txOffload(): TxOffload {
  return { csumStart: 0, csumOffset: 0, gsoSize: 0, hdrLen: 0 };
}

export function rxOffload(): RxOffload {
  return { checksum: 'none', gsoSize: 0, csumStart: 0, csumOffset: 0, hdrLen: 0 };
}

/** Whether a received frame is other than plain bytes with complete checksums (a trace says so). */
export function rxOffloaded(rx: RxOffload | undefined): boolean {
  return rx !== undefined && (rx.checksum === 'partial' || rx.gsoSize > 0);
}

/**
 * What a device forwarding a received frame to another device with offloads must ask of it, so that
 * the frame goes on as it came (a bridge between two virtio-net ports does this): into `out`, or
 * undefined when the frame needs nothing.
 */
export function forwardOffload(rx: RxOffload | undefined, out: TxOffload): TxOffload | undefined {
  if (rx === undefined || (rx.checksum !== 'partial' && rx.gsoSize === 0)) return undefined;
  out.csumStart = rx.checksum === 'partial' ? rx.csumStart : 0;
  out.csumOffset = rx.checksum === 'partial' ? rx.csumOffset : 0;
  out.gsoSize = rx.gsoSize;
  out.hdrLen = rx.hdrLen;
  return out;
}

/** As forwardOffload, for a frame that came with a TxOffload and goes on as received (RxOffload). */
export function asReceived(tx: TxOffload | undefined, out: RxOffload): RxOffload | undefined {
  if (tx === undefined) return undefined;
  out.checksum = 'partial';
  out.csumStart = tx.csumStart;
  out.csumOffset = tx.csumOffset;
  out.gsoSize = tx.gsoSize;
  out.hdrLen = tx.hdrLen;
  return out;
}

/**
 * Finishes in software what a frame leaves to the device, as Linux's GSO and skb_checksum_help do:
 * a TSO frame (IPv4/TCP) is cut into pieces of `gsoSize` payload bytes, each with the headers copied,
 * its IPv4 total length, identification (+1 a piece) and header checksum, its sequence number, FIN
 * and PSH on the last piece only, CWR on the first only; then every checksum left partial is
 * completed. Calls `emit` with each finished frame (a fresh buffer). A frame it cannot read is
 * emitted unchanged.
 */
export function finishInSoftware(frame: Uint8Array, o: TxOffload, emit: (f: Uint8Array) => void): void {
  const partial = o.csumStart > 0;
  if (o.gsoSize === 0 || frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) {
    const f = frame.slice();
    if (partial) completeChecksum(f, o.csumStart, o.csumStart + o.csumOffset);
    emit(f);
    return;
  }
  const ip = 14;
  const l4 = ip + (frame[ip] & 0x0f) * 4;
  const hdr = o.hdrLen > l4 ? o.hdrLen : l4 + (frame[l4 + 12] >> 4) * 4;
  const data = frame.length - hdr;
  const id0 = (frame[ip + 4] << 8) | frame[ip + 5];
  const seq0 = ((frame[l4 + 4] << 24) | (frame[l4 + 5] << 16) | (frame[l4 + 6] << 8) | frame[l4 + 7]) >>> 0;
  const src = ((frame[ip + 12] << 24) | (frame[ip + 13] << 16) | (frame[ip + 14] << 8) | frame[ip + 15]) >>> 0;
  const dst = ((frame[ip + 16] << 24) | (frame[ip + 17] << 16) | (frame[ip + 18] << 8) | frame[ip + 19]) >>> 0;
  for (let off = 0, i = 0; off < data || (off === 0 && data === 0); off += o.gsoSize, i++) {
    const n = Math.min(o.gsoSize, data - off);
    const f = new Uint8Array(hdr + n);
    f.set(frame.subarray(0, hdr), 0);
    f.set(frame.subarray(hdr + off, hdr + off + n), hdr);
    const total = f.length - ip;
    f[ip + 2] = total >>> 8;
    f[ip + 3] = total & 0xff;
    const id = (id0 + i) & 0xffff;
    f[ip + 4] = id >>> 8;
    f[ip + 5] = id & 0xff;
    f[ip + 10] = 0;
    f[ip + 11] = 0;
    const ipSum = ~foldSum(onesSum(f, ip, l4 - ip)) & 0xffff;
    f[ip + 10] = ipSum >>> 8;
    f[ip + 11] = ipSum & 0xff;
    const seq = (seq0 + off) >>> 0;
    f[l4 + 4] = seq >>> 24;
    f[l4 + 5] = (seq >>> 16) & 0xff;
    f[l4 + 6] = (seq >>> 8) & 0xff;
    f[l4 + 7] = seq & 0xff;
    if (off + n < data) f[l4 + 13] &= ~0x09; // FIN, PSH: the last piece's
    if (i > 0) f[l4 + 13] &= ~0x80; // CWR: the first piece's
    writePartialTcpChecksum(f, l4, src, dst, f.length - l4);
    completeChecksum(f, l4, l4 + 16);
    emit(f);
    if (data === 0) break;
  }
}

/** Completes a partial checksum in place: the field at `at` holds the pseudo-header sum; the range starts at `start`. */
function completeChecksum(f: Uint8Array, start: number, at: number): void {
  if (at + 2 > f.length) return;
  let c = ~foldSum(onesSum(f, start, f.length - start)) & 0xffff;
  // RFC 768: a UDP checksum that computes to zero is sent as all ones (harmless for TCP, whose field is at 16).
  if (c === 0 && at - start === 6) c = 0xffff;
  f[at] = c >>> 8;
  f[at + 1] = c & 0xff;
}

/**
 * Writes the pseudo-header sum (RFC 9293 §3.1 pseudo-header, folded, not inverted) into the TCP
 * checksum field at `buf[at + 16]`: what a device that completes checksums expects there.
 */
export function writePartialTcpChecksum(buf: Uint8Array, at: number, src: number, dst: number, tcpLen: number): void {
  const s = foldSum(ipv4PseudoSum(src, dst, 6, tcpLen));
  buf[at + 16] = s >>> 8;
  buf[at + 17] = s & 0xff;
}
