// wire: link and network addresses — MAC (6 bytes), IPv4 (uint32) and IPv6 (16 bytes) — and their text forms.
//
// Text forms are exactly what tcpdump and tshark print, so that traces, rules and dissector output
// can be compared as strings. Parsers take untrusted text and return `undefined` when it is not an
// address; they never throw.

/** A MAC address: 6 bytes, most significant first. */
export type MacAddress = Uint8Array;
/** An IPv4 address as an unsigned 32-bit number (`>>> 0`), so it compares and hashes as a value. */
export type Ipv4Address = number;
/** An IPv6 address: 16 bytes in network order. */
export type Ipv6Address = Uint8Array;

export const MAC_LEN = 6;
export const IPV4_LEN = 4;
export const IPV6_LEN = 16;

/** Shared (typed arrays cannot be frozen): copy it before writing into it. */
export const MAC_BROADCAST: MacAddress = new Uint8Array(MAC_LEN).fill(0xff);

const HEX = '0123456789abcdef';

/** `aa:bb:cc:dd:ee:ff`, lower case, two digits a byte, as tcpdump -e prints it. */
export function macToString(mac: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < MAC_LEN; i++) {
    const b = mac[offset + i] ?? 0;
    if (i) s += ':';
    s += HEX[b >>> 4] + HEX[b & 15];
  }
  return s;
}

/** Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` (one or two hex digits a byte, any case). */
export function macFromString(text: string): MacAddress | undefined {
  const parts = text.split(text.includes('-') ? '-' : ':');
  if (parts.length !== MAC_LEN) return undefined;
  const mac = new Uint8Array(MAC_LEN);
  for (let i = 0; i < MAC_LEN; i++) {
    const p = parts[i];
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return undefined;
    mac[i] = parseInt(p, 16);
  }
  return mac;
}

/** A copy of the 6 bytes at `offset`, so the address stays valid when the frame buffer is reused. */
export function readMac(buf: Uint8Array, offset: number): MacAddress {
  return buf.slice(offset, offset + MAC_LEN);
}

/**
 * Writes the 6 bytes of `mac` at `offset`, byte by byte: TypedArray.prototype.set costs a call into
 * a builtin that, for 6 bytes, takes longer than the copy (it shows in a per-frame profile).
 */
export function writeMac(buf: Uint8Array, offset: number, mac: Uint8Array): void {
  for (let i = 0; i < MAC_LEN; i++) buf[offset + i] = mac[i];
}

export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== MAC_LEN || b.length !== MAC_LEN) return false;
  for (let i = 0; i < MAC_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** IEEE 802 §8.2: the least significant bit of the first octet marks a group (multicast/broadcast) address. */
export function isMulticastMac(mac: Uint8Array): boolean {
  return (mac[0] & 1) === 1;
}

/** Dotted decimal, `198.18.0.1`. */
export function ipv4ToString(addr: Ipv4Address): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/**
 * Strict dotted quad: four decimal parts 0–255, no leading zeros (which some parsers read as octal),
 * no shorthand forms such as `10.1`. This is what inet_pton(AF_INET) accepts.
 */
export function ipv4FromString(text: string): Ipv4Address | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let addr = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    addr = addr * 256 + n;
  }
  return addr >>> 0;
}

export function readIpv4(buf: Uint8Array, offset: number): Ipv4Address {
  return ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
}

export function writeIpv4(buf: Uint8Array, offset: number, addr: Ipv4Address): void {
  buf[offset] = addr >>> 24;
  buf[offset + 1] = (addr >>> 16) & 0xff;
  buf[offset + 2] = (addr >>> 8) & 0xff;
  buf[offset + 3] = addr & 0xff;
}

/**
 * RFC 5952 §4 text: lower-case hex without leading zeros, the longest run of two or more zero
 * groups shortened to `::` (the first run on a tie, never a single group). Like glibc's inet_ntop,
 * which tcpdump and tshark both use, the last 32 bits are written dotted for IPv4-mapped addresses
 * (`::ffff:1.2.3.4`, RFC 4291 §2.5.5.2) and for the deprecated IPv4-compatible form (`::1.2.3.4`,
 * first 96 bits zero and the seventh group non-zero, so `::1` and `::2` stay hex).
 */
export function ipv6ToString(addr: Uint8Array, offset = 0): string {
  const w = (i: number): number => ((addr[offset + 2 * i] ?? 0) << 8) | (addr[offset + 2 * i + 1] ?? 0);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && w(i) === 0) {
      if (curBase < 0) curBase = i;
    } else if (curBase >= 0) {
      const len = i - curBase;
      if (len > bestLen) {
        bestBase = curBase;
        bestLen = len;
      }
      curBase = -1;
    }
  }
  if (bestLen < 2) {
    bestBase = -1;
    bestLen = 0;
  }
  const dotted = bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w(5) === 0xffff));
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestBase + bestLen) s += ':';
    if (i === 6 && dotted) {
      s += `${addr[offset + 12]}.${addr[offset + 13]}.${addr[offset + 14]}.${addr[offset + 15]}`;
      break;
    }
    s += w(i).toString(16);
  }
  return s;
}

/**
 * RFC 4291 §2.2 text forms: eight groups of 1–4 hex digits, one `::` for a run of zero groups, and
 * a dotted IPv4 tail in place of the last two groups. Zone indexes (`%eth0`) are not addresses: undefined.
 */
export function ipv6FromString(text: string): Ipv6Address | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head: number[] = [];
  const tail: number[] = [];
  if (halves.length === 2) {
    if (!parseGroups(halves[0], head, false) || !parseGroups(halves[1], tail, true)) return undefined;
    // `::` stands for at least one zero group (RFC 4291 §2.2 item 2).
    if (head.length + tail.length > 7) return undefined;
  } else if (!parseGroups(text, head, true) || head.length !== 8) {
    return undefined;
  }
  const out = new Uint8Array(IPV6_LEN);
  const put = (i: number, w: number): void => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  };
  head.forEach((w, i) => put(i, w));
  tail.forEach((w, i) => put(8 - tail.length + i, w));
  return out;
}

/** Appends the 16-bit groups of `part` (`a:b:c`, empty for none) to `out`; false when a group is not hex or a tail not dotted IPv4. */
function parseGroups(part: string, out: number[], allowIpv4Tail: boolean): boolean {
  if (part === '') return true;
  const groups = part.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (allowIpv4Tail && i === groups.length - 1 && g.includes('.')) {
      const v4 = ipv4FromString(g);
      if (v4 === undefined) return false;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
      out.push(parseInt(g, 16));
    } else {
      return false;
    }
  }
  return true;
}

/** A copy of the 16 bytes at `offset`. */
export function readIpv6(buf: Uint8Array, offset: number): Ipv6Address {
  return buf.slice(offset, offset + IPV6_LEN);
}

export function ipv6Equals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== IPV6_LEN || b.length !== IPV6_LEN) return false;
  for (let i = 0; i < IPV6_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}
