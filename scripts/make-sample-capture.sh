#!/usr/bin/env bash
# Records examples/sample.pcapng: real Linux traffic between two private network namespaces joined by
# a veth pair (ARP, ping, an HTTP/1.1 exchange over TCP, UDP), captured by tcpdump. Needs root (ip netns).
# Everything lives in namespaces this script creates and removes; addresses are from 198.18.0.0/15.
set -euo pipefail
out=${1:-examples/sample.pcapng}
a=bsc-sample-a; b=bsc-sample-b
cleanup() { ip netns del $a 2>/dev/null || true; ip netns del $b 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add $a; ip netns add $b
ip -n $a link add veth-a type veth peer name veth-b netns $b
ip -n $a addr add 198.18.0.1/24 dev veth-a; ip -n $b addr add 198.18.0.2/24 dev veth-b
for ns in $a $b; do ip -n $ns link set lo up; done
ip -n $a link set veth-a up; ip -n $b link set veth-b up
# Checksums complete on the wire, as a NIC without offload would send them.
ip netns exec $a ethtool -K veth-a tx off >/dev/null 2>&1 || true
ip netns exec $b ethtool -K veth-b tx off >/dev/null 2>&1 || true
sleep 1
tmp=$(mktemp -d)
ip netns exec $b python3 -m http.server 8080 --bind 198.18.0.2 --directory "$tmp" >/dev/null 2>&1 &
srv=$!
ip netns exec $a tcpdump -i veth-a -n -w "$out" --time-stamp-precision=nano -U 2>/dev/null &
dump=$!
sleep 1.5
ip netns exec $a ping -c 2 -i 0.2 198.18.0.2 >/dev/null
ip netns exec $a curl -s -o /dev/null http://198.18.0.2:8080/
ip netns exec $a python3 -c "
import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('198.18.0.1', 40000))
[s.sendto(b'quote %d' % i, ('198.18.0.2', 20001)) for i in range(3)]"
sleep 0.5
kill $dump; wait $dump 2>/dev/null || true
kill $srv; wait $srv 2>/dev/null || true
rm -rf "$tmp"
echo "wrote $out"
