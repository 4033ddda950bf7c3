// workloads: udp-feed — a rate-controlled UDP stream ("market data"): numbered messages at a fixed
// rate to one port; the receiver checks each message's content and counts gaps, duplicates and
// reordering (UDP may lose; a message that arrives must be intact).
import { pattern, RunState, type WorkloadHost, type WorkloadRun } from './api';

export interface UdpFeedOptions {
  readonly port?: number;
  /** Messages per second. */
  readonly rate?: number;
  readonly messages?: number;
  readonly size?: number;
}

export function udpFeed(receiver: WorkloadHost, sender: WorkloadHost, options: UdpFeedOptions = {}): WorkloadRun {
  const port = options.port ?? 20001;
  const rate = options.rate ?? 1000;
  const count = options.messages ?? 500;
  const size = Math.max(8, options.size ?? 64);
  const seen = new Uint8Array(count);
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let highest = -1;
  let sent = 0;
  const run = new RunState('udp-feed', () => {
    const lost = sent - received;
    return `${received}/${count} messages at ${rate}/s, ${lost} lost, ${outOfOrder} out of order, ${duplicates} duplicates (${sender.name} → ${receiver.name}:${port})`;
  });
  const body = pattern(size, 20001);
  const rx = receiver.net.createSocket('udp4');
  rx.on('error', (e) => run.fail(`udp-feed receiver: ${e.message}`));
  rx.on('message', (msg) => {
    const seq = msg.length >= 4 ? msg.readUInt32BE(0) : -1;
    if (seq < 0 || seq >= count || msg.length !== size || !msg.subarray(4).equals(body.subarray(4))) return run.fail(`udp-feed: message ${seq} malformed`);
    if (seen[seq]) {
      duplicates++;
      return;
    }
    seen[seq] = 1;
    received++;
    if (seq < highest) outOfOrder++;
    else highest = seq;
  });
  rx.bind(port);
  const tx = sender.net.createSocket('udp4');
  tx.on('error', (e) => run.fail(`udp-feed sender: ${e.message}`));
  const gap = 1000 / rate;
  const start = sender.timers.now();
  const tick = (): void => {
    // Catch up to the schedule: every message whose time has come goes now.
    const due = Math.min(count, Math.floor((sender.timers.now() - start) / gap) + 1);
    while (sent < due) {
      const m = Buffer.from(body);
      m.writeUInt32BE(sent, 0);
      tx.send(m, port, receiver.address);
      sent++;
    }
    if (sent < count) sender.timers.setTimeout(tick, gap);
    // The last message gets 100 ms to arrive before the feed is judged.
    else sender.timers.setTimeout(() => run.finish(received > 0), 100);
  };
  sender.timers.setTimeout(tick, 0);
  return run;
}
