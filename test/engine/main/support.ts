// test support for engine/main: an engine process forked from the built bundle, with a client that
// collects and decodes everything it streams.
import { join } from 'node:path';
import { EngineClient } from '../../../engine/client';
import type { EngineNotification } from '../../../engine/protocol';
import { StringTable, decodeBatch } from '../../../engine/trace/codec';
import type { PacketRecord, TraceBatch, TraceRecord, TransitionRecord } from '../../../engine/trace/schema';

export const root = join(__dirname, '..', '..', '..');
export const ENGINE = join(root, 'out', 'engine', 'main.js');

export interface Collected {
  readonly notes: EngineNotification[];
  readonly batches: TraceBatch[];
  readonly records: TraceRecord[];
  /** Sum of the batches' `dropped`. */
  dropped: number;
}

/** Forks the built engine (with the test hooks on) and collects its notifications and decoded records. */
export async function engine(options: { consumerDelayMs?: number } = {}): Promise<{ client: EngineClient; got: Collected }> {
  const client = await EngineClient.start({ enginePath: ENGINE, env: { ...process.env, BYPASS_SCOPE_ENGINE_TEST_HOOKS: '1' } });
  const got: Collected = { notes: [], batches: [], records: [], dropped: 0 };
  const strings = new StringTable();
  client.onNotification((n) => got.notes.push(n));
  client.setTraceConsumer(async (batch) => {
    got.batches.push(batch);
    got.dropped += batch.dropped;
    decodeBatch(batch, strings, (r) => got.records.push(r));
    if (options.consumerDelayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.consumerDelayMs));
  });
  return { client, got };
}

/** Resolves with the first notification (already received or still to come) that `match` accepts. */
export function waitFor<T extends EngineNotification>(client: EngineClient, got: Collected, match: (n: EngineNotification) => n is T, timeoutMs = 20_000): Promise<T> {
  const seen = got.notes.find(match);
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching notification within ${timeoutMs} ms; got types ${[...new Set(got.notes.map((n) => n.type))].join(', ')}`));
    }, timeoutMs);
    const off = client.onNotification((n) => {
      if (!match(n)) return;
      clearTimeout(timer);
      off();
      resolve(n);
    });
  });
}

export type StateNote = Extract<EngineNotification, { type: 'state' }>;

export function stopped(n: EngineNotification): n is StateNote {
  return n.type === 'state' && n.state === 'stopped';
}

export function packets(records: readonly TraceRecord[]): PacketRecord[] {
  return records.filter((r): r is PacketRecord => r.type === 'packet');
}

export function transitions(records: readonly TraceRecord[]): TransitionRecord[] {
  return records.filter((r): r is TransitionRecord => r.type === 'transition');
}

/** Waits until `cond` holds, polling; fails after `timeoutMs` saying what it waited for. */
export async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
