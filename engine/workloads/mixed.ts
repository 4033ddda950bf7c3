// workloads: mixed — the default scenario: several workloads at once, placed so that with
// examples/routing.bypass both paths carry traffic:
//   udp-feed  peer → host:20001/udp   market data, rule `udp and dst portrange 20000-20999` → bypass
//   http      peer → host:8080/tcp    rule `tcp port 8080` → bypass
//   rr        host → peer:9000/tcp    opened by the bypass stack: pinned to bypass
//   echo      peer → host:7/tcp       no rule: default → kernel
//   bulk      peer → host:5001/tcp    256 KiB, default → kernel
//   ping      peer → host             ICMP, default → kernel
import type { WorkloadHost, WorkloadRun } from './api';
import { bulk } from './bulk';
import { echo } from './echo';
import { http } from './http';
import { ping } from './ping';
import { rr } from './rr';
import { udpFeed } from './udp-feed';

/** Where workloads run in the sim topology: the host's two stacks and the wire-side peer. */
export interface ScenarioHosts {
  /** The host's userspace stack (198.18.0.2). */
  readonly bypass: WorkloadHost;
  /** The host's kernel (emulated in sim; 198.18.0.2 too). */
  readonly kernel: WorkloadHost;
  /** The remote hosts (198.18.0.1). */
  readonly peer: WorkloadHost;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  start(h: ScenarioHosts): WorkloadRun[];
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'mixed',
    description: 'udp-feed and http on bypass, rr opened by bypass, echo, bulk and ping on the kernel',
    start: (h) => [
      udpFeed(h.bypass, h.peer, { port: 20001, rate: 1000, messages: 500 }),
      http(h.bypass, h.peer, { port: 8080 }),
      rr(h.peer, h.bypass, { port: 9000, requests: 50 }),
      echo(h.kernel, h.peer, { port: 7, messages: 20 }),
      bulk(h.kernel, h.peer, { port: 5001, bytes: 256 * 1024 }),
      ping(h.kernel, h.peer, { count: 5 }),
    ],
  },
  { name: 'echo', description: 'TCP echo: peer → host:7 (kernel by default rules)', start: (h) => [echo(h.kernel, h.peer)] },
  { name: 'rr', description: '64-byte request/response: bypass stack → peer:9000', start: (h) => [rr(h.peer, h.bypass)] },
  { name: 'bulk', description: '1 MiB one way with SHA-256: peer → host:5001 (kernel)', start: (h) => [bulk(h.kernel, h.peer)] },
  { name: 'http', description: 'HTTP/1.1 keep-alive GETs: peer → host:8080 (bypass)', start: (h) => [http(h.bypass, h.peer)] },
  { name: 'udp-feed', description: 'UDP market data at 1000/s: peer → host:20001 (bypass)', start: (h) => [udpFeed(h.bypass, h.peer)] },
  { name: 'ping', description: 'ICMP echo: peer → host (kernel)', start: (h) => [ping(h.kernel, h.peer)] },
  { name: 'idle', description: 'no traffic (ARP announcements only)', start: () => [] },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
