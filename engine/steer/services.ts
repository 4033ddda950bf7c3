// steer: the service and protocol names a filter may use, as netbase's /etc/services and
// /etc/protocols spell them — shipped here so a rule means the same on every machine and in a browser.
//
// pcap_nametoport() looks a name up as TCP and as UDP: a name known for both with the same number
// matches either protocol; a name known for one only is that protocol's port (so `udp port ssh` is
// an error, "port 'ssh' is tcp"). Names outside this table are refused, not looked up.

/** One service: its TCP and UDP port numbers (undefined where /etc/services has no entry). */
export interface ServiceEntry {
  readonly name: string;
  readonly tcp?: number;
  readonly udp?: number;
}

// name, tcp, udp, aliases — copied by hand from netbase 6.x /etc/services.
const SERVICE_ROWS: ReadonlyArray<readonly [string, number | null, number | null, readonly string[]]> = [
  ['echo', 7, 7, []],
  ['discard', 9, 9, ['sink', 'null']],
  ['daytime', 13, 13, []],
  ['ftp-data', 20, null, []],
  ['ftp', 21, null, []],
  ['ssh', 22, null, []],
  ['telnet', 23, null, []],
  ['smtp', 25, null, ['mail']],
  ['time', 37, 37, ['timserver']],
  ['domain', 53, 53, []],
  ['bootps', null, 67, []],
  ['bootpc', null, 68, []],
  ['tftp', null, 69, []],
  ['gopher', 70, null, []],
  ['finger', 79, null, []],
  ['http', 80, null, ['www']],
  ['kerberos', 88, 88, ['kerberos5', 'krb5', 'kerberos-sec']],
  ['pop3', 110, null, ['pop-3']],
  ['sunrpc', 111, 111, ['portmapper']],
  ['auth', 113, null, ['authentication', 'tap', 'ident']],
  ['nntp', 119, null, ['readnews', 'untp']],
  ['ntp', null, 123, []],
  ['netbios-ns', null, 137, []],
  ['netbios-dgm', null, 138, []],
  ['netbios-ssn', 139, null, []],
  ['imap2', 143, null, ['imap']],
  ['snmp', 161, 161, []],
  ['snmp-trap', 162, 162, ['snmptrap']],
  ['bgp', 179, null, []],
  ['ldap', 389, 389, []],
  ['https', 443, 443, []],
  ['microsoft-ds', 445, null, []],
  ['isakmp', null, 500, []],
  ['syslog', null, 514, []],
  ['printer', 515, null, ['spooler']],
  ['dhcpv6-client', null, 546, []],
  ['dhcpv6-server', null, 547, []],
  ['rtsp', 554, 554, []],
  ['submission', 587, null, []],
  ['ipp', 631, null, []],
  ['ldaps', 636, 636, []],
  ['rsync', 873, null, []],
  ['imaps', 993, null, []],
  ['pop3s', 995, null, []],
  ['socks', 1080, null, []],
  ['openvpn', 1194, 1194, []],
  ['ms-sql-s', 1433, null, []],
  ['radius', 1812, 1812, []],
  ['radius-acct', 1813, 1813, ['radacct']],
  ['nfs', 2049, 2049, []],
  ['iscsi-target', 3260, null, []],
  ['mysql', 3306, null, []],
  ['ms-wbt-server', 3389, null, []],
  ['svn', 3690, null, ['subversion']],
  ['sip', 5060, 5060, []],
  ['sip-tls', 5061, 5061, []],
  ['xmpp-client', 5222, null, ['jabber-client']],
  ['xmpp-server', 5269, null, ['jabber-server']],
  ['mdns', null, 5353, []],
  ['postgresql', 5432, null, ['postgres']],
  ['amqp', 5672, null, []],
  ['redis', 6379, null, []],
  ['http-alt', 8080, null, ['webcache']],
  ['git', 9418, null, []],
];

const SERVICES = new Map<string, ServiceEntry>();
for (const [name, tcp, udp, aliases] of SERVICE_ROWS) {
  const entry: ServiceEntry = { name, tcp: tcp ?? undefined, udp: udp ?? undefined };
  SERVICES.set(name, entry);
  for (const alias of aliases) SERVICES.set(alias, entry);
}

/** Every service name and alias this table knows, for completion in the editor. */
export function serviceNames(): string[] {
  return [...SERVICES.keys()].sort();
}

export type PortProto = 'tcp' | 'udp' | 'any';

/** What pcap_nametoport() answers for a name: the port and which protocol it belongs to. */
export function lookupService(name: string): { port: number; proto: PortProto } | undefined {
  const e = SERVICES.get(name);
  if (!e) return undefined;
  if (e.tcp !== undefined) return { port: e.tcp, proto: e.udp === e.tcp ? 'any' : 'tcp' };
  if (e.udp !== undefined) return { port: e.udp, proto: 'udp' };
  return undefined;
}

// netbase /etc/protocols: name, number, alias.
const PROTOCOL_ROWS: ReadonlyArray<readonly [string, number, string]> = [
  ['ip', 0, 'IP'], ['hopopt', 0, 'HOPOPT'], ['icmp', 1, 'ICMP'], ['igmp', 2, 'IGMP'],
  ['ipencap', 4, 'IP-ENCAP'], ['tcp', 6, 'TCP'], ['egp', 8, 'EGP'], ['udp', 17, 'UDP'],
  ['dccp', 33, 'DCCP'], ['ipv6', 41, 'IPv6'], ['ipv6-route', 43, 'IPv6-Route'],
  ['ipv6-frag', 44, 'IPv6-Frag'], ['rsvp', 46, 'RSVP'], ['gre', 47, 'GRE'], ['esp', 50, 'IPSEC-ESP'],
  ['ah', 51, 'IPSEC-AH'], ['ipv6-icmp', 58, 'IPv6-ICMP'], ['ipv6-nonxt', 59, 'IPv6-NoNxt'],
  ['ipv6-opts', 60, 'IPv6-Opts'], ['ospf', 89, 'OSPFIGP'], ['pim', 103, 'PIM'], ['vrrp', 112, 'VRRP'],
  ['l2tp', 115, 'L2TP'], ['sctp', 132, 'SCTP'], ['udplite', 136, 'UDPLite'],
];

const PROTOCOLS = new Map<string, number>();
for (const [name, num, alias] of PROTOCOL_ROWS) {
  if (!PROTOCOLS.has(name)) PROTOCOLS.set(name, num);
  if (!PROTOCOLS.has(alias)) PROTOCOLS.set(alias, num);
}

/** pcap_nametoproto(): an IP protocol name (`ip proto \tcp`) to its number. */
export function lookupIpProtocol(name: string): number | undefined {
  return PROTOCOLS.get(name);
}

/** pcap_nametoeproto(): the Ethernet type names libpcap knows (`ether proto \arp`). */
const ETHER_PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ['ip', 0x0800], ['ip6', 0x86dd], ['arp', 0x0806], ['rarp', 0x8035], ['loopback', 0x9000],
]);

export function lookupEtherProtocol(name: string): number | undefined {
  return ETHER_PROTOCOLS.get(name);
}
