// native: AF_PACKET sockets — bound to one interface, batched receive with recvmmsg and send with
// sendmmsg into and out of engine-owned buffers, PACKET_AUXDATA for each frame's checksum state,
// promiscuous membership, and a classic BPF filter (SO_ATTACH_FILTER) run in the kernel.
// Owns struct sockaddr_ll, mmsghdr, msghdr, iovec, cmsghdr, tpacket_auxdata, sock_filter, sock_fprog
// and packet_mreq (x86_64/aarch64 LP64 layouts).
import {
  AF_PACKET,
  EAGAIN,
  EINTR,
  ENETDOWN,
  ENOBUFS,
  ENODEV,
  EPERM,
  ETH_P_ALL,
  lastError,
  libc,
  MSG_DONTWAIT,
  MSG_TRUNC,
  PACKET_ADD_MEMBERSHIP,
  PACKET_AUXDATA,
  PACKET_IGNORE_OUTGOING,
  PACKET_MR_PROMISC,
  SO_ATTACH_FILTER,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOL_PACKET,
  SOL_SOCKET,
  type Libc,
} from './libc';

/** One classic BPF instruction (struct sock_filter), as engine/steer/bpf.ts produces them. */
export interface SockFilterInsn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export interface PacketSocketOptions {
  readonly ifname: string;
  /** Frames per recvmmsg/sendmmsg call (default 64). */
  readonly batch?: number;
  /** Bytes per receive buffer (default 2048: an MTU-1500 frame with VLAN tags and room). */
  readonly frameSize?: number;
  /** Also receive frames for other MACs (PACKET_MR_PROMISC; dropped with the socket). */
  readonly promiscuous?: boolean;
  /** A classic BPF program run in the kernel before a frame is queued to this socket. */
  readonly filter?: readonly SockFilterInsn[];
  /** SO_RCVBUF in bytes (default 4 MiB; forced when privileged). */
  readonly receiveBuffer?: number;
}

/** Per received frame, in `PacketSocket.rxFlags`. */
export const RxFlag = {
  /** TP_STATUS_CSUMNOTREADY: the TCP/UDP checksum is partial (CHECKSUM_PARTIAL, e.g. on veth); complete it before use. */
  CSUM_NOT_READY: 1,
  /** TP_STATUS_CSUM_VALID: the checksum was verified by the device. */
  CSUM_VALID: 2,
  /** The frame was longer than the buffer and was cut. */
  TRUNCATED: 4,
  /** A VLAN tag was stripped by the device; it is in rxVlanTci/rxVlanTpid. */
  VLAN: 8,
} as const;

const SOCKADDR_LL_LEN = 20;
const MMSGHDR_LEN = 64;
const MSGHDR_IOV = 16;
const MSGHDR_IOVLEN = 24;
const MSGHDR_CONTROL = 32;
const MSGHDR_CONTROLLEN = 40;
const MSGHDR_FLAGS = 48;
const MMSG_LEN = 56;
const IOVEC_LEN = 16;
/** CMSG_SPACE(sizeof(struct tpacket_auxdata) = 20) = 16-byte header + 24. */
const CONTROL_LEN = 40;
const CMSG_DATA = 16;
const TP_STATUS_CSUMNOTREADY = 0x8;
const TP_STATUS_VLAN_VALID = 0x10;
const TP_STATUS_VLAN_TPID_VALID = 0x40;
const TP_STATUS_CSUM_VALID = 0x80;

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** How to get CAP_NET_RAW, for messages. */
export const NET_RAW_ADVICE =
  'AF_PACKET sockets need CAP_NET_RAW: run as root, inside `unshare -Urn` (a private namespace), or grant it once with `sudo setcap cap_net_raw,cap_net_admin+ep "$(readlink -f "$(command -v node)")"`';

export class PacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  readonly batch: number;
  readonly frameSize: number;
  /** Receive buffers: frame i of the last `receive()` is rxBuffers[i].subarray(0, rxLengths[i]). */
  readonly rxBuffers: Uint8Array[] = [];
  readonly rxLengths: Int32Array;
  readonly rxFlags: Uint8Array;
  readonly rxVlanTci: Uint16Array;
  readonly rxVlanTpid: Uint16Array;
  private readonly c: Libc;
  private readonly rxMsgs: Buffer;
  private readonly rxIov: Buffer;
  private readonly rxControl: Buffer;
  private readonly txMsgs: Buffer;
  private readonly txIov: Buffer;
  private readonly txBuffers: Buffer[] = [];
  private txCount = 0;
  /** Frames the kernel refused (queue full, interface down), counted not thrown. */
  txDropped = 0;
  /** Kept referenced while the kernel holds its address. */
  private filterProgram: Buffer | undefined;
  private closed = false;

  constructor(options: PacketSocketOptions) {
    const c = (this.c = libc());
    this.batch = options.batch ?? 64;
    this.frameSize = options.frameSize ?? 2048;
    this.ifindex = c.ifNametoindex(options.ifname);
    if (this.ifindex === 0) throw lastError(c, 'if_nametoindex', `'${options.ifname}'`, (e) => (e === ENODEV ? `There is no interface '${options.ifname}' in this network namespace (see \`ip link\`)` : undefined));
    // Protocol 0: nothing is queued before bind() picks the interface and the filter is on.
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw lastError(c, 'socket', 'AF_PACKET', (e) => (e === EPERM ? NET_RAW_ADVICE : undefined));
    this.fd = fd;
    try {
      this.setInt(SOL_PACKET, PACKET_AUXDATA, 1, 'PACKET_AUXDATA');
      this.setInt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING');
      const rcv = options.receiveBuffer ?? 4 * 1024 * 1024;
      if (!this.trySetInt(SOL_SOCKET, SO_RCVBUFFORCE, rcv)) this.trySetInt(SOL_SOCKET, SO_RCVBUF, rcv);
      if (options.filter !== undefined) this.attachFilter(options.filter);
      if (options.promiscuous) {
        const mreq = Buffer.alloc(16);
        mreq.writeInt32LE(this.ifindex, 0);
        mreq.writeUInt16LE(PACKET_MR_PROMISC, 4);
        if (c.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq, 16) < 0) throw lastError(c, 'setsockopt', 'PACKET_ADD_MEMBERSHIP promiscuous');
      }
      const sll = Buffer.alloc(SOCKADDR_LL_LEN);
      sll.writeUInt16LE(AF_PACKET, 0);
      sll.writeUInt16LE(htons(ETH_P_ALL), 2);
      sll.writeInt32LE(this.ifindex, 4);
      if (c.bind(fd, sll, SOCKADDR_LL_LEN) < 0) throw lastError(c, 'bind', `AF_PACKET to '${options.ifname}'`, (e) => (e === ENETDOWN ? `'${options.ifname}' is down: \`ip link set ${options.ifname} up\`` : undefined));
    } catch (e) {
      c.close(fd);
      throw e;
    }
    const n = this.batch;
    this.rxLengths = new Int32Array(n);
    this.rxFlags = new Uint8Array(n);
    this.rxVlanTci = new Uint16Array(n);
    this.rxVlanTpid = new Uint16Array(n);
    this.rxMsgs = Buffer.alloc(MMSGHDR_LEN * n);
    this.rxIov = Buffer.alloc(IOVEC_LEN * n);
    this.rxControl = Buffer.alloc(CONTROL_LEN * n);
    this.txMsgs = Buffer.alloc(MMSGHDR_LEN * n);
    this.txIov = Buffer.alloc(IOVEC_LEN * n);
    const iovBase = c.address(this.rxIov);
    const controlBase = c.address(this.rxControl);
    const txIovBase = c.address(this.txIov);
    for (let i = 0; i < n; i++) {
      // Plain Uint8Arrays: the engine's wire code copies with `slice`, which on a Buffer makes a view.
      const rx = new Uint8Array(this.frameSize);
      this.rxBuffers.push(rx);
      this.rxIov.writeBigUInt64LE(c.address(rx), i * IOVEC_LEN);
      this.rxIov.writeBigUInt64LE(BigInt(this.frameSize), i * IOVEC_LEN + 8);
      const m = i * MMSGHDR_LEN;
      this.rxMsgs.writeBigUInt64LE(iovBase + BigInt(i * IOVEC_LEN), m + MSGHDR_IOV);
      this.rxMsgs.writeBigUInt64LE(1n, m + MSGHDR_IOVLEN);
      this.rxMsgs.writeBigUInt64LE(controlBase + BigInt(i * CONTROL_LEN), m + MSGHDR_CONTROL);
      const tx = Buffer.alloc(this.frameSize);
      this.txBuffers.push(tx);
      this.txIov.writeBigUInt64LE(c.address(tx), i * IOVEC_LEN);
      this.txMsgs.writeBigUInt64LE(txIovBase + BigInt(i * IOVEC_LEN), m + MSGHDR_IOV);
      this.txMsgs.writeBigUInt64LE(1n, m + MSGHDR_IOVLEN);
    }
  }

  /** Replaces the socket's kernel filter (SO_ATTACH_FILTER with a struct sock_fprog). */
  attachFilter(program: readonly SockFilterInsn[]): void {
    if (program.length === 0 || program.length > 4096) throw new Error(`a classic BPF program has 1 to 4096 instructions (got ${program.length})`);
    const insns = Buffer.alloc(8 * program.length);
    program.forEach((p, i) => {
      insns.writeUInt16LE(p.code, i * 8);
      insns.writeUInt8(p.jt, i * 8 + 2);
      insns.writeUInt8(p.jf, i * 8 + 3);
      insns.writeUInt32LE(p.k >>> 0, i * 8 + 4);
    });
    const fprog = Buffer.alloc(16);
    fprog.writeUInt16LE(program.length, 0);
    fprog.writeBigUInt64LE(this.c.address(insns), 8);
    if (this.c.setsockopt(this.fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog, 16) < 0) throw lastError(this.c, 'setsockopt', 'SO_ATTACH_FILTER', () => 'The kernel refused the classic BPF program');
    this.filterProgram = insns;
  }

  /** The filter program the kernel runs now (kept alive here), for tests. */
  get filterLength(): number {
    return this.filterProgram === undefined ? 0 : this.filterProgram.length / 8;
  }

  /**
   * Receives up to `batch` frames with one recvmmsg (MSG_DONTWAIT). Returns how many; frame i is
   * `rxBuffers[i]` up to `rxLengths[i]`, with `rxFlags[i]` from its PACKET_AUXDATA.
   */
  receive(max = this.batch): number {
    const c = this.c;
    const n = Math.min(max, this.batch);
    for (let i = 0; i < n; i++) {
      const m = i * MMSGHDR_LEN;
      // The kernel rewrites these per call.
      this.rxMsgs.writeBigUInt64LE(BigInt(CONTROL_LEN), m + MSGHDR_CONTROLLEN);
      this.rxMsgs.writeInt32LE(0, m + MSGHDR_FLAGS);
    }
    const got = c.recvmmsg(this.fd, this.rxMsgs, n, MSG_DONTWAIT, null);
    if (got < 0) {
      const e = c.errno();
      if (e === EAGAIN || e === EINTR) return 0;
      if (e === ENETDOWN) return 0;
      throw lastError(c, 'recvmmsg', `AF_PACKET fd ${this.fd}`);
    }
    for (let i = 0; i < got; i++) {
      const m = i * MMSGHDR_LEN;
      const len = this.rxMsgs.readUInt32LE(m + MMSG_LEN);
      const msgFlags = this.rxMsgs.readInt32LE(m + MSGHDR_FLAGS);
      let flags = msgFlags & MSG_TRUNC ? RxFlag.TRUNCATED : 0;
      this.rxLengths[i] = Math.min(len, this.frameSize);
      const controlLen = Number(this.rxMsgs.readBigUInt64LE(m + MSGHDR_CONTROLLEN));
      const cm = i * CONTROL_LEN;
      if (controlLen >= CMSG_DATA + 20 && this.rxControl.readInt32LE(cm + 8) === SOL_PACKET && this.rxControl.readInt32LE(cm + 12) === PACKET_AUXDATA) {
        const status = this.rxControl.readUInt32LE(cm + CMSG_DATA);
        if (status & TP_STATUS_CSUMNOTREADY) flags |= RxFlag.CSUM_NOT_READY;
        if (status & TP_STATUS_CSUM_VALID) flags |= RxFlag.CSUM_VALID;
        if (status & TP_STATUS_VLAN_VALID) {
          flags |= RxFlag.VLAN;
          this.rxVlanTci[i] = this.rxControl.readUInt16LE(cm + CMSG_DATA + 16);
          this.rxVlanTpid[i] = status & TP_STATUS_VLAN_TPID_VALID ? this.rxControl.readUInt16LE(cm + CMSG_DATA + 18) : 0x8100;
        }
      }
      this.rxFlags[i] = flags;
    }
    return got;
  }

  /** Copies a frame into the next send slot; a full batch is sent first. Frames over `frameSize` are dropped (counted). */
  queue(frame: Uint8Array): void {
    if (frame.length > this.frameSize) {
      this.txDropped++;
      return;
    }
    if (this.txCount === this.batch) this.flush();
    const i = this.txCount++;
    this.txBuffers[i].set(frame);
    this.txIov.writeBigUInt64LE(BigInt(frame.length), i * IOVEC_LEN + 8);
  }

  get queued(): number {
    return this.txCount;
  }

  /** Sends the queued frames with sendmmsg; frames the kernel cannot take now are dropped and counted, as a NIC's full ring does. */
  flush(): void {
    const c = this.c;
    let off = 0;
    while (off < this.txCount) {
      const sent = c.sendmmsg(this.fd, this.txMsgs.subarray(off * MMSGHDR_LEN), this.txCount - off, MSG_DONTWAIT);
      if (sent < 0) {
        const e = c.errno();
        if (e === EINTR) continue;
        if (e === EAGAIN || e === ENOBUFS || e === ENETDOWN) {
          this.txDropped += this.txCount - off;
          break;
        }
        this.txCount = 0;
        throw lastError(c, 'sendmmsg', `AF_PACKET fd ${this.fd}`);
      }
      if (sent === 0) {
        this.txDropped += this.txCount - off;
        break;
      }
      off += sent;
    }
    this.txCount = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.fd);
  }

  private setInt(level: number, name: number, value: number, what: string): void {
    if (!this.trySetInt(level, name, value)) throw lastError(this.c, 'setsockopt', what);
  }

  private trySetInt(level: number, name: number, value: number): boolean {
    const v = Buffer.alloc(4);
    v.writeInt32LE(value, 0);
    return this.c.setsockopt(this.fd, level, name, v, 4) >= 0;
  }
}
