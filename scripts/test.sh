#!/usr/bin/env bash
# The README's test command (and what CI runs): installs the test peers when missing,
# then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
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
