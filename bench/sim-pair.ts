// bench: one TCP connection between the two stacks of a SimNetwork, on the stacks' own interface —
// what the sim benchmarks (sim-tcp, alloc) measure request/response and bulk over.
import type { SimNetwork } from '../engine/backends/sim-network';
import type { Ipv4Stack } from '../engine/stack/stack';
import type { TcpEntry, TcpOwner } from '../engine/stack/tcp-table';
import type { TcpListener } from '../engine/tcp/index';

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
