// The real-time driver's wait modes as the environment names them (BYPASS_SCOPE_DRIVER), and what a
// bad value says. The modes themselves run against a TAP in test/engine/native (native-cases.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { driverOptionsFromEnv } from '../../../engine/backends/realtime';

describe('realtime driver: BYPASS_SCOPE_DRIVER', () => {
  it('names a mode, and poll and spin may carry their busy-poll time in microseconds', () => {
    assert.deepEqual(driverOptionsFromEnv(undefined), {});
    assert.deepEqual(driverOptionsFromEnv(''), {});
    assert.deepEqual(driverOptionsFromEnv('sync'), { mode: 'sync' });
    assert.deepEqual(driverOptionsFromEnv('async'), { mode: 'async' });
    assert.deepEqual(driverOptionsFromEnv('spin'), { mode: 'spin' });
    assert.deepEqual(driverOptionsFromEnv('spin:200'), { mode: 'spin', spinUs: 200 });
    assert.deepEqual(driverOptionsFromEnv('poll'), { mode: 'poll' });
    assert.deepEqual(driverOptionsFromEnv('poll:80'), { mode: 'poll', spinUs: 80 });
  });

  it('refuses anything else, saying what it wants', () => {
    for (const bad of ['fast', 'sync:10', 'async:5', 'spin:', 'spin:x', 'poll:-1', 'SPIN']) {
      assert.throws(() => driverOptionsFromEnv(bad), /want async, sync, poll, poll:MICROSECONDS, spin or spin:MICROSECONDS/, `BYPASS_SCOPE_DRIVER=${bad}`);
    }
  });
});
