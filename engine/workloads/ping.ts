// workloads: ping — ICMP echo requests at an interval (RFC 792), RTTs recorded; a request with no
// reply by its timeout counts as lost.
import { percentile, RunState, type WorkloadHost, type WorkloadRun } from './api';

export interface PingOptions {
  readonly count?: number;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

export function ping(target: WorkloadHost, from: WorkloadHost, options: PingOptions = {}): WorkloadRun {
  const count = options.count ?? 5;
  const interval = options.intervalMs ?? 100;
  const timeout = options.timeoutMs ?? 1000;
  const rtts: number[] = [];
  let answered = 0;
  let lost = 0;
  const run = new RunState('ping', () => `${rtts.length}/${count} replies, ${lost} lost, RTT p50 ${rtts.length === 0 ? '-' : `${percentile(rtts, 0.5).toFixed(3)} ms`} (${from.name} → ${target.address})`);
  if (from.ping === undefined) {
    run.fail(`ping: ${from.name} cannot ping`);
    run.finish(false);
    return run;
  }
  const pinger = from.ping.bind(from);
  let seq = 0;
  const next = (): void => {
    const s = ++seq;
    pinger(target.address, s, timeout, (rtt) => {
      answered++;
      if (rtt === undefined) lost++;
      else rtts.push(rtt);
      if (answered === count) run.finish(rtts.length > 0);
    });
    if (seq < count) from.timers.setTimeout(next, interval);
  };
  from.timers.setTimeout(next, 0);
  return run;
}
