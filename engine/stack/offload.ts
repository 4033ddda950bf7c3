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
import { foldSum, ipv4PseudoSum } from '../wire/checksum';

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
}

export function txOffload(): TxOffload {
  return { csumStart: 0, csumOffset: 0, gsoSize: 0, hdrLen: 0 };
}

export function rxOffload(): RxOffload {
  return { checksum: 'none', gsoSize: 0 };
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
