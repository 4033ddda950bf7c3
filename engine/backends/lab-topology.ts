// backends: the lab's network, built inside the engine's private network namespace (DESIGN.md "The
// lab topology"):
//
//   peer namespace (the wire)          engine process                 engine's namespace (the host)
//   198.18.0.1 on tap-wire  ◀── fd ──▶ NIC: steer ─┬─ bypass stack
//   Linux clients and servers                      └─ fd ──▶ tap-host: Linux, 198.18.0.2, the same MAC
//
// Both TAP devices are made by the engine (it holds their fds); tap-wire is created inside the peer
// namespace, which lives as long as a holder process (`unshare -n … cat`) whose stdin is a pipe from
// the engine: when the engine exits or crashes the pipe closes, the holder exits, and the namespace,
// its device and its addresses go with it. tap-host and the engine's namespace end with the engine.
// Nothing here runs outside a private namespace: `assertPrivateNamespace` refuses to.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NetNamespace } from '../../native/index';
import { ipv4ToString } from '../wire/address';
import { TapDevice } from './tap';

export interface LabAddresses {
  readonly hostAddress: number;
  readonly peerAddress: number;
  readonly prefixLength: number;
  readonly hostMac: Uint8Array;
  readonly peerMac: Uint8Array;
  /** MTU of both TAP devices (default 1500). */
  readonly mtu?: number;
  /**
   * Both TAPs with the virtio-net offloads (native/tap.ts): TSO/GSO super-frames and partial
   * checksums cross them as they would a NIC with offloads. Off unless asked (Lab.create asks by default).
   */
  readonly offloads?: boolean;
}

/** The environment variable a launcher sets for an engine it started in a fresh namespace. */
export const LAB_NAMESPACE_ENV = 'BYPASS_SCOPE_PRIVATE_NETNS';

/** The command that starts `argv` in a private user + network namespace (just a network namespace when root). */
export function privateNamespaceCommand(argv: readonly string[]): { command: string; args: string[] } {
  const root = process.getuid?.() === 0;
  return { command: 'unshare', args: [root ? '-n' : '-Urn', '--', ...argv] };
}

/** Interfaces of this network namespace, from /proc/self/net/dev (which, unlike sysfs, is per namespace). */
export function namespaceInterfaces(): string[] {
  const text = readFileSync('/proc/self/net/dev', 'utf8');
  return text
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0].trim())
    .filter((n) => n.length > 0);
}

/**
 * Refuses to build the lab in a namespace that has interfaces of its own besides loopback (the
 * host's network): the lab adds devices, addresses and routes, which belong in a namespace made for it.
 */
export function assertPrivateNamespace(ours: readonly string[] = []): void {
  const foreign = namespaceInterfaces().filter((n) => n !== 'lo' && !ours.includes(n));
  if (foreign.length > 0) {
    throw new Error(
      `the lab backend builds its network in a private network namespace, but this one has ${foreign.join(', ')}: ` +
        'start the engine with `unshare -Urn` (bypass-scope capture --backend lab and the extension do this themselves)',
    );
  }
}

export class LabTopology {
  /** The engine's side of tap-wire: frames to and from the wire (the peer namespace's kernel). */
  readonly wire: TapDevice;
  /** The engine's side of tap-host: frames to and from the host's kernel (this namespace). */
  readonly host: TapDevice;
  readonly peerNs: NetNamespace;
  private closed = false;

  private constructor(
    readonly addresses: LabAddresses,
    private readonly holder: ChildProcess,
    readonly peerPid: number,
    wire: TapDevice,
    host: TapDevice,
    peerNs: NetNamespace,
  ) {
    this.wire = wire;
    this.host = host;
    this.peerNs = peerNs;
  }

  /** Builds the lab: the peer namespace and its holder, both TAPs, addresses, MACs, links up. */
  static async create(addresses: LabAddresses, names: { wire?: string; host?: string } = {}): Promise<LabTopology> {
    const wireName = names.wire ?? 'tap-wire';
    const hostName = names.host ?? 'tap-host';
    const mtu = addresses.mtu ?? 1500;
    assertPrivateNamespace();
    const holder = spawn('unshare', ['-n', '--', 'sh', '-c', 'echo ready; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = await waitReady(holder);
    let peerNs: NetNamespace | undefined;
    let wire: TapDevice | undefined;
    let host: TapDevice | undefined;
    try {
      peerNs = NetNamespace.open(pid);
      const offloads = addresses.offloads === true;
      wire = new TapDevice(peerNs.createTap(wireName, { offloads }), mtu);
      host = TapDevice.open(hostName, { create: true, mtu, offloads });
      const prefix = addresses.prefixLength;
      linkUp(undefined, hostName, addresses.hostMac, ipv4ToString(addresses.hostAddress), prefix, mtu);
      linkUp(pid, wireName, addresses.peerMac, ipv4ToString(addresses.peerAddress), prefix, mtu);
      // The kernel drops what it sends on a link without carrier; carrier follows the link by a moment (linkwatch).
      await waitForCarrier(undefined, hostName);
      await waitForCarrier(pid, wireName);
      return new LabTopology(addresses, holder, pid, wire, host, peerNs);
    } catch (e) {
      wire?.close();
      host?.close();
      peerNs?.close();
      holder.kill('SIGKILL');
      throw e;
    }
  }

  /** `program args…` run in the peer namespace (through nsenter), for spawn. */
  peerCommand(program: string, args: readonly string[]): readonly [string, readonly string[]] {
    return ['nsenter', [`--net=/proc/${this.peerPid}/ns/net`, program, ...args]];
  }

  /** Tears the lab down: devices closed (they vanish), the holder ended (the peer namespace with it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wire.close();
    this.host.close();
    this.peerNs.close();
    this.holder.stdin?.end();
    this.holder.kill('SIGKILL');
  }
}

function mac(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** `argv` run in this namespace (pid undefined) or in the network namespace of process `pid`. */
function inNamespace(pid: number | undefined, argv: readonly string[]): string[] {
  return pid === undefined ? [...argv] : ['nsenter', `--net=/proc/${pid}/ns/net`, ...argv];
}

/**
 * Gives a lab link its MAC, MTU and address and brings it up, with IPv6 off first: no router
 * solicitations or MLD reports on the lab's wire.
 */
function linkUp(pid: number | undefined, dev: string, linkMac: Uint8Array, address: string, prefix: number, mtu: number): void {
  run(inNamespace(pid, ['sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${dev}/disable_ipv6`]));
  run(inNamespace(pid, ['ip', '-batch', '-']), `link set lo up
link set ${dev} address ${mac(linkMac)} mtu ${mtu}
addr add ${address}/${prefix} dev ${dev}
link set ${dev} up`);
}

function run(argv: readonly string[], input?: string): void {
  const r = spawnSync(argv[0], argv.slice(1), { input, encoding: 'utf8', timeout: 10_000 });
  if (r.error !== undefined) throw new Error(`${argv[0]}: ${r.error.message}${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? ` (install ${argv[0] === 'ip' ? 'iproute2' : 'util-linux'})` : ''}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
}

/** Waits (at most 3 s) until `dev` has carrier (LOWER_UP), in this namespace or the peer's. */
export async function waitForCarrier(pid: number | undefined, dev: string): Promise<void> {
  const argv = inNamespace(pid, ['ip', '-o', 'link', 'show', 'dev', dev]);
  for (let waited = 0; waited < 3000; waited += 20) {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
    if (/[<,]LOWER_UP[,>]/.test(r.stdout)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${dev} has no carrier after 3 s (\`ip link show ${dev}\`)`);
}

/** Resolves with the holder's pid once it has its own namespace (it printed `ready`). */
function waitReady(holder: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let err = '';
    let out = '';
    const timer = setTimeout(() => fail(new Error('the peer namespace holder did not start within 10 s')), 10_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      holder.kill('SIGKILL');
      reject(e);
    };
    holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    holder.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve(holder.pid!);
      }
    });
    holder.on('error', (e) => fail(new Error(`unshare: ${e.message} (install util-linux)`)));
    holder.on('exit', (code) => {
      if (!out.includes('ready')) fail(new Error(`unshare -n failed (${code}): ${err.trim() || 'no message'}; making a network namespace needs CAP_SYS_ADMIN: the engine must run inside \`unshare -Urn\``));
    });
  });
}
