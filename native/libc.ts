// native: the C library through koffi — loaded lazily, once, on the first call of `libc()`; the
// function prototypes, the constants of the Linux x86_64/aarch64 ABI the backends use, and errno.
//
// Nothing outside native/ imports koffi. A missing or unloadable koffi is reported only when a
// native backend is asked for, as a NativeUnavailableError naming the cause.
import type { LibraryHandle } from 'koffi';

type Koffi = typeof import('koffi');
type KoffiFunction = ReturnType<LibraryHandle['func']>;

/** The bound libc functions; pointers to engine buffers are passed as Buffers/typed arrays (in place, no copy). */
export interface Libc {
  readonly koffi: Koffi;
  open: (path: string, flags: number, mode: number) => number;
  close: (fd: number) => number;
  read: (fd: number, buf: Uint8Array, n: number) => number;
  write: (fd: number, buf: Uint8Array, n: number) => number;
  ioctl: (fd: number, req: number, arg: Uint8Array) => number;
  /** ioctl with an integer argument passed by value (TUNSETOFFLOAD). */
  ioctlValue: (fd: number, req: number, arg: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Uint8Array, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Uint8Array, len: number) => number;
  getsockopt: (fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array) => number;
  recvmmsg: (fd: number, msgs: Uint8Array, vlen: number, flags: number, timeout: null) => number;
  sendmmsg: (fd: number, msgs: Uint8Array, vlen: number, flags: number) => number;
  epollCreate1: (flags: number) => number;
  epollCtl: (epfd: number, op: number, fd: number, ev: Uint8Array | null) => number;
  epollWait: KoffiFunction;
  /** epoll_pwait2 (Linux 5.11, glibc 2.35): a timeout with nanosecond resolution; undefined where libc lacks it. */
  epollPwait2: ((epfd: number, events: Uint8Array, maxevents: number, timeout: Uint8Array | null, sigmask: null) => number) | undefined;
  eventfd: (initval: number, flags: number) => number;
  /** Gives the CPU to another runnable thread, if one is waiting for it. */
  schedYield: () => number;
  /** getrusage(2); `who` RUSAGE_THREAD for the calling thread. */
  getrusage: (who: number, usage: Uint8Array) => number;
  setns: (fd: number, nstype: number) => number;
  ifNametoindex: (name: string) => number;
  strerror: (errnum: number) => string;
  errno: () => number;
  /** The address of an engine-owned buffer, to put into a C struct (iovec, sock_fprog). Keep the buffer referenced. */
  address: (buf: Uint8Array) => bigint;
}

/** koffi could not be loaded: only the native backends need it, and they say so. */
export class NativeUnavailableError extends Error {
  readonly code = 'ENATIVE';
  constructor(override readonly cause: unknown) {
    super(
      `native packet I/O is unavailable: the koffi package (3.3.4) could not be loaded (${(cause as Error)?.message ?? String(cause)}). ` +
        'Run `npm ci` in the extension folder on Linux x86_64 or arm64; the sim and pcap backends work without it.',
    );
  }
}

let loaded: Libc | undefined;
let failure: NativeUnavailableError | undefined;

/** The bindings, loaded on first use; throws NativeUnavailableError when koffi or libc cannot be loaded. */
export function libc(): Libc {
  if (loaded !== undefined) return loaded;
  if (failure !== undefined) throw failure;
  try {
    loaded = bind(require('koffi') as Koffi);
    return loaded;
  } catch (e) {
    failure = new NativeUnavailableError(e);
    throw failure;
  }
}

function bind(koffi: Koffi): Libc {
  if (process.platform !== 'linux') throw new Error(`native packet I/O needs Linux (this is ${process.platform})`);
  const lib: LibraryHandle = koffi.load('libc.so.6');
  const f = (proto: string) => lib.func(proto);
  // ioctl, fcntl and syscall are variadic in C; fixed prototypes are ABI-compatible on x86_64 and aarch64 glibc.
  return {
    koffi,
    open: f('int open(const char *path, int flags, int mode)'),
    close: f('int close(int fd)'),
    read: f('long read(int fd, void *buf, size_t n)'),
    write: f('long write(int fd, const void *buf, size_t n)'),
    ioctl: f('int ioctl(int fd, unsigned long req, void *arg)'),
    ioctlValue: f('int ioctl(int fd, unsigned long req, unsigned long arg)'),
    socket: f('int socket(int domain, int type, int protocol)'),
    bind: f('int bind(int fd, const void *addr, uint32_t len)'),
    listen: f('int listen(int fd, int backlog)'),
    setsockopt: f('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)'),
    getsockopt: f('int getsockopt(int fd, int level, int name, void *val, void *len)'),
    recvmmsg: f('int recvmmsg(int fd, void *msgs, unsigned int vlen, int flags, void *timeout)'),
    sendmmsg: f('int sendmmsg(int fd, void *msgs, unsigned int vlen, int flags)'),
    epollCreate1: f('int epoll_create1(int flags)'),
    epollCtl: f('int epoll_ctl(int epfd, int op, int fd, void *ev)'),
    epollWait: f('int epoll_wait(int epfd, void *events, int maxevents, int timeout)'),
    epollPwait2: optional(() => f('int epoll_pwait2(int epfd, void *events, int maxevents, const void *timeout, const void *sigmask)')),
    eventfd: f('int eventfd(unsigned int initval, int flags)'),
    schedYield: f('int sched_yield(void)'),
    getrusage: f('int getrusage(int who, void *usage)'),
    setns: f('int setns(int fd, int nstype)'),
    ifNametoindex: f('unsigned int if_nametoindex(const char *name)'),
    strerror: f('const char *strerror(int errnum)'),
    errno: () => koffi.errno(),
    address: (buf) => koffi.address(buf),
  };
}

/** A function libc may lack (an older glibc): undefined then. */
function optional<T>(bindIt: () => T): T | undefined {
  try {
    return bindIt();
  } catch {
    return undefined;
  }
}

// ───────────────────────── constants (Linux UAPI; identical on x86_64 and aarch64) ─────────────────────────

export const RUSAGE_THREAD = 1;

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOCK_CLOEXEC = O_CLOEXEC;

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const EACCES = 13;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENETDOWN = 100;
export const ENOBUFS = 105;

export const AF_INET = 2;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_ATTACH_FILTER = 26;
export const SO_RCVBUFFORCE = 33;
export const SO_SNDBUFFORCE = 32;
export const SO_REUSEADDR = 2;
export const SOL_PACKET = 263;
export const PACKET_ADD_MEMBERSHIP = 1;
export const PACKET_AUXDATA = 8;
export const PACKET_IGNORE_OUTGOING = 23;
export const PACKET_MR_PROMISC = 1;
export const ETH_P_ALL = 0x0003;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;

export const CLONE_NEWNET = 0x40000000;

export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLLIN = 0x001;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EFD_NONBLOCK = O_NONBLOCK;
export const EFD_CLOEXEC = O_CLOEXEC;

/** errno names for messages. */
const ERRNO_NAME: Readonly<Record<number, string>> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 9: 'EBADF', 11: 'EAGAIN', 13: 'EACCES', 16: 'EBUSY', 17: 'EEXIST',
  19: 'ENODEV', 22: 'EINVAL', 24: 'EMFILE', 90: 'EMSGSIZE', 93: 'EPROTONOSUPPORT', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL', 100: 'ENETDOWN', 101: 'ENETUNREACH', 105: 'ENOBUFS',
};

/** A failed system call: `syscall(what): CODE (strerror)`, with the errno, and advice when there is some. */
export class NativeError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    message: string,
  ) {
    super(message);
  }

  get code(): string {
    return ERRNO_NAME[this.errno] ?? `errno ${this.errno}`;
  }
}

/** The error of the last failed call, worded `syscall what: CODE (text)` plus `advice`. */
export function lastError(c: Libc, syscall: string, what: string, advice?: (errno: number) => string | undefined): NativeError {
  const errno = c.errno();
  const name = ERRNO_NAME[errno] ?? `errno ${errno}`;
  const tip = advice?.(errno);
  return new NativeError(syscall, errno, `${syscall} ${what}: ${name} (${c.strerror(errno)})${tip ? `. ${tip}` : ''}`);
}
