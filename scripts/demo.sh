#!/usr/bin/env bash
# The README's first command: replay the sample captures in examples/ and print the
# items and a summary. Installs libpcap when missing; needs no cluster and no network.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --quiet -p remora
exec ./target/debug/remora replay --output table --scripts examples/scripts examples/captures/*.pcap "$@"
