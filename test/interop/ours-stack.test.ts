// bench/lab/ours-stack.ts, the "ours" stack program of the lab bench (lab-bench-interface.md): on a
// TAP made as the harness makes it, it answers ping and serves each role to Linux clients — sink
// (reads to EOF, then closes), source (sends exactly --bytes of the i mod 251 pattern), echo — and
// exits 0 on SIGTERM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { labProblem, runInNamespace } from './lab-support';

const skip = labProblem();

describe('bench/lab/ours-stack.ts', { skip }, () => {
  it('serves sink, source and echo to Linux clients over a TAP on the raw interface and on sockets, answers ping, exits 0 on SIGTERM', async () => {
    const r = await runInNamespace([process.execPath, '--import', 'tsx', join(__dirname, 'ours-stack-check.ts')], 120_000);
    const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    const parsed = JSON.parse(line ?? '{}') as { result?: Record<'raw' | 'socket', Record<string, Record<string, number>>>; error?: string };
    assert.ok(parsed.result, `the check failed: ${parsed.error ?? r.stdout}\n${r.stderr}`);
    for (const api of ['raw', 'socket'] as const) {
      const roles: Record<string, Record<string, number>> = parsed.result[api];
      const { sink, source, echo } = roles;
      for (const [role, x] of Object.entries(roles)) {
        assert.equal(x.ping, 2, `${api} ${role}: ping replies ${x.ping}, want 2`);
        assert.equal(x.exitOnTerm, 0, `${api} ${role}: exit status on SIGTERM ${x.exitOnTerm}, want 0`);
      }
      assert.equal(sink.bytes, 16 * 1024 * 1024, `${api} sink`);
      assert.equal(source.got, source.bytes, `${api}: source sent ${source.got} bytes, want exactly ${source.bytes}`);
      assert.equal(source.firstBadByte, -1, `${api}: source: byte ${source.firstBadByte} breaks the i mod 251 pattern`);
      assert.equal(echo.ok, echo.requests, `${api}: echo: ${echo.ok} of ${echo.requests} requests came back intact`);
    }
  });
});
