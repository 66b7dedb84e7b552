#!/usr/bin/env bash
# Makes amqp__remora__rabbitmq-extensions.pcap: pika 1.3.2 (tests/peers/amqp_extensions_client.py)
# against a real RabbitMQ 3.10.8 broker (Debian 12's rabbitmq-server, Erlang 25) on port
# 5672, in a network namespace of its own, captured on its loopback with tcpdump (port 5672
# only; epmd and Erlang distribution stay on the namespace's loopback too). Shows RabbitMQ's
# extensions to AMQP 0-9-1: publisher confirms, basic.nack, exchange.bind/unbind, consumer
# cancel notification, connection.blocked/unblocked. Needs root, iproute2, tcpdump,
# `apt-get install rabbitmq-server` and `pip install pika==1.3.2`.
set -euo pipefail
cd "$(dirname "$0")"
out=amqp__remora__rabbitmq-extensions.pcap
ns="remora-amqp-$$"
tmp=$(mktemp -d)
epmd=
broker=
capture=
cleanup() {
    [ -n "$capture" ] && kill "$capture" 2>/dev/null
    [ -n "$broker" ] && kill "$broker" 2>/dev/null && wait "$broker" 2>/dev/null
    [ -n "$epmd" ] && kill "$epmd" 2>/dev/null
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/mnesia" "$tmp/log"
printf 'listeners.tcp.1 = 127.0.0.1:5672\n' >"$tmp/rabbitmq.conf"
printf '[].\n' >"$tmp/enabled_plugins"
: >"$tmp/rabbitmq-env.conf"
# The broker, rabbitmqctl and epmd all see this environment.
export HOME="$tmp" RABBITMQ_NODENAME=remora@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT=5672 RABBITMQ_DIST_PORT=25672 ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_CONF_ENV_FILE="$tmp/rabbitmq-env.conf" RABBITMQ_CONFIG_FILE="$tmp/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$tmp/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$tmp/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$tmp/mnesia" RABBITMQ_LOG_BASE="$tmp/log" RABBITMQ_LOGS="$tmp/log/remora.log" \
    RABBITMQ_PID_FILE="$tmp/remora.pid"
rabbit=/usr/lib/rabbitmq/bin
cat >"$tmp/ctl" <<EOF
#!/bin/sh
exec ip netns exec "$ns" "$rabbit/rabbitmqctl" "\$@"
EOF
chmod +x "$tmp/ctl"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" epmd -address 127.0.0.1 &
epmd=$!
ip netns exec "$ns" "$rabbit/rabbitmq-server" >"$tmp/log/startup.log" 2>&1 &
broker=$!
sleep 2
"$tmp/ctl" wait --timeout 120 "$RABBITMQ_PID_FILE" >/dev/null
ip netns exec "$ns" tcpdump -i lo -U -w "$tmp/$out" 'tcp port 5672' 2>/dev/null &
capture=$!
sleep 1
ip netns exec "$ns" python3 ../../peers/amqp_extensions_client.py 127.0.0.1 5672 "$tmp/ctl"
sleep 1
kill "$capture"
wait "$capture" 2>/dev/null || true
capture=
install -m 644 "$tmp/$out" "$out"
echo "wrote $(pwd)/$out"
