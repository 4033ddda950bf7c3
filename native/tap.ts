// native: TUN/TAP devices — attaching to an existing (persistent) TAP by name, or creating one where
// the process holds CAP_NET_ADMIN (inside a private user + network namespace), with O_NONBLOCK I/O.
// Owns `struct ifreq`, the TUNSETIFF, TUNSETVNETHDRSZ and TUNSETOFFLOAD ioctls and `struct
// virtio_net_hdr`; reads and writes go straight to engine-owned buffers.
//
// Offloads (`offloads: true`), as QEMU and gVisor's netstack use them: IFF_VNET_HDR puts a 10-byte
// virtio_net_hdr before every frame in both directions, and TUNSETOFFLOAD (TUN_F_CSUM | TUN_F_TSO4 |
// TUN_F_TSO6) tells the kernel the reader copes with partial checksums and TSO. The kernel then
// hands the reader GSO super-frames of up to 64 KiB (one read for what would be ~45 frames), with
// NEEDS_CSUM (the checksum field holds only the pseudo-header sum: locally made, never on a wire)
// or DATA_VALID; and it takes written super-frames (gso_type TCPV4, gso_size = the MSS), which it
// delivers whole to a local socket or segments on the way out, and checksums left to it.
import { EACCES, EAGAIN, EBUSY, EINVAL, EIO, ENOBUFS, ENOENT, ENXIO, EPERM, lastError, libc, O_CLOEXEC, O_NONBLOCK, O_RDWR, type Libc } from './libc';
import { interfaceIndex } from './iface';

const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const TUNSETVNETHDRSZ = 0x400454d8;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;

/** sizeof(struct virtio_net_hdr) (legacy layout, no num_buffers): what precedes every frame on a TAP with IFF_VNET_HDR. */
export const VNET_HDR_LEN = 10;

/** virtio_net_hdr.flags (include/uapi/linux/virtio_net.h). */
export const VnetFlag = {
  /** The checksum at csum_start + csum_offset is partial: the pseudo-header sum, for the device to complete. */
  NEEDS_CSUM: 1,
  /** The checksum was checked (or need not be). */
  DATA_VALID: 2,
} as const;

/** virtio_net_hdr.gso_type. */
export const VnetGso = { NONE: 0, TCPV4: 1, UDP: 3, TCPV6: 4, ECN: 0x80 } as const;

/**
 * One virtio_net_hdr, decoded: `u8 flags, u8 gso_type, le16 hdr_len, le16 gso_size, le16
 * csum_start, le16 csum_offset` (little-endian: TUN's virtio16 is the host's order, and x86_64 and
 * aarch64 Linux are little-endian).
 */
export interface VnetHeader {
  flags: number;
  gsoType: number;
  /** Bytes of headers (Ethernet, IP, TCP) before the payload a GSO frame's segments share. */
  hdrLen: number;
  /** Payload bytes per segment of a GSO frame. */
  gsoSize: number;
  /** Where the checksummed range starts, from the start of the frame (the Ethernet header). */
  csumStart: number;
  /** Where the checksum field is, from csumStart. */
  csumOffset: number;
}

export function emptyVnetHeader(): VnetHeader {
  return { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
}

/** Decodes the header at `buf[off]` into `into` (reused per frame: no allocation). */
export function readVnetHeader(buf: Uint8Array, off: number, into: VnetHeader): void {
  into.flags = buf[off];
  into.gsoType = buf[off + 1];
  into.hdrLen = buf[off + 2] | (buf[off + 3] << 8);
  into.gsoSize = buf[off + 4] | (buf[off + 5] << 8);
  into.csumStart = buf[off + 6] | (buf[off + 7] << 8);
  into.csumOffset = buf[off + 8] | (buf[off + 9] << 8);
}

/** Writes `h` at `buf[off .. off + VNET_HDR_LEN)`. */
export function writeVnetHeader(buf: Uint8Array, off: number, h: VnetHeader): void {
  buf[off] = h.flags;
  buf[off + 1] = h.gsoType;
  buf[off + 2] = h.hdrLen & 0xff;
  buf[off + 3] = h.hdrLen >>> 8;
  buf[off + 4] = h.gsoSize & 0xff;
  buf[off + 5] = h.gsoSize >>> 8;
  buf[off + 6] = h.csumStart & 0xff;
  buf[off + 7] = h.csumStart >>> 8;
  buf[off + 8] = h.csumOffset & 0xff;
  buf[off + 9] = h.csumOffset >>> 8;
}
/** sizeof(struct ifreq): char ifr_name[16] and a 24-byte union (ifr_flags is its first short). */
const IFREQ_LEN = 40;
const IFNAMSIZ = 16;

export interface TapOpenOptions {
  /** Create the device if it does not exist (needs CAP_NET_ADMIN); by default only attach to an existing one. */
  readonly create?: boolean;
  /** A virtio_net_hdr before every frame, with checksum offload and TSO/GSO both ways (see above). */
  readonly offloads?: boolean;
}

export interface TapHandle {
  readonly fd: number;
  /** The kernel's name for the device (what TUNSETIFF returned). */
  readonly name: string;
  /** Every frame read or written starts with a VNET_HDR_LEN-byte virtio_net_hdr. */
  readonly vnetHeader: boolean;
}

/** How to make a TAP device that `user` may attach to without privileges. */
export function tapCreateCommand(name: string): string {
  return `sudo ip tuntap add dev ${name} mode tap user ${process.env.USER ?? '$USER'} && sudo ip link set ${name} up`;
}

/** Opens /dev/net/tun and attaches it to TAP `name` (IFF_TAP | IFF_NO_PI), non-blocking and close-on-exec. */
export function openTap(name: string, options: TapOpenOptions = {}): TapHandle {
  const c = libc();
  if (Buffer.byteLength(name) >= IFNAMSIZ || name.length === 0 || /[/\s]/.test(name)) throw new Error(`'${name}' is not a valid interface name (1–15 characters, no '/' or spaces)`);
  const exists = interfaceIndex(name) !== 0;
  if (!options.create && !exists) throw new Error(`no network device '${name}' in this network namespace: create it once with \`${tapCreateCommand(name)}\``);
  const fd = c.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    throw lastError(c, 'open', '/dev/net/tun', (e) =>
      e === ENOENT || e === ENXIO ? 'This kernel has no TUN/TAP driver loaded: `sudo modprobe tun`' : e === EACCES ? '/dev/net/tun must be readable and writable by you (it is mode 0666 on most systems)' : undefined,
    );
  }
  const ifr = Buffer.alloc(IFREQ_LEN);
  ifr.write(name, 0, 'latin1');
  const vnet = options.offloads === true;
  ifr.writeInt16LE(IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0), IFNAMSIZ);
  if (c.ioctl(fd, TUNSETIFF, ifr) < 0) {
    const err = lastError(c, 'ioctl', `TUNSETIFF ${name}`, (e) => tapAdvice(name, exists, e));
    c.close(fd);
    throw err;
  }
  if (vnet) {
    const size = Buffer.alloc(4);
    size.writeInt32LE(VNET_HDR_LEN, 0);
    // The offloads the reader accepts: the kernel then sends it partial checksums and TSO frames.
    const failed =
      c.ioctl(fd, TUNSETVNETHDRSZ, size) < 0 ? 'TUNSETVNETHDRSZ' : c.ioctlValue(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0 ? 'TUNSETOFFLOAD' : undefined;
    if (failed !== undefined) {
      const err = lastError(c, 'ioctl', `${failed} ${name}`, () => 'this kernel does not offer TAP offloads: open the device without them');
      c.close(fd);
      throw err;
    }
  }
  return { fd, name: ifr.toString('latin1', 0, IFNAMSIZ).replace(/\0.*$/s, ''), vnetHeader: vnet };
}

function tapAdvice(name: string, exists: boolean, errno: number): string | undefined {
  if (errno === EPERM) {
    if (!exists) return `Creating a TAP device needs CAP_NET_ADMIN: run inside \`unshare -Urn\`, or create the device once with \`${tapCreateCommand(name)}\``;
    return `'${name}' belongs to another user (see \`ip -d link show ${name}\`: tun … user/group), not to uid ${process.getuid?.()}: recreate it with \`sudo ip tuntap del dev ${name} mode tap && ${tapCreateCommand(name)}\``;
  }
  if (errno === EBUSY) return `'${name}' is already attached by another process (a TAP without multi_queue has one reader)`;
  if (errno === EINVAL) return `'${name}' is not a TAP device, or was made with other flags (it must be \`mode tap\` without multi_queue or vnet_hdr)`;
  return undefined;
}

/**
 * Non-blocking frame I/O on a TAP fd. One frame per read() or write(): TAP cannot batch. Returns the
 * frame length, 0 when nothing is waiting (EAGAIN); throws a NativeError on any other failure.
 */
export class TapIo {
  private readonly c: Libc;

  constructor(readonly fd: number) {
    this.c = libc();
  }

  /** Reads one frame (after its virtio_net_hdr, with offloads) into `buf` (an engine buffer of at least MTU + 14 bytes; 64 KiB + 24 with offloads). */
  readFrame(buf: Uint8Array): number {
    const n = this.c.read(this.fd, buf, buf.length);
    if (n >= 0) return n;
    const e = this.c.errno();
    if (e === EAGAIN) return 0;
    throw lastError(this.c, 'read', `tap fd ${this.fd}`);
  }

  /** Writes one frame (after its virtio_net_hdr, with offloads); false when the device's queue is full (EAGAIN) or it is down (EIO), so the frame is dropped. */
  writeFrame(frame: Uint8Array, len = frame.length): boolean {
    const n = this.c.write(this.fd, frame, len);
    if (n >= 0) return true;
    const e = this.c.errno();
    // EIO: the interface is down (carrier off); EAGAIN/ENOBUFS: its queue is full. A NIC drops then too.
    if (e === EAGAIN || e === EIO || e === ENOBUFS) return false;
    throw lastError(this.c, 'write', `tap fd ${this.fd}`);
  }

  close(): void {
    this.c.close(this.fd);
  }
}
