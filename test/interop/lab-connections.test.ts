// 1,000 concurrent connections each way through the lab, opened, used and closed, with nothing
// leaked: the bypass stack's connections back to zero and every connection's flow gone from the flow table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labProblem, runCase } from './lab-support';

const skip = labProblem();

describe('lab: many connections', { skip }, () => {
  it('1,000 concurrent connections from Linux and 1,000 to Linux open, echo and close with nothing left', async () => {
    const r = await runCase<{
      linux: { echoed?: number; errors?: number };
      afterLinux: { accepted: number; peakServer: number };
      bypassClients: { established: number; echoed: number; errors: number; peakClient: number };
      stackConnections: number;
      connectionFlows: number;
      tcpFlowsLeft: number;
      leftovers: unknown[];
    }>('connections', { count: 1000 }, 200_000);
    assert.equal(r.linux.echoed, 1000, `Linux clients echoed: ${r.linux.echoed}, want 1000`);
    assert.equal(r.linux.errors, 0);
    assert.equal(r.afterLinux.accepted, 1000);
    assert.ok(r.afterLinux.peakServer >= 1000, `at most ${r.afterLinux.peakServer} server connections were open at once, want 1000 (concurrent)`);
    assert.equal(r.bypassClients.established, 1000);
    assert.equal(r.bypassClients.echoed, 1000);
    assert.equal(r.bypassClients.errors, 0);
    assert.ok(r.bypassClients.peakClient >= 1000, `at most ${r.bypassClients.peakClient} client connections were open at once, want 1000`);
    assert.equal(r.stackConnections, 0, `bypass stack connections left: ${r.stackConnections}, want 0`);
    assert.equal(r.connectionFlows, 2000, `flows the connections made: ${r.connectionFlows}, want 2000`);
    assert.equal(r.tcpFlowsLeft, 0, `connections' flows still in the flow table: ${r.tcpFlowsLeft}, want 0; the first of them: ${JSON.stringify(r.leftovers)}`);
  });
});
