// rules: the text of a new routing-rules file — the example's rules, commented for someone new to it.

export const NEW_RULES_FILE_NAME = 'routing.bypass';

export const RULES_TEMPLATE = `# Bypass Scope routing rules: which packets take the userspace stack (bypass) and which the kernel.
#
# One rule a line:  ACTION  FILTER        (ACTION is bypass, kernel or drop)
# The first rule whose filter matches the first packet of a flow decides; the rest of the flow
# follows it. Filters are tcpdump's pcap-filter expressions, with tcpdump's exact meaning:
#   udp and dst portrange 20000-20999      tcp port 9000 and host 198.18.0.2
#   tcp[tcpflags] & tcp-syn != 0           icmp and src net 198.19.0.0/16
# '#' starts a comment. Hover a word to see what it means; saving applies the rules to the running
# capture's new flows.

# What no rule matches: exactly one default line (without one, kernel).
default kernel

bypass  udp and dst portrange 20000-20999          # market data feed
bypass  tcp port 9000 and host 198.18.0.2          # order entry: latency-critical
bypass  tcp port 8080                              # the HTTP service under test
kernel  tcp port 22                                # management stays on the kernel
drop    icmp and src net 198.19.0.0/16             # nothing should ping us from the lab's far side
`;

/** A file name in a folder that is not taken yet: routing.bypass, routing-2.bypass, … */
export function freeRulesFileName(taken: (name: string) => boolean): string {
  if (!taken(NEW_RULES_FILE_NAME)) return NEW_RULES_FILE_NAME;
  for (let i = 2; ; i++) {
    const name = `routing-${i}.bypass`;
    if (!taken(name)) return name;
  }
}
