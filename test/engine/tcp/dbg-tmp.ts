import { connect, createServer } from '../../../engine/stack/net';
import { addr, collect, net2, payload, sendAll } from '../stack/support';
async function main() {
  const loss = Number(process.argv[2] ?? 0.1);
  const { net, a, b } = net2([{ impair: { loss } }, {}], { latencyMs: 1, rateBps: 1e9 }, 20261124);
  let rcv: any;
  createServer(b, { allowHalfOpen: true }, (s) => { rcv = collect(s); }).listen(9000);
  const c = connect(a, { host: addr(b), port: 9000, allowHalfOpen: true });
  sendAll(c, payload(Number(process.argv[3] ?? 4) << 20, 1));
  await net.run(() => rcv?.ended() === true, 600000);
  console.log('done', net.now);
}
void main();
