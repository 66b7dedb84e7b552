#!/usr/bin/env bash
# The README's test command (and what CI runs): installs the test peers when missing,
# then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# One build, run once: cargo's incremental caches would only double what target/ takes.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
# A clean build, the images and the test suite take about 6 GB; say so before cargo
# fails half-way with "No space left on device".
free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
if ((free_kb < 6 * 1024 * 1024)); then
  echo "test: only $((free_kb / 1024)) MB free on $(df -P . | awk 'NR == 2 {print $6}'); a clean build, the images and the tests need about 6 GB; free some (cargo clean, podman system prune) and run again" >&2
fi
# Lints first: warnings fail the run.
cargo clippy --quiet --workspace --all-targets -- -D warnings
# The images the container test runs (testkit/tests/as_deployed.rs): cargo's image
# profile, on a base made from Debian's packages (kept under target/images/).
bash scripts/images.sh --test-peer
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
