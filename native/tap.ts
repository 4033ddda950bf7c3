// native: TUN/TAP devices — attaching to an existing (persistent) TAP by name, or creating one where
// the process holds CAP_NET_ADMIN (inside a private user + network namespace), with O_NONBLOCK I/O.
// Owns `struct ifreq` and the TUNSETIFF ioctl; reads and writes go straight to engine-owned buffers.
import { EACCES, EAGAIN, EBUSY, EINVAL, EIO, ENOBUFS, ENOENT, ENXIO, EPERM, lastError, libc, O_CLOEXEC, O_NONBLOCK, O_RDWR, type Libc } from './libc';
import { interfaceIndex } from './iface';

const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
/** sizeof(struct ifreq): char ifr_name[16] and a 24-byte union (ifr_flags is its first short). */
const IFREQ_LEN = 40;
const IFNAMSIZ = 16;

export interface TapOpenOptions {
  /** Create the device if it does not exist (needs CAP_NET_ADMIN); by default only attach to an existing one. */
  readonly create?: boolean;
}

export interface TapHandle {
  readonly fd: number;
  /** The kernel's name for the device (what TUNSETIFF returned). */
  readonly name: string;
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
  ifr.writeInt16LE(IFF_TAP | IFF_NO_PI, IFNAMSIZ);
  if (c.ioctl(fd, TUNSETIFF, ifr) < 0) {
    const err = lastError(c, 'ioctl', `TUNSETIFF ${name}`, (e) => tapAdvice(name, exists, e));
    c.close(fd);
    throw err;
  }
  return { fd, name: ifr.toString('latin1', 0, IFNAMSIZ).replace(/\0.*$/s, '') };
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

  /** Reads one frame into `buf` (an engine buffer of at least MTU + 14 bytes). */
  readFrame(buf: Uint8Array): number {
    const n = this.c.read(this.fd, buf, buf.length);
    if (n >= 0) return n;
    const e = this.c.errno();
    if (e === EAGAIN) return 0;
    throw lastError(this.c, 'read', `tap fd ${this.fd}`);
  }

  /** Writes one frame; false when the device's queue is full (EAGAIN) or it is down (EIO), so the frame is dropped. */
  writeFrame(frame: Uint8Array): boolean {
    const n = this.c.write(this.fd, frame, frame.length);
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
