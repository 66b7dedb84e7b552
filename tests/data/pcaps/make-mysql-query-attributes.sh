#!/usr/bin/env bash
# Makes mysql__remora__query-attributes.pcap: a MySQL 8 client (mysql-connector-python
# 9.1.0, pure Python) that negotiates CLIENT_QUERY_ATTRIBUTES with a server stand-in
# (tests/peers/mysql8_server.py) on port 3306, in a network namespace of its own,
# captured on its loopback with tcpdump. Needs root, iproute2, tcpdump and
# `pip install mysql-connector-python==9.1.0`.
set -euo pipefail
cd "$(dirname "$0")"
ns="remora-mysql-$$"
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up
ip netns exec "$ns" python3 ../../peers/mysql8_server.py 127.0.0.1 3306 &
server=$!
ip netns exec "$ns" tcpdump -i lo -U -w mysql__remora__query-attributes.pcap 'tcp port 3306' 2>/dev/null &
capture=$!
sleep 1
ip netns exec "$ns" python3 ../../peers/mysql8_client.py 127.0.0.1 3306
sleep 1
kill "$capture" "$server"
wait 2>/dev/null || true
echo "wrote $(pwd)/mysql__remora__query-attributes.pcap"
