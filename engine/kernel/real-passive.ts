// kernel: the kernel path of the afpacket backend — the host's own kernel, which already receives
// every frame on the interface itself (an AF_PACKET socket sees copies; it takes nothing away). The
// rules' cBPF keeps kernel-path frames in the kernel, so few reach the engine; one that does (ARP
// that the rules leave to the kernel, say) is recorded as delivered to a kernel that has its own
// copy, and nothing is sent. What the kernel does with its frames is not observed here.
import type { Scheduler, WorkloadHost } from '../workloads/api';
import { ipv4ToString } from '../wire/address';
import { LinuxHost } from './real-host';
import type { KernelPath, KernelPathContext, KernelPathFactory } from './path';

export class PassiveKernelPath implements KernelPath {
  readonly name = "the host's kernel (it receives its own copy of every frame)";
  readonly hopKind = 'measured' as const;
  private hostOf: LinuxHost | undefined;

  constructor(private readonly ctx: KernelPathContext) {}

  get callbackRounds(): number {
    return this.hostOf?.callbackRounds ?? 0;
  }

  receive(): void {
    const id = this.ctx.packetIds.next();
    this.ctx.trace.hop(id, 'rx', 'kernel.driver', 'measured', 'deliver', 'the kernel has its own copy');
  }

  host(timers: Scheduler): WorkloadHost {
    return (this.hostOf ??= new LinuxHost({ name: 'kernel', address: ipv4ToString(this.ctx.address), timers }));
  }

  poll(): void {}

  pollAt(): number | undefined {
    return undefined;
  }

  close(): void {
    this.hostOf?.close();
  }
}

export function passiveKernel(): KernelPathFactory {
  return (ctx) => new PassiveKernelPath(ctx);
}
