// workloads: the public surface — traffic that runs on either stack, and the named scenarios.
export * from './api';
export { echo, startEchoServer, type EchoOptions } from './echo';
export { rr, type RrOptions, type RrRun } from './rr';
export { bulk, type BulkOptions } from './bulk';
export { http, startHttpServer, type HttpOptions } from './http';
export { udpFeed, type UdpFeedOptions } from './udp-feed';
export { ping, type PingOptions } from './ping';
export { SCENARIOS, findScenario, type Scenario, type ScenarioHosts } from './mixed';
