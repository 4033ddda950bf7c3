// capture: the public surface — the NIC between a backend and the two stacks, the session that drives
// a capture, and its running statistics.
export { Nic, PacketTrace, type HostSide, type NicOptions, type StackPath, type TraceTransition } from './nic';
export type { BackendContext, BackendFactory, CaptureBackend, Driver, Pollable } from '../backends/backend';
export type { KernelPath, KernelPathContext, KernelPathFactory, KernelTrace } from '../kernel/path';
export { CaptureSession, BYPASS_TCP_CONFIG, HOST_ADDRESS, HOST_MAC, PEER_ADDRESS, PEER_MAC, type RunLimits, type SessionOptions, type StopReason } from './session';
export { CaptureStats, LatencyHistogram } from './stats';
