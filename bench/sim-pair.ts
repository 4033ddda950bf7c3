// bench: one TCP connection between the two stacks of a SimNetwork, on the stacks' own interface —
// what the sim benchmarks (sim-tcp, alloc) measure request/response and bulk over.
import type { SimNetwork } from '../engine/backends/sim-network';
import type { Ipv4Stack } from '../engine/stack/stack';
import type { TcpEntry, TcpOwner } from '../engine/stack/tcp-table';
import type { TcpListener } from '../engine/tcp/index';
import type { Socket } from '../engine/stack/net';

/** An application end of the connection: the stack's events go to it, and it learns its entry. */
export interface PairEnd extends TcpOwner {
  entry: TcpEntry | undefined;
}

/** Listens on b:5001 for `server`, connects `client` from a, and runs the network until both are established. */
export function openSimPair<C extends PairEnd, S extends PairEnd>(net: SimNetwork, a: Ipv4Stack, b: Ipv4Stack, client: C, server: S): { client: C; server: S } {
  const l = b.tcpListen(5001, 16, () => {
    const conn = (l as TcpListener).accept();
    if (conn === undefined) return;
    server.entry = b.tcpEntry(conn)!;
    server.entry.owner = server;
  });
  if (typeof l === 'string') throw new Error(l);
  const e = a.tcpConnect(b.address, 5001, client);
  if (typeof e === 'string') throw new Error(e);
  client.entry = e;
  net.runSync(Infinity, () => server.entry !== undefined && e.conn.state === 'ESTABLISHED');
  return { client, server };
}

/**
 * A request/response over an open pair: the client sends `bytes`, the server echoes as many bytes,
 * and each full echo back is one transaction; the client sends the next until `target`. Call
 * `serve` when the server's end is readable and `receive` when the client's is.
 */
export class SimEcho {
  done = 0;
  target = 0;
  private readonly msg: Uint8Array;
  private readonly buf = new Uint8Array(4096);
  private pendingReply = 0;
  private got = 0;

  constructor(
    private readonly a: Ipv4Stack,
    private readonly b: Ipv4Stack,
    private readonly client: PairEnd,
    private readonly server: PairEnd,
    bytes: number,
  ) {
    this.msg = new Uint8Array(bytes).fill(1);
  }

  /** Sends the first request of `n` more transactions. */
  start(n: number): void {
    this.target = this.done + n;
    this.client.entry!.conn.send(this.msg, this.a.now);
  }

  readonly serve = (): void => {
    const c = this.server.entry!.conn;
    for (let n = c.recvInto(this.buf); n > 0; n = c.recvInto(this.buf)) {
      this.pendingReply += n;
      while (this.pendingReply >= this.msg.length) {
        c.send(this.msg, this.b.now);
        this.pendingReply -= this.msg.length;
      }
    }
  };

  readonly receive = (): void => {
    const c = this.client.entry!.conn;
    for (let n = c.recvInto(this.buf); n > 0; n = c.recvInto(this.buf)) this.got += n;
    while (this.got >= this.msg.length) {
      this.got -= this.msg.length;
      this.done++;
      if (this.done < this.target) c.send(this.msg, this.a.now);
    }
  };
}

/** SimEcho over the Node-style sockets of engine/stack/net.ts: the client socket `c` of an echo server. */
export class SocketEcho {
  done = 0;
  target = 0;
  private readonly msg: Buffer;
  private got = 0;

  constructor(
    private readonly c: Socket,
    bytes: number,
  ) {
    this.msg = Buffer.alloc(bytes, 1);
    c.on('data', (d: Buffer) => {
      this.got += d.length;
      while (this.got >= this.msg.length) {
        this.got -= this.msg.length;
        this.done++;
        if (this.done < this.target) c.write(this.msg);
      }
    });
  }

  /** Sends the first request of `n` more transactions. */
  start(n: number): void {
    this.target = this.done + n;
    this.c.write(this.msg);
  }
}
