// test/extension: a real capture for the store's tests — the built engine forked over IPC, as the
// extension forks it, running a sim scenario as fast as it can, losslessly; every batch and
// notification it sent, in order.
import { join } from 'node:path';
import { EngineClient } from '../../engine/client';
import type { EngineNotification, StartCapture } from '../../engine/protocol';
import type { ConnectionInfo, TraceBatch } from '../../engine/trace/schema';

export const root = join(__dirname, '..', '..');
export const ENGINE = join(root, 'out', 'engine', 'main.js');

export interface RecordedCapture {
  readonly batches: TraceBatch[];
  readonly connections: ConnectionInfo[];
  readonly notes: EngineNotification[];
}

export async function recordCapture(capture: Partial<StartCapture> = {}): Promise<RecordedCapture> {
  const client = await EngineClient.start({ enginePath: ENGINE });
  const got: RecordedCapture = { batches: [], connections: [], notes: [] };
  try {
    client.setTraceConsumer((b) => {
      got.batches.push(b);
    });
    const done = new Promise<void>((resolve) => {
      client.onNotification((n) => {
        got.notes.push(n);
        if (n.type === 'connection') got.connections.push(n.connection);
        if (n.type === 'state' && n.state === 'stopped') resolve();
      });
    });
    await client.start({ backend: 'sim', scenario: 'mixed', speed: 'max', lossless: true, ...capture });
    await done;
    return got;
  } finally {
    await client.dispose();
  }
}
