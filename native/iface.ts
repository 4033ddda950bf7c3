// native: what an interface is, asked of the kernel in the caller's network namespace (sysfs shows
// the namespace that mounted it, which inside `unshare -n` is not ours) — index, MTU and MAC through
// if_nametoindex and the SIOCGIFMTU/SIOCGIFHWADDR ioctls on a datagram socket. Owns struct ifreq's
// ifr_mtu and ifr_hwaddr members. Needs no privilege.
import { AF_INET, lastError, libc, SOCK_CLOEXEC, SOCK_DGRAM, type Libc } from './libc';

const SIOCGIFMTU = 0x8921;
const SIOCGIFHWADDR = 0x8927;
const IFREQ_LEN = 40;
const IFNAMSIZ = 16;

/** The interface's index, or 0 when there is no such interface here. */
export function interfaceIndex(name: string): number {
  return libc().ifNametoindex(name);
}

function ifreqIoctl(c: Libc, name: string, req: number): Buffer | undefined {
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw lastError(c, 'socket', 'AF_INET datagram');
  try {
    const ifr = Buffer.alloc(IFREQ_LEN);
    ifr.write(name.slice(0, IFNAMSIZ - 1), 0, 'latin1');
    return c.ioctl(fd, req, ifr) < 0 ? undefined : ifr;
  } finally {
    c.close(fd);
  }
}

/** The interface's MTU, or undefined when there is no such interface here. */
export function interfaceMtu(name: string): number | undefined {
  return ifreqIoctl(libc(), name, SIOCGIFMTU)?.readInt32LE(IFNAMSIZ);
}

/** The interface's hardware address (ifr_hwaddr.sa_data), or undefined. */
export function interfaceMac(name: string): Uint8Array | undefined {
  const ifr = ifreqIoctl(libc(), name, SIOCGIFHWADDR);
  return ifr === undefined ? undefined : Uint8Array.from(ifr.subarray(IFNAMSIZ + 2, IFNAMSIZ + 8));
}
