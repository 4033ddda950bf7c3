// test support: filter expressions for the differential test — hand-written edge cases and a seeded
// generator that combines primitives, qualifiers, abbreviations and operators.

/** Edge cases, each chosen for a rule of libpcap's that people get wrong. */
export const HAND_WRITTEN: readonly string[] = [
  // protocols, and what each abbreviation really tests
  'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6', 'igmp', 'sctp',
  'ip proto 6', 'ip6 proto 6', 'proto 17', 'ip proto \\udp', 'ip6 proto 58', 'ip6 proto 44', 'ip6 proto 0', 'proto 47',
  'ip proto \\tcp or ip6 proto \\ipv6-icmp', 'ip6 proto \\udp',
  'ether proto \\ip', 'ether proto \\arp', 'ether proto \\rarp', 'ether proto \\ip6', 'ether proto 0x88cc',
  'ether proto \\loopback', 'ether proto 0x42', 'ether proto 6', 'ether proto 100', 'ether proto 0x0800',
  // hosts and nets: ARP/RARP included, IPv6 literals
  'host 10.0.0.1', 'src host 10.0.0.1', 'dst host 10.0.0.1', 'host 10.0.0.2', 'host 198.18.0.2',
  'src or dst host 10.0.0.2', 'src and dst host 198.18.0.2', 'ip host 10.0.0.1', 'arp host 10.0.0.1',
  'rarp host 10.0.0.2', 'ip src host 10.0.0.1', 'arp dst host 10.0.0.2', 'host 0.0.0.0',
  'host 2001:db8::1', 'src host 2001:db8::2', 'dst host ff02::1', 'ip6 host fe80::1', 'host ::',
  'net 10.0.0.0/8', 'net 198.18.0.0/15', 'src net 198.19.0.0/16', 'dst net 224.0.0.0/4', 'net 192.168.1',
  'net 10.0.0.0 mask 255.0.0.0', 'net 0.0.0.0/0', 'net 2001:db8::/32', 'ip6 net 2001:db8:1::/48', 'net ::/0',
  'net 10', 'host 10.0', 'dst net 10.0.0.0/31', 'src net 2001:db8::/127',
  // Ethernet addresses
  'ether host 00:11:22:33:44:55', 'ether src 00:11:22:33:44:55', 'ether dst ff:ff:ff:ff:ff:ff',
  'ether host 66-77-88-99-aa-bb', 'ether src and dst 00:11:22:33:44:55', 'broadcast', 'ether broadcast',
  'multicast', 'ether multicast', 'ip multicast', 'ip6 multicast', 'not broadcast and multicast',
  // ports: fragments, IPv6 without extension-header walk, services
  'port 80', 'tcp port 80', 'udp port 53', 'port 53', 'src port 53', 'dst port 53', 'tcp dst port 9000',
  'port 20500', 'sctp port 80', 'port domain', 'port ssh', 'tcp port http', 'udp port ntp', 'port https',
  'port 80 or 443', 'tcp port 80 or 443 or 22', 'src port 22 and dst port 22', 'src and dst port 22',
  'src or dst port 53', 'port 0', 'port 65535', 'port 010',
  'portrange 20000-20999', 'udp dst portrange 20000-20999', 'tcp portrange 1-1024', 'portrange 1024-1',
  'src portrange 20-22', 'portrange ssh-http', 'portrange 53', 'udp portrange 100-200 or 20500',
  'udp and dst portrange 20000-20999', 'tcp dst port 9000 and dst host 198.18.0.2',
  // implied qualifiers
  'host 10.0.0.1 and not 10.0.0.2', 'host 10.0.0.1 or 10.0.0.2 or 198.18.0.2', 'host 10.0.0.1 and (10.0.0.2 or 192.168.1.5)',
  'tcp dst port 80 or 443 and src 10.0.0.1', 'dst port 53 or src port 53 and udp', 'net 10.0.0.0/8 and not 10.0.0.2',
  'host 10.0.0.1 and (tcp) and 10.0.0.2', 'not host 10.0.0.1 and not 10.0.0.2', 'port 80 or (443)',
  'port 53 and not (udp)', 'src 10.0.0.1', 'dst 198.18.0.2 and tcp', 'src 2001:db8::1 or dst 2001:db8::1',
  // vlan and its shifting of later offsets
  'vlan', 'vlan 100', 'vlan 200', 'vlan 20', 'vlan 10', 'vlan 300', 'vlan 4095', 'vlan and ip', 'vlan 100 and tcp port 80',
  'vlan and vlan', 'vlan 10 and vlan 20', 'vlan 10 and vlan 20 and tcp', 'vlan or ip', 'ip or vlan', 'not vlan and ip',
  'vlan and arp', 'vlan and host 10.0.0.1', 'vlan and ip6 and udp port 53', 'tcp or vlan and tcp', 'vlan 100 and vlan 100 and udp',
  'vlan and ip[9] = 6', 'vlan and ether[12:2] = 0x8100', 'vlan 200 and udp src port 53', 'vlan and not vlan',
  // lengths
  'less 60', 'greater 100', 'len >= 80', 'len < 64', 'len = 42', 'len > 1000', 'less 14', 'greater 0',
  // byte access and arithmetic
  'tcp[13] & 2 != 0', 'tcp[tcpflags] & tcp-syn != 0', 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn',
  'tcp[tcpflags] & (tcp-fin|tcp-rst) != 0', 'tcp[tcpflags] & tcp-push != 0', 'tcp[tcpflags] & (tcp-urg|tcp-ece|tcp-cwr) = 0xe0',
  'icmp[icmptype] = icmp-echo', 'icmp[icmptype] == icmp-echoreply', 'icmp[icmptype] = icmp-unreach and icmp[icmpcode] = 3',
  'icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply', 'icmp[0] = icmp-timxceed',
  'icmp6[icmp6type] = icmp6-echo', 'icmp6[0] = icmp6-neighborsolicit', 'icmp6[icmp6type] = icmp6-echoreply',
  'ip[0] & 0xf > 5', 'ip[0] & 0xf != 5', 'ip[6:2] & 0x1fff != 0', 'ip[6] & 0x20 != 0', 'ip[8] = 255', 'ip[8] < 64',
  'ip[2:2] > 100', 'ip[2:2] - ((ip[0] & 0xf) << 2) > 40', 'ip[16] >= 224', 'ip[12:4] = 0x0a000001',
  'ether[0] & 1 = 1', 'ether[0:4] = 0xffffffff', 'ether[12:2] = 0x86dd', 'ether[6:2] = 0x6677', 'ether[14] = 0x42',
  'udp[4:2] > 20', 'udp[0:2] = 53 or udp[2:2] = 53', 'udp[8] = 7', 'tcp[12] >> 4 > 5', 'tcp[0:2] = tcp[2:2]',
  'tcp[2:2] = 80', 'tcp[100] = 3', 'tcp[100] = 3 or arp', 'arp or tcp[100] = 3', 'udp[1000] = 0 or udp',
  'arp[6:2] = 1', 'arp[6:2] = 2', 'rarp[6:2] = 3', 'arp[24:4] = 0x0a000002', 'ip6[6] = 17', 'ip6[40] = 17', 'ip6[7] = 64',
  'tcp[tcp[12] >> 2] = 0x47', 'tcp[(tcp[12] >> 4) * 4] = 0x47', 'ip[0] * 2 = 0x8a', 'ip[0] / 16 = 4', 'ip[0] % 16 = 5',
  'ip[0] ^ 0x45 = 0', 'ip[0] | 1 = 0x45', 'ip[0] - 0x40 = 5', '-ip[0] = -0x45', 'ip[1] + ip[0] = 0x45',
  'ip[0] & 0 = 0', 'ip[0] * 0 = 0 or arp', '0 & ip[0] = 0', 'ip[0] / ip[1] = 0', 'ip[0] % (ip[1] + 1) = 0', 'len - 14 = ip[2:2]',
  'ip[2:2] + 14 = len', 'tcp[-1] = 0', 'ip[0xffffffff] = 0', 'ether[len - 1] = 0', 'ip[ip[0] & 0xf] = 0',
  '1 = 1', '1 = 1 or tcp[100] = 0', 'tcp[100] = 0 or 1 = 1', '2 > 1 and tcp', '(1) = 1',
  // boolean structure
  'tcp or udp', 'tcp and udp', 'not tcp', '! tcp', 'tcp || udp', 'tcp && port 80', 'not (tcp or udp)', '!(ip or arp)',
  'ip and not tcp and not udp', 'tcp or udp and port 53', '(tcp or udp) and port 53', 'not not tcp', 'ip or not ip',
  'ip and not ip', 'arp or not arp and ip', 'tcp or (udp and (port 53 or port 123))', 'ip6 or arp or vlan',
  'icmp or icmp6', 'igmp or sctp', 'not ip and not ip6 and not arp',
  // no spaces: the scanner's longest-match rule decides where tokens end
  'tcp[tcpflags]&tcp-syn!=0', 'ip[0]&0xf!=5', 'tcp&&port 80||udp', '!tcp', 'ether[0:4]=0xffffffff',
  'icmp[icmptype]!=icmp-echo&&icmp[icmptype]!=icmp-echoreply', 'dst portrange 20000-20999&&udp', '(tcp)and(port 80)',
  'vlan(100)', 'src net 10.0.0.0 mask 255.255.255.252', 'ip6 proto \\ipv6-icmp',
  // issue 4's grammar list, item by item, where the cases above leave a form out
  'net 10.0.0.0 mask 255.0.255.0', 'dst net 198.18.0.0 mask 255.254.0.0', 'src net 198.19.4.0 mask 255.255.255.0',
  'arp net 10.0.0.0 mask 255.255.255.0', 'net 10.0.0.0 mask 255.255.255.255', 'net 0.0.0.0 mask 0.0.0.0',
  'net 10.0.0.0/8 or 192.168.1.0/24', 'src net 10.0.0.0/30 or 198.18.0.0/15', 'net 10.0.0.0 mask 255.0.0.0 or 192.168.1.0/24',
  'src and dst net 10.0.0.0/8', 'net fe80::/10', 'src net 2001:db8::/32 and dst net 2001:db8::/32',
  'ether host 0011.2233.4455', 'ether host 00.11.22.33.44.55', 'ether host 001122334455', 'ether host 0:11:22:33:44:55',
  'ether host 0-11-22-33-44-55', 'ether src 0011.2233.4455 or ether dst 6677.8899.aabb', 'ether host 1.2.3.4.5.6',
  'ether src host 00:11:22:33:44:55', 'ether dst host ff:ff:ff:ff:ff:ff', 'link host 00:11:22:33:44:55', 'link[0] = 0xff',
  'link proto \\ip', 'ether multicast and not ether broadcast', 'ether broadcast or ether multicast', 'multicast and not ip multicast',
  'ether proto 1500', 'ether proto 1501', 'ether proto 0xffff', 'ether proto 0x8100', 'ether proto 0x86dd and ip6',
  'vlan 100 or vlan 200', 'vlan 10 or vlan 20', 'vlan and vlan 20', 'not vlan or vlan 100', 'vlan and tcp or udp',
  'vlan and len > 60', 'vlan and vlan and vlan', 'vlan and vlan and ip', 'vlan and not ip', 'vlan and ip6',
  'vlan and ether proto \\ip', 'vlan and arp host 10.0.0.1', 'vlan and udp[0:2] = 53', 'vlan and less 70',
  'ether[12:2] = 0x8100 and vlan', 'vlan and ether[12:2] = 0x0800',
  'less 60 and greater 60', 'len != 60', 'len & 1 = 1', 'len / 2 > 30', 'len * 2 > 200', 'greater 1500', 'less 0',
  'rarp src host 10.0.0.2', 'arp src host 10.0.0.1 and arp dst host 10.0.0.2', 'host 198.18.0.2 and arp',
  'dst host 10.0.0.1 and not ip', 'dst host 255.255.255.255', 'host 224.0.0.251 or host ff02::1', 'host fe80::1 and tcp',
  'tcp port 80 and ip[6:2] & 0x1fff != 0', 'port 53 and ip[6:2] & 0x3fff != 0', 'ip[6:2] & 0x1fff = 0 and tcp',
  'portrange 50-60', 'src port 80', 'src portrange 80-80 and dst portrange 80-80', 'udp src port 53 and udp dst port 53',
  'ip6 proto 17', 'ip6 proto \\tcp', 'ip6 proto 43', 'ip6 proto 132', 'ip proto 6 or 17', 'ip6 proto 6 or 17', 'proto 1 or 58',
  'tcp and ip6 and port 443', 'ip6 and udp port 53', 'ip6 multicast and icmp6',
  'portrange 1-1024 or 8000-9000', 'port ftp', 'port smtp', 'port telnet', 'udp port snmp', 'port syslog', 'port ftp-data',
  'tcp port www', 'port 22 or ssh', 'udp port bootpc or bootps',
  'ip[2:2] - 20 - ((ip[0] & 0xf) << 2) > 0', 'tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420', 'udp[8:4] = 0x07070707',
  'ip6[4:2] > 10', 'icmp[4:2] = 7', 'ether[6:4] & 0xffffff00 = 0x66778800', 'ip[0] & 0xf0 = 0x40 and ip[0] & 0x0f > 5',
  'tcp[13] = 0x12', 'tcp[13] & 0x12 = 0x12', 'ip[1] & 0xfc >> 2 = 0', 'ip[0] << 1 = 0x8a', 'ip[0] >> 4 = 4',
  '(ip[0] & 0xf) * 4 = 20', 'igmp[0] = 0x16', 'sctp[2:2] = 80', 'ip6[0] >> 4 = 6', 'tcp[14:2] = 65535', 'len > 0000000000000',
  'icmp[icmptype] = icmp-sourcequench', 'icmp[icmptype] = icmp-redirect', 'icmp[icmptype] = icmp-paramprob or icmp[icmptype] = icmp-tstamp',
  'icmp[icmptype] = icmp-maskreq or icmp[icmptype] = icmp-maskreply', 'icmp[icmpcode] = 0', 'icmp6[icmp6type] = icmp6-neighborsolicit',
  'icmp6[icmp6code] = 0', 'icmp6[icmp6type] = icmp6-destinationunreach', 'tcp[tcpflags] = tcp-syn',
  'tcp[tcpflags] & tcp-ack != 0 and tcp[tcpflags] & tcp-syn != 0', 'tcp[tcpflags] == tcp-ack|tcp-push',
];

/** Expressions tcpdump accepts that routing rules deliberately refuse. */
export const REFUSED: readonly string[] = [
  'host localhost', 'net loopback', 'ip broadcast', 'ether proto 0xe0', 'mpls', 'pppoes', '', 'protochain 6',
  'portrange 20-ssh', 'llc', 'ip proto \\esp and esp',
  // link-layer aliases libpcap reads as 'ether', LLC-encapsulated and other protocols, tunnels
  'ppp host 00:11:22:33:44:55', 'slip[0] & 1 = 1', 'fddi host 00:11:22:33:44:55', 'tr src 00:11:22:33:44:55', 'wlan host 00:11:22:33:44:55',
  'ether proto \\ipx', 'ether proto \\iso', 'ether proto \\stp', 'ether proto \\netbeui', 'ether proto \\decnet', 'ether proto \\atalk',
  'ether proto \\aarp', 'ether proto \\lat', 'ether proto \\sca', 'ether proto \\moprc', 'ether proto \\mopdl',
  'decnet', 'lat', 'iso', 'stp', 'ipx', 'netbeui', 'atalk', 'aarp', 'sca', 'moprc', 'mopdl', 'pim', 'vrrp', 'carp', 'ah', 'esp',
  'decnet host 1.2', 'iso proto \\isis', 'clnp', 'isis', 'geneve', 'pppoed', 'ip6 protochain 6',
];

/** Expressions both tcpdump and routing rules reject. */
export const INVALID: readonly string[] = [
  'foo', 'tcp and 80', 'port 70000', 'net 198.18.0.1/16', 'host ::1/64', 'vlan 4096', 'udp port ssh',
  'tcp port ntp', 'src 10.0.0.0/8', 'ether[1:3] = 0', 'ip6 host 10.0.0.1', 'ip host ::1', 'tcp host 10.0.0.1',
  'port 1.2.3.4', 'ether', 'src proto 6', 'net 10/8', 'TCP', 'ip[0] >> 40 = 0', 'ip[0] / 0 = 1', 'port foo',
  'host 10.0.0.1 and ((10.0.0.2 or 10.0.0.3) or 10.0.0.4)', 'len-1 > 0', 'vlan (tcp)', '(tcp', 'tcp)', 'port',
  'ip proto tcp', 'udp portrange 20-ssh2', 'host 300.1.1.1', 'tcp[0] = ', 'not', 'and tcp', 'ether src 10.0.0.1',
  'host 00:11:22:33:44:55', 'portrange 1-70000', 'gateway 10.0.0.1', 'tcp[0] << 32 = 0', 'ether host somebox', 'inbound',
  'ip[0] / (1 - 1) = 0', 'ip[0] << (16 + 16) = 0', 'ip[0] % 0 = 0', 'net 10.0.0.0/33', 'ip6 net 2001:db8::/129', 'arp proto 6',
  'net 10.0.0.1 mask 255.255.255.0', 'net 2001:db8:: mask ffff::', 'ether host 001122:334455', 'ether host 0011.2233.445',
  'ether host 00:11:22:33:44', 'ether host 00:11:22:33:44:55:66', 'ether host 0011.2233', 'ip[0] = 000000000069',
  'ether[0:4] = 0x001122334455', 'vlan 100 or 200', 'vxlan', 'radio[0] = 0', 'wlan type mgt', 'ifname eth0', 'on eth0',
  'outbound', 'atm', 'ip6 gateway 10.0.0.1', 'ip and ip6', 'ip6 and tcp[13] & 2 != 0', 'udp[0:2] = 53 and ip6',
];

/** mulberry32: a small seeded generator, so the generated list is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateExpressions(count: number, seed: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const a4 = ['10.0.0.1', '10.0.0.2', '198.18.0.2', '192.168.1.5', '198.19.4.4', '224.0.0.251', '172.16.9.9'];
  const a6 = ['2001:db8::1', '2001:db8::2', 'fe80::1', 'ff02::1', '2001:db8:1::5'];
  const nets = ['10.0.0.0/8', '198.18.0.0/15', '198.19.0.0/16', '192.168.1.0/24', '224.0.0.0/4', '10.0.0.0/30', '2001:db8::/32', 'fe80::/10'];
  const ports = ['22', '53', '80', '443', '9000', '20500', '123', '5353', '67', '161', 'domain', 'ssh', 'http', 'https', 'ntp', 'bootps'];
  const macs = ['00:11:22:33:44:55', '66:77:88:99:aa:bb', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:fb'];
  const dir = () => pick(['', '', '', 'src ', 'dst ', 'src or dst ', 'src and dst ']);
  const rels = [
    'tcp[13] & 2 != 0', 'tcp[tcpflags] & tcp-ack = 0', 'tcp[tcpflags] & (tcp-syn|tcp-fin) != 0', 'icmp[icmptype] = icmp-echo',
    'icmp[0] = 3', 'icmp6[icmp6type] = icmp6-echo', 'ip[0] & 0xf > 5', 'ip[8] > 60', 'ip[6:2] & 0x1fff = 0', 'udp[4:2] > 12',
    'ether[0] & 1 != 0', 'ether[12:2] > 0x600', 'len > 80', 'len <= 60', 'ip6[6] = 6', 'arp[7] = 1', 'tcp[2:2] < 1024',
    'udp[2:2] >= 20000', 'ip[2:2] - 20 > 30', 'tcp[12] >> 4 = 5', 'ip[9] = 17', 'tcp[20] = 2', 'udp[10] = 7', 'ip[1] = 0',
  ];
  const prim = (): string => {
    switch (Math.floor(r() * 17)) {
      case 0:
        return pick(['ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6', 'igmp', 'sctp']);
      case 1:
        return `${pick(['', 'ip ', 'arp ', 'rarp '])}${dir()}host ${pick(a4)}`;
      case 2:
        return `${dir()}host ${pick(a6)}`;
      case 3:
        return `${dir()}net ${pick(nets)}`;
      case 4:
        return `ether ${pick(['host', 'src', 'dst'])} ${pick(macs)}`;
      case 5:
        return pick(['broadcast', 'multicast', 'ip multicast', 'ip6 multicast', 'ether broadcast']);
      case 6:
      case 7: {
        const proto = pick(['', '', 'tcp ', 'udp ']);
        let p = pick(ports);
        if (proto === 'udp ' && ['ssh', 'http'].includes(p)) p = '53';
        if (proto === 'tcp ' && ['ntp', 'bootps'].includes(p)) p = '80';
        const base = `${proto}${dir()}port ${p}`;
        return r() < 0.3 ? `${base} or ${pick(['22', '443', '53', '9000'])}` : base;
      }
      case 8: {
        const lo = pick([1, 20, 53, 1024, 20000]);
        return `${pick(['', 'tcp ', 'udp '])}${dir()}portrange ${lo}-${lo + pick([0, 2, 100, 999, 30000])}`;
      }
      case 9:
        return pick(['vlan', 'vlan 100', 'vlan 10', 'vlan 20', 'vlan 200', 'vlan 300']);
      case 10:
        return `${pick(['proto', 'ip proto', 'ip6 proto'])} ${pick([1, 2, 6, 17, 44, 47, 58, 132, 0])}`;
      case 11:
        return `${pick(['less', 'greater'])} ${pick([14, 42, 60, 64, 100, 200])}`;
      case 12:
      case 13:
        return pick(rels);
      case 14:
        return `ether proto ${pick(['\\ip', '\\arp', '0x88cc', '0x9000', '0x42', '100', '\\ip6'])}`;
      case 15:
        return `host ${pick(a4)} and not ${pick(a4)}`;
      default:
        return `${pick(['src', 'dst'])} ${pick(a4)}`;
    }
  };
  const expr = (depth: number): string => {
    const x = r();
    if (depth === 0 || x < 0.3) return prim();
    if (x < 0.4) return `${pick(['not ', '! '])}${expr(depth - 1)}`;
    if (x < 0.55) return `(${expr(depth - 1)})`;
    return `${expr(depth - 1)} ${pick(['and', 'or', '&&', '||'])} ${expr(depth - 1)}`;
  };
  const out = new Set<string>();
  while (out.size < count) out.add(expr(1 + Math.floor(r() * 3)));
  return [...out];
}
