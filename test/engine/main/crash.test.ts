// engine/main: a crash inside the engine reaches the parent as an `error` and an `exit` reason, with
// every batch recorded before it intact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineClient } from '../../../engine/client';
import { StringTable, decodeBatch } from '../../../engine/trace/codec';
import { ENGINE, engine, packets, until } from './support';

describe('engine process: crashes', () => {
  for (const how of ['in-capture', 'exception', 'rejection'] as const) {
    it(`a crash (${how}) sends error and exit, exits non-zero, and every batch before it decodes intact`, async () => {
      const { client, got } = await engine();
      try {
        await client.start({ backend: 'sim', scenario: 'mixed' });
        await until('some packets', () => packets(got.records).length > 0);
        await client.request({ type: 'test:crash', how });
        const exit = await client.exited;
        assert.equal(exit.code, 1);
        const error = got.notes.find((n) => n.type === 'error');
        assert.ok(error !== undefined && error.type === 'error' && /test crash/.test(error.message) && /Error: test crash/.test(error.detail ?? ''), `got error ${JSON.stringify(error)}`);
        const want = { 'in-capture': /^capture failed: /, exception: /^uncaught exception: /, rejection: /^unhandled rejection: / }[how];
        assert.match(exit.reason ?? '', want);
        const last = got.notes.at(-1);
        assert.equal(last?.type, 'exit', 'exit is the last word');
        // Every batch arrived, in order, and decodes again from scratch.
        assert.deepEqual(got.batches.map((b) => b.seq), got.batches.map((_, i) => i + 1));
        const strings = new StringTable();
        let n = 0;
        for (const b of got.batches) decodeBatch(b, strings, () => n++);
        assert.equal(n, got.records.length);
        assert.ok(n > 0);
        await assert.rejects(client.stats(), /the engine is not running/);
      } finally {
        await client.dispose();
      }
    });
  }

  it('test commands are refused without the test-hooks environment variable', async () => {
    const env = { ...process.env };
    delete env.BYPASS_SCOPE_ENGINE_TEST_HOOKS;
    const client = await EngineClient.start({ enginePath: ENGINE, env });
    try {
      await assert.rejects(client.request({ type: 'test:crash', how: 'exception' }), /test commands need BYPASS_SCOPE_ENGINE_TEST_HOOKS=1/);
    } finally {
      const exit = await client.dispose();
      assert.equal(exit.code, 0, 'a disconnected engine exits cleanly');
    }
  });
});
