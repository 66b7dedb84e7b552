#!/usr/bin/env bash
# Makes tls__remora__tls13-hello-retry.pcap: a TLS 1.3 handshake with a HelloRetryRequest
# between `openssl s_server` and `openssl s_client` (OpenSSL 3.0) on port 8443, in a
# network namespace of its own, captured on its loopback with tcpdump. The server takes
# only P-256, the client offers X25519 first (its first key_share) and P-256 second, so the
# server answers the first ClientHello with a HelloRetryRequest asking for P-256. Both
# sides set ALPN, the client sends SNI shop.example and one line of data, the server (-rev)
# answers it reversed, and the client closes with close_notify. The certificate is a
# throwaway self-signed one made here. Needs root, iproute2, tcpdump and openssl.
set -euo pipefail
cd "$(dirname "$0")"
out=tls__remora__tls13-hello-retry.pcap
ns="remora-tls-$$"
tmp=$(mktemp -d)
ip netns add "$ns"
trap 'kill $(jobs -p) 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"' EXIT
ip -n "$ns" link set lo up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=shop.example -addext subjectAltName=DNS:shop.example \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
ip netns exec "$ns" tcpdump -i lo -U -w "$tmp/$out" 'tcp port 8443' 2>/dev/null &
capture=$!
ip netns exec "$ns" openssl s_server -accept 127.0.0.1:8443 -naccept 1 -rev -tls1_3 \
    -cert "$tmp/cert.pem" -key "$tmp/key.pem" -groups P-256 -alpn h2 >/dev/null 2>&1 &
server=$!
sleep 1
(printf 'GET /cart HTTP/1.1 from remora\n'; sleep 1) |
    ip netns exec "$ns" openssl s_client -connect 127.0.0.1:8443 -servername shop.example \
        -tls1_3 -groups X25519:P-256 -alpn h2,http/1.1 -CAfile "$tmp/cert.pem" >/dev/null 2>&1
wait "$server" 2>/dev/null || true
sleep 1
kill "$capture"
wait 2>/dev/null || true
install -m 644 "$tmp/$out" "$out"
echo "wrote $(pwd)/$out"
