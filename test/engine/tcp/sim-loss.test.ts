// engine/tcp: a seeded transfer through the simulated network at 5% loss (both ways, on the
// sender's device), counting how the sender recovered: with SACK, RACK-TLP, PRR and the rescue
// retransmission find nearly every loss without a retransmission timeout. Counts, never times.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, createServer, type Socket } from '../../../engine/stack/net';
import type { TcpConfig, TcpConnection } from '../../../engine/tcp/index';
import { addr, collect, net2, payload, sendAll, sha256 } from '../stack/support';

const SIZE = 4 << 20;
const data = payload(SIZE, 101);

function connOf(s: Socket): TcpConnection {
  return (s as unknown as { entry: { conn: TcpConnection } }).entry.conn;
}

async function transfer(tcp: Partial<TcpConfig>): Promise<TcpConnection['stats']> {
  const { net, a, b } = net2([{ impair: { loss: 0.05 }, tcp }, { tcp }], { latencyMs: 1, rateBps: 1e9 }, 20261124);
  let received: ReturnType<typeof collect> | undefined;
  createServer(b, { allowHalfOpen: true }, (s) => (received = collect(s))).listen(9000);
  const c = connect(a, { host: addr(b), port: 9000, allowHalfOpen: true });
  let sender: TcpConnection | undefined;
  c.on('connect', () => (sender = connOf(c)));
  sendAll(c, data);
  const done = await net.run(() => received?.ended() === true, 600_000);
  assert.ok(done, `the transfer finished: got ${received?.bytes()} of ${SIZE} bytes`);
  assert.equal(received!.digest(), sha256(data), 'the bytes arrived intact');
  return { ...sender!.stats };
}

describe('a seeded 4 MiB transfer at 5% loss', () => {
  it('recovers with RACK-TLP and needs fewer retransmission timeouts than NewReno without SACK', async () => {
    const rack = await transfer({ sack: true });
    const newReno = await transfer({ sack: false });
    // Before RACK-TLP, this transfer with SACK took 4 RTOs; now at most the one the lost SYN needs.
    assert.ok(rack.rtoTimeouts <= 1, `RTOs with SACK: got ${rack.rtoTimeouts}, want at most 1 (stats ${JSON.stringify(rack)})`);
    assert.ok(rack.rtoTimeouts < newReno.rtoTimeouts, `RTOs: got ${rack.rtoTimeouts} with RACK-TLP, want fewer than NewReno's ${newReno.rtoTimeouts}`);
    assert.ok(rack.rackLost >= rack.retransmits - rack.lossProbes - rack.rescueRetransmits - rack.rtoTimeouts, `losses found by RACK: got ${rack.rackLost} for ${rack.retransmits} retransmissions`);
    assert.equal(newReno.rackLost + newReno.lossProbes, 0, 'without SACK neither RACK nor TLP runs');
  });
});
