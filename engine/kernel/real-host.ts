// kernel: workload hosts on real Linux sockets — Node's own `net` and `dgram` (the kernel's TCP/UDP),
// optionally in another network namespace (the lab's wire side), and the system's `ping`. Sockets of
// another namespace are made there by native/ (NetNamespace) and handed to Node by file descriptor,
// so the engine's event loop serves both namespaces.
//
// The engine-side host reports, on performance.now()'s clock (CLOCK_MONOTONIC), when bytes came out
// of each TCP socket (the read that returned them) and when the application handed bytes to it, and
// the same for UDP datagrams: the real kernel path (real.ts) turns these into measured socket hops.
import { performance } from 'node:perf_hooks'; // not the global: a lazy getter, a call per clock read
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { NetNamespace } from '../../native/index';
import type { DatagramSocket, NetApi, RemoteInfoLike, Scheduler, ServerLike, WorkloadHost } from '../workloads/api';
import { ipv4FromString } from '../wire/address';

/** A TCP connection as the kernel sees it (local = this host). */
export interface TcpEnds {
  readonly localPort: number;
  readonly remoteAddress: number;
  readonly remotePort: number;
}

/** What a reporting host tells about its sockets; times are performance.now() milliseconds. */
export interface SocketObserver {
  /** `total` bytes have now come out of the connection (a read returned the last of them). */
  tcpRead(ends: TcpEnds, total: number, atMs: number): void;
  /** The application has handed the connection `total` bytes in all (the last of them now). */
  tcpWrite(ends: TcpEnds, total: number, atMs: number): void;
  /** The connection is gone: forget it. */
  tcpClosed(ends: TcpEnds): void;
  udpRead(localPort: number, remoteAddress: number, remotePort: number, length: number, atMs: number): void;
  udpWrite(localPort: number, remoteAddress: number, remotePort: number, length: number, atMs: number): void;
}

export interface LinuxHostOptions {
  readonly name: string;
  /** The host's address (for workloads to connect to). */
  readonly address: string;
  readonly timers: Scheduler;
  /** Make sockets in this namespace instead of the engine's own. */
  readonly netns?: NetNamespace;
  /** How to run a program in the host's namespace (the wire side: through nsenter). */
  readonly command?: (program: string, args: readonly string[]) => readonly [string, readonly string[]];
  readonly observer?: SocketObserver;
}

/** A host whose TCP, UDP and ICMP are the Linux kernel's. */
export class LinuxHost implements WorkloadHost {
  readonly name: string;
  readonly address: string;
  readonly timers: Scheduler;
  readonly net: NetApi;
  /** Node callbacks of this host's sockets so far (a driver lets the event loop turn when it moves). */
  callbackRounds = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly servers = new Set<net.Server>();
  private readonly datagrams = new Set<dgram.Socket>();
  private readonly pings = new Set<ReturnType<typeof spawn>>();

  constructor(private readonly options: LinuxHostOptions) {
    this.name = options.name;
    this.address = options.address;
    this.timers = options.timers;
    this.net = {
      createServer: (onConnection) => this.createServer(onConnection),
      connect: (o, onConnect) => this.connect(o, onConnect),
      createSocket: () => this.createSocket(),
    };
  }

  /** Open sockets, servers and datagram sockets (for leak checks). */
  get openHandles(): number {
    return this.sockets.size + this.servers.size + this.datagrams.size;
  }

  private createServer(onConnection: (socket: Duplex) => void): ServerLike {
    const ns = this.options.netns;
    const server = net.createServer((s) => {
      this.callbackRounds++;
      this.track(s);
      onConnection(s);
    });
    this.servers.add(server);
    server.on('close', () => this.servers.delete(server));
    if (ns === undefined) return server;
    // Listen on a socket made in the other namespace.
    return {
      listen: (port: number, callback?: () => void) => {
        let fd: number;
        try {
          fd = ns.tcpListener(0, port);
        } catch (e) {
          process.nextTick(() => server.emit('error', e));
          return server;
        }
        return server.listen({ fd }, callback);
      },
      close: (callback) => server.close(callback),
      on: (event, listener) => server.on(event, listener),
    };
  }

  private connect(options: { host: string; port: number }, onConnect?: () => void): Duplex {
    const ns = this.options.netns;
    // A socket of the other namespace, unconnected; Node connects it (so 'connect' and errors are Node's own).
    // Linux's defaults (Nagle on), as the emulated kernel has them: the kernel path is what Linux does.
    const s = ns === undefined ? new net.Socket() : new net.Socket({ fd: ns.tcpSocket() });
    this.track(s);
    s.connect(options.port, options.host, () => {
      this.callbackRounds++;
      onConnect?.();
    });
    return s;
  }

  private createSocket(): DatagramSocket {
    const ns = this.options.netns;
    const sock = dgram.createSocket('udp4');
    this.datagrams.add(sock);
    sock.on('close', () => this.datagrams.delete(sock));
    const observer = this.options.observer;
    let bound = false;
    let localPort = 0;
    const bind = (port?: number, callback?: () => void): void => {
      bound = true;
      const done = (): void => {
        localPort = sock.address().port;
        callback?.();
      };
      if (ns === undefined) sock.bind(port ?? 0, done);
      else sock.bind({ fd: ns.udpSocket(0, port ?? 0) }, done);
    };
    if (observer !== undefined) {
      sock.on('message', (msg, rinfo) => observer.udpRead(localPort || sock.address().port, ipv4FromString(rinfo.address) ?? 0, rinfo.port, msg.length, performance.now()));
    }
    sock.on('message', () => this.callbackRounds++);
    const api: DatagramSocket = {
      bind: (port?: number, callback?: () => void) => {
        bind(port, callback);
        return api;
      },
      send: (msg: Uint8Array, port: number, address: string, callback?: (err: Error | null) => void) => {
        // An unbound socket would be bound by Node in the engine's own namespace: bind it here first.
        if (!bound) bind(0);
        const at = performance.now();
        sock.send(msg, port, address, (err) => {
          if (err === null && observer !== undefined) observer.udpWrite(localPort || sock.address().port, ipv4FromString(address) ?? 0, port, msg.length, at);
          callback?.(err);
        });
      },
      on: ((event: 'message' | 'error', listener: (...a: never[]) => void) => {
        if (event === 'message') sock.on('message', (msg: Buffer, rinfo: RemoteInfoLike) => (listener as (m: Buffer, r: RemoteInfoLike) => void)(msg, rinfo));
        else sock.on('error', listener as (e: Error) => void);
        return api;
      }) as DatagramSocket['on'],
      close: (callback?: () => void) => {
        sock.close(callback);
        return api;
      },
    };
    return api;
  }

  /** Watches a socket: its reads and writes go to the observer, its close to the leak count. */
  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => {
      this.sockets.delete(s);
      if (ends !== undefined) this.options.observer?.tcpClosed(ends);
    });
    s.on('data', () => this.callbackRounds++);
    const observer = this.options.observer;
    let ends: TcpEnds | undefined;
    if (observer === undefined) return;
    const endsOf = (): TcpEnds | undefined => {
      if (ends !== undefined) return ends;
      const remote = s.remoteAddress === undefined ? undefined : ipv4FromString(s.remoteAddress.replace(/^::ffff:/, ''));
      if (remote === undefined || s.localPort === undefined || s.remotePort === undefined) return undefined;
      ends = { localPort: s.localPort, remoteAddress: remote, remotePort: s.remotePort };
      return ends;
    };
    let read = 0;
    let written = 0;
    // Node's stream code calls `push` when a read() returned bytes: that is the socket's moment.
    const push = s.push.bind(s);
    s.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk !== null && chunk !== undefined) {
        read += (chunk as Uint8Array).length;
        const e = endsOf();
        if (e !== undefined) observer.tcpRead(e, read, performance.now());
      }
      return push(chunk, encoding);
    };
    const write = s.write.bind(s) as (chunk: unknown, ...rest: unknown[]) => boolean;
    s.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      if (chunk instanceof Uint8Array) written += chunk.length;
      else if (typeof chunk === 'string') written += Buffer.byteLength(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8');
      const e = endsOf();
      if (e !== undefined) observer.tcpWrite(e, written, performance.now());
      return write(chunk, ...rest);
    }) as net.Socket['write'];
  }

  /** ICMP echo with the system's ping, in this host's namespace: RTT in ms, or undefined on timeout. */
  ping(address: string, _sequence: number, timeoutMs: number, done: (rttMs: number | undefined) => void): void {
    const args = ['-n', '-q', '-c', '1', '-W', String(Math.max(1, Math.ceil(timeoutMs / 1000))), address];
    const [cmd, argv] = this.options.command?.('ping', args) ?? ['ping', args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.pings.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => {
      this.pings.delete(child);
      done(undefined);
    });
    child.on('close', () => {
      this.pings.delete(child);
      this.callbackRounds++;
      // "rtt min/avg/max/mdev = 0.043/0.043/0.043/0.000 ms"
      const m = /= ([\d.]+)\/([\d.]+)\//.exec(out);
      done(m === null ? undefined : Number(m[2]));
    });
  }

  /** Closes every socket, server and datagram socket this host made, and kills pings still running. */
  close(): void {
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) s.close();
    for (const d of this.datagrams) {
      try {
        d.close();
      } catch {
        // already closed
      }
    }
    for (const p of this.pings) p.kill('SIGKILL');
  }
}
