// steer: what can be decided about filters without packets — whether one implies another.
//
// Used to warn about a rule that can never match because an earlier rule matches every packet it
// would. Only sound answers: `implies(a, b)` returns true when every packet `a` matches is certainly
// matched by `b` under tcpdump's semantics — including the rule that a load past the captured
// length rejects, which is why a conjunct is only implied by one that has already read the same
// or further bytes. Anything it cannot decide is "no": a missed warning, never a wrong one.

import type { Dir, Filter, Primitive, PortProtocol } from './ast';
import { containsVlan } from './ast';

const canonicalCache = new WeakMap<object, string>();
const conjunctCache = new WeakMap<Filter, Filter[]>();

/** The filter as a string without source positions: equal strings mean equal filters. */
export function canonical(f: Filter | Primitive): string {
  let c = canonicalCache.get(f);
  if (c === undefined) {
    c = JSON.stringify(f, (key, value) => {
      if (key === 'span') return undefined;
      if (value instanceof Uint8Array) return Array.from(value);
      return value;
    });
    canonicalCache.set(f, c);
  }
  return c;
}

function conjuncts(f: Filter): Filter[] {
  let c = conjunctCache.get(f);
  if (!c) {
    c = f.kind === 'and' ? [...conjuncts(f.left), ...conjuncts(f.right)] : [f];
    conjunctCache.set(f, c);
  }
  return c;
}

function isPrimitive(f: Filter): f is Primitive {
  return f.kind !== 'and' && f.kind !== 'or' && f.kind !== 'not';
}

/** Whether a test in direction `a` having held means the test in direction `b` holds too. */
function dirImplies(a: Dir, b: Dir): boolean {
  if (a === 'and') return true;
  if (a === 'src') return b === 'src' || b === 'default' || b === 'or';
  if (a === 'dst') return b === 'dst' || b === 'default' || b === 'or';
  return b === 'default' || b === 'or';
}

const PORT_SET: Readonly<Record<PortProtocol, readonly number[]>> = { tcp: [6], udp: [17], sctp: [132], any: [6, 17, 132] };

/** The Ethernet type a primitive cannot match without (read from bytes 12-13), if any. */
function ethertypeOf(p: Primitive): number | undefined {
  switch (p.kind) {
    case 'proto-name':
      return { ip: 0x0800, ip6: 0x86dd, arp: 0x0806, rarp: 0x8035, icmp: 0x0800, igmp: 0x0800, icmp6: 0x86dd }[p.proto as string];
    case 'proto':
      return p.qual === 'ip' ? 0x0800 : p.qual === 'ip6' ? 0x86dd : p.qual === 'link' && p.value > 1500 ? p.value : undefined;
    case 'host4':
      return p.proto === 'ip' ? 0x0800 : p.proto === 'arp' ? 0x0806 : p.proto === 'rarp' ? 0x8035 : undefined;
    case 'host6':
      return 0x86dd;
    case 'multicast':
      return p.qual === 'ip' ? 0x0800 : p.qual === 'ip6' ? 0x86dd : undefined;
    default:
      return undefined;
  }
}

/** The IP protocol test (`proto N` with its qualifier) a primitive amounts to, if it is one. */
function ipProtoOf(p: Primitive): { qual: 'default' | 'ip' | 'ip6'; value: number } | undefined {
  if (p.kind === 'proto' && p.qual !== 'link') return { qual: p.qual, value: p.value };
  if (p.kind === 'proto-name') {
    const m: Record<string, { qual: 'default' | 'ip' | 'ip6'; value: number }> = {
      tcp: { qual: 'default', value: 6 }, udp: { qual: 'default', value: 17 }, sctp: { qual: 'default', value: 132 },
      icmp: { qual: 'ip', value: 1 }, igmp: { qual: 'ip', value: 2 }, icmp6: { qual: 'ip6', value: 58 },
    };
    return m[p.proto];
  }
  return undefined;
}

/** Whether primitive `a` matching a packet means primitive `b` matches it. */
export function primitiveImplies(a: Primitive, b: Primitive): boolean {
  if (canonical(a) === canonical(b)) return true;
  if ('shift' in a && a.shift !== 0) return false;
  if ('shift' in b && b.shift !== 0) return false;
  // b only tests the Ethernet type.
  const bType = b.kind === 'proto-name' && ['ip', 'ip6', 'arp', 'rarp'].includes(b.proto) ? ethertypeOf(b) : b.kind === 'proto' && b.qual === 'link' && b.value > 1500 ? b.value : undefined;
  if (bType !== undefined) return ethertypeOf(a) === bType;
  const bProto = ipProtoOf(b);
  if (bProto) {
    const aProto = ipProtoOf(a);
    if (aProto && aProto.value === bProto.value && (bProto.qual === 'default' || aProto.qual === bProto.qual)) return true;
    if (a.kind === 'port' && bProto.qual === 'default') {
      const set = PORT_SET[a.proto];
      return set.length === 1 && set[0] === bProto.value;
    }
    return false;
  }
  switch (b.kind) {
    case 'port':
      return (
        a.kind === 'port' &&
        PORT_SET[a.proto].every((p) => PORT_SET[b.proto].includes(p)) &&
        a.lo >= b.lo && a.hi <= b.hi && dirImplies(a.dir, b.dir)
      );
    case 'host4':
      return (
        a.kind === 'host4' &&
        (b.proto === 'default' || a.proto === b.proto) &&
        ((a.mask & b.mask) >>> 0) === b.mask &&
        ((a.addr & b.mask) >>> 0) === b.addr &&
        dirImplies(a.dir, b.dir)
      );
    case 'host6': {
      if (a.kind !== 'host6' || !dirImplies(a.dir, b.dir)) return false;
      for (let i = 0; i < 16; i++) {
        if ((a.mask[i] & b.mask[i]) !== b.mask[i] || (a.addr[i] & b.mask[i]) !== b.addr[i]) return false;
      }
      return true;
    }
    case 'ether-host':
      return a.kind === 'ether-host' && a.mac.every((x, i) => x === b.mac[i]) && dirImplies(a.dir, b.dir);
    case 'length':
      return a.kind === 'length' && a.op === b.op && (b.op === 'less' ? a.value <= b.value : a.value >= b.value);
    case 'multicast':
      return b.qual === 'link' && a.kind === 'broadcast';
    default:
      return false;
  }
}

/** Whether every packet `a` matches is certainly matched by `b` (false when it cannot tell). */
export function implies(a: Filter, b: Filter): boolean {
  if (canonical(a) === canonical(b)) return true;
  if (containsVlan(a) || containsVlan(b)) return false;
  if (a.kind === 'or') return implies(a.left, b) && implies(a.right, b);
  if (b.kind === 'or') return implies(a, b.left);
  const have = conjuncts(a);
  return conjuncts(b).every((need) => {
    if (have.some((h) => canonical(h) === canonical(need))) return true;
    if (need.kind === 'or') return implies(a, need);
    if (!isPrimitive(need)) return false;
    return have.some((h) => isPrimitive(h) && primitiveImplies(h, need));
  });
}
