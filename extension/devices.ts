// extension: the network devices Start Capture offers — the TAP devices the user owns (tap) and the
// interfaces with their IPv4 addresses (afpacket), in VS Code's network namespace or a named one,
// read from `ip -json -details` — whether the user may open them, and an address for the bypass
// stack on an interface's network.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { networkInterfaces, userInfo } from 'node:os';

export interface NetDevice {
  readonly name: string;
  /** tap (a TAP device), tun, veth, ether… as `ip` says (`device` when it cannot be told). */
  readonly kind: string;
  /** IPv4 addresses with prefix, `198.18.0.1/24`. */
  readonly addresses: readonly string[];
  readonly up: boolean;
  /** TAP devices: the owner's name or uid, when the device has one. */
  readonly owner: string | undefined;
}

interface IpLink {
  ifname?: string;
  flags?: string[];
  link_type?: string;
  linkinfo?: { info_kind?: string; info_data?: { type?: string; user?: string | number } };
}

interface IpAddr {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

function ipJson<T>(args: string[], netns: string | undefined): T[] | undefined {
  const r = spawnSync('ip', [...(netns ? ['-n', netns] : []), '-json', ...args], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as T[];
  } catch {
    return undefined;
  }
}

/** The devices of this network namespace, or of `netns` (`ip netns`); throws when that namespace cannot be read. */
export function listDevices(netns?: string): NetDevice[] {
  const links = ipJson<IpLink>(['-details', 'link', 'show'], netns);
  if (links === undefined) {
    if (netns) throw new Error(`cannot list the devices of network namespace '${netns}' (ip -n ${netns} link: is it there, and is VS Code root?)`);
    // No iproute2: the names Node knows (those with an address), without kinds.
    return Object.entries(networkInterfaces()).map(([name, addrs]) => ({
      name,
      kind: 'device',
      addresses: (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.cidr ?? a.address),
      up: true,
      owner: undefined,
    }));
  }
  const addrs = new Map<string, string[]>();
  for (const a of ipJson<IpAddr>(['-4', 'addr', 'show'], netns) ?? []) {
    if (a.ifname) addrs.set(a.ifname, (a.addr_info ?? []).filter((i) => i.family === 'inet' && i.local).map((i) => `${i.local}/${i.prefixlen}`));
  }
  return links
    .filter((l): l is IpLink & { ifname: string } => typeof l.ifname === 'string')
    .map((l) => {
      const info = l.linkinfo;
      const kind = info?.info_kind === 'tun' ? (info.info_data?.type ?? 'tun') : (info?.info_kind ?? (l.link_type === 'loopback' ? 'loopback' : (l.link_type ?? 'device')));
      const user = info?.info_data?.user;
      return { name: l.ifname, kind, addresses: addrs.get(l.ifname) ?? [], up: (l.flags ?? []).includes('UP'), owner: user === undefined ? undefined : String(user) };
    });
}

/** Whether this user may attach to a TAP device: it is theirs, or they are root (CAP_NET_ADMIN). */
export function mayAttach(d: NetDevice): boolean {
  if (process.getuid?.() === 0) return true;
  const me = userInfo();
  return d.owner !== undefined && (d.owner === me.username || d.owner === String(me.uid));
}

/** True when this process has CAP_NET_RAW (an AF_PACKET socket needs it); the engine it starts has the same. */
export function hasNetRaw(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & (1n << 13n)) !== 0n;
  } catch {
    return false;
  }
}

/**
 * An address for the bypass stack on an interface's network: the same network, another host
 * (.200, or .201 when that is the interface's own). Undefined when the interface has no IPv4 address.
 */
export function suggestBypassAddress(d: NetDevice): string | undefined {
  const first = d.addresses[0];
  const m = first === undefined ? null : /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(first);
  if (m === null || Number(m[5]) > 24) return undefined;
  const host = m[4] === '200' ? 201 : 200;
  return `${m[1]}.${m[2]}.${m[3]}.${host}/${m[5]}`;
}
