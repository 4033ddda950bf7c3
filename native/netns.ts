// native: network namespaces — entering another namespace on the main thread just long enough to
// create a file descriptor there (a socket, a TAP), then coming back. A socket and a TAP belong to the
// namespace they were made in for their whole life, so the engine can hold sockets of a peer
// namespace while it stays in its own. Owns struct sockaddr_in.
import { AF_INET, CLONE_NEWNET, EPERM, lastError, libc, O_CLOEXEC, O_RDONLY, SO_REUSEADDR, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, type Libc } from './libc';
import { openTap, type TapHandle } from './tap';

let ownNs: number | undefined;

/** The namespace this thread started in (opened once, before any setns). */
function ownNamespace(c: Libc): number {
  if (ownNs === undefined) {
    const fd = c.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) throw lastError(c, 'open', '/proc/thread-self/ns/net');
    ownNs = fd;
  }
  return ownNs;
}

/** A network namespace held open by fd (from /proc/PID/ns/net), for `inNamespace`. */
export class NetNamespace {
  private closed = false;

  private constructor(readonly fd: number, readonly path: string) {}

  /** Opens the namespace of process `pid` (or a path such as /run/netns/NAME). */
  static open(pidOrPath: number | string): NetNamespace {
    const c = libc();
    ownNamespace(c);
    const path = typeof pidOrPath === 'number' ? `/proc/${pidOrPath}/ns/net` : pidOrPath;
    const fd = c.open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) throw lastError(c, 'open', path);
    return new NetNamespace(fd, path);
  }

  /**
   * Runs `fn` with this thread in the namespace, then returns to its own. `fn` must be synchronous
   * and must not spawn processes or start Node I/O that creates fds later (those would land here).
   */
  run<T>(fn: () => T): T {
    const c = libc();
    const home = ownNamespace(c);
    if (this.closed) throw new Error(`namespace ${this.path} is closed`);
    if (c.setns(this.fd, CLONE_NEWNET) < 0) throw lastError(c, 'setns', this.path, (e) => (e === EPERM ? 'Entering a network namespace needs CAP_SYS_ADMIN over it (the engine runs inside its own `unshare -Urn`)' : undefined));
    try {
      return fn();
    } finally {
      if (c.setns(home, CLONE_NEWNET) < 0) {
        // Staying in the wrong namespace would put every later socket there: nothing sane can follow.
        process.stderr.write(`fatal: cannot return to the engine's network namespace: errno ${c.errno()}\n`);
        process.exit(70);
      }
    }
  }

  /** Creates TAP `name` in this namespace (the engine keeps the fd; the device lives here). */
  createTap(name: string, options: { offloads?: boolean } = {}): TapHandle {
    return this.run(() => openTap(name, { create: true, offloads: options.offloads }));
  }

  /** A TCP socket in this namespace, bound to `address:port` (port 0: any) and listening: for `net.Server.listen({ fd })`. */
  tcpListener(address: number, port: number, backlog = 511): number {
    const c = libc();
    const fd = this.run(() => c.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd < 0) throw lastError(c, 'socket', 'AF_INET stream');
    try {
      setReuseAddr(c, fd);
      bindInet(c, fd, address, port);
      if (c.listen(fd, backlog) < 0) throw lastError(c, 'listen', `port ${port}`);
    } catch (e) {
      c.close(fd);
      throw e;
    }
    return fd;
  }

  /** An unconnected TCP socket in this namespace: `new net.Socket({ fd }).connect(...)` connects it from here. */
  tcpSocket(): number {
    const c = libc();
    const fd = this.run(() => c.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd < 0) throw lastError(c, 'socket', 'AF_INET stream');
    return fd;
  }

  /** A UDP socket in this namespace, bound to `address:port`: for `dgram` `bind({ fd })`. */
  udpSocket(address: number, port: number): number {
    const c = libc();
    const fd = this.run(() => c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd < 0) throw lastError(c, 'socket', 'AF_INET datagram');
    try {
      bindInet(c, fd, address, port);
    } catch (e) {
      c.close(fd);
      throw e;
    }
    return fd;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
  }
}

function setReuseAddr(c: Libc, fd: number): void {
  const one = Buffer.alloc(4);
  one.writeInt32LE(1, 0);
  c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4);
}

/** bind(2) with a struct sockaddr_in (family, port and address in network order). */
function bindInet(c: Libc, fd: number, address: number, port: number): void {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  sa.writeUInt32BE(address >>> 0, 4);
  if (c.bind(fd, sa, 16) < 0) throw lastError(c, 'bind', `${[24, 16, 8, 0].map((s) => (address >>> s) & 255).join('.')}:${port}`);
}

/** Closes an fd made here that was never handed to Node. */
export function closeFd(fd: number): void {
  libc().close(fd);
}
