#!/usr/bin/env bash
# Records real Linux traffic in a private network namespace, captured on the same veth at once by
# tcpdump (pcap, nanosecond) and by tshark (pcapng). Run it as `unshare -n bash record-traffic.sh DIR`
# as root, or `unshare -Urn bash …` as anyone where user namespaces are allowed: everything it creates
# dies with the namespace. In a user namespace tcpdump cannot drop to its own user (setgroups is
# denied), so tshark writes the pcap there instead.
# Traffic: ARP, ICMP echo (plain and fragmented), IPv6 ND + ICMPv6 echo, TCP (HTTP over IPv4 and IPv6,
# a reset to a closed port), UDP (and the ICMP port unreachable it earns). Addresses: 198.18.1.0/24, 2001:db8:1::/64.
set -euo pipefail
dir=$1
ip link set lo up
unshare -n sleep 60 &
peer=$!
trap 'kill $peer $srv4 $srv6 2>/dev/null || true' EXIT
sleep 0.3
in_peer() { nsenter -t "$peer" -n "$@"; }
ip link add veth0 type veth peer name veth1
ip link set veth1 netns "$peer"
ip addr add 198.18.1.1/24 dev veth0
ip -6 addr add 2001:db8:1::1/64 dev veth0 nodad
ip link set veth0 up
in_peer ip link set lo up
in_peer ip addr add 198.18.1.2/24 dev veth1
in_peer ip -6 addr add 2001:db8:1::2/64 dev veth1 nodad
in_peer ip link set veth1 up
# Complete checksums on the wire, so that every decoder can verify them.
ethtool -K veth0 tx off >/dev/null 2>&1 || true
in_peer ethtool -K veth1 tx off >/dev/null 2>&1 || true
www=$(mktemp -d)
echo "hello from the peer" > "$www/index.html"
in_peer python3 -m http.server 8080 --bind 198.18.1.2 --directory "$www" >/dev/null 2>&1 &
srv4=$!
in_peer python3 -m http.server 8081 --bind 2001:db8:1::2 --directory "$www" >/dev/null 2>&1 &
srv6=$!
sleep 1.5
chmod 777 "$dir"
if [ "$(awk '{print $3}' /proc/self/uid_map)" = 4294967295 ]; then
  tcpdump -i veth0 -n -w "$dir/traffic.pcap" --time-stamp-precision=nano -U 2>/dev/null &
else
  tshark -i veth0 -n -F nsecpcap -w "$dir/traffic.pcap" -q 2>/dev/null &
fi
dump=$!
tshark -i veth0 -n -F pcapng -w "$dir/traffic.pcapng" -q 2>/dev/null &
shark=$!
sleep 2
ping -c 3 -i 0.2 198.18.1.2 >/dev/null
ping -c 1 -s 3000 198.18.1.2 >/dev/null
ping -6 -c 2 -i 0.2 2001:db8:1::2 >/dev/null
curl -s -o /dev/null http://198.18.1.2:8080/
curl -s -o /dev/null "http://[2001:db8:1::2]:8081/"
curl -s -o /dev/null --max-time 1 http://198.18.1.2:9/ || true
python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('198.18.1.1', 40000))
for i in range(3): s.sendto(b'tick %d' % i, ('198.18.1.2', 20001))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.sendto(b'six', ('2001:db8:1::2', 20002))
PY
sleep 1
kill -INT $dump $shark
wait $dump $shark 2>/dev/null || true
