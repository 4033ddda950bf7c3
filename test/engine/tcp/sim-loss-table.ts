// test tool for engine/tcp: the goodput-versus-loss table of the simulated network, one direction at a
// time, with the sender's loss-recovery counters (RTOs, fast recoveries, loss probes). Not a test:
// a measurement that prints one JSON line per row.
//   npx tsx test/engine/tcp/sim-loss-table.ts [MiB]
// The wire and seed are those of test/engine/stack/integrity.test.ts (1 Gbit/s, 1 ms each way, the
// impairments on host a's device both ways).
import { connect, createServer, type Socket } from '../../../engine/stack/net';
import type { TcpConnection } from '../../../engine/tcp/index';
import { addr, collect, net2, payload, sendAll } from '../stack/support';

const MiB = Number(process.argv[2] ?? 16);
const SIZE = MiB << 20;
const data = payload(SIZE, 101);

function connOf(s: Socket): TcpConnection {
  return (s as unknown as { entry: { conn: TcpConnection } }).entry.conn;
}

async function oneWay(loss: number, direction: 'a→b' | 'b→a'): Promise<Record<string, unknown>> {
  const { net, a, b } = net2([{ impair: { loss } }, {}], { latencyMs: 1, rateBps: 1e9 }, 20261124);
  let received: ReturnType<typeof collect> | undefined;
  let sender: TcpConnection | undefined;
  createServer(b, { allowHalfOpen: true }, (s) => {
    if (direction === 'b→a') {
      sender = connOf(s);
      sendAll(s, data);
    } else received = collect(s);
  }).listen(9000);
  const c = connect(a, { host: addr(b), port: 9000, allowHalfOpen: true });
  if (direction === 'a→b') {
    c.on('connect', () => (sender = connOf(c)));
    sendAll(c, data);
  } else {
    received = collect(c);
    c.end();
  }
  const done = await net.run(() => received?.ended() === true, 600_000);
  const st = sender?.stats;
  return {
    direction,
    loss,
    done,
    bytes: received?.bytes(),
    virtualMs: Math.round(net.now),
    goodputMbit: Math.round(((SIZE * 8) / net.now / 1000) * 10) / 10,
    ...st,
  };
}

async function main(): Promise<void> {
  for (const direction of ['a→b', 'b→a'] as const) {
    for (const loss of [0, 0.01, 0.05, 0.1]) console.log(JSON.stringify(await oneWay(loss, direction)));
  }
}

void main();
