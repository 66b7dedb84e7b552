#!/usr/bin/env bash
# Installs what building and testing Remora needs, skipping what is already there.
#   bash scripts/setup.sh          build needs only (libpcap)
#   bash scripts/setup.sh --test   plus the test peers (tshark, tcpdump, dnsmasq, dig, iproute2,
#                                  and from PyPI kubernetes-validate for the injector's goldens)
set -euo pipefail

need_pkgs=()
want() { dpkg -s "$1" >/dev/null 2>&1 || need_pkgs+=("$1"); }

want libpcap-dev
want pkg-config
if [[ "${1:-}" == "--test" ]]; then
  want tshark
  want tcpdump
  want iproute2
  want dnsmasq-base
  want bind9-dnsutils
  want curl
fi

if ((${#need_pkgs[@]})); then
  echo "setup: installing ${need_pkgs[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  # Pinned: the schemas it carries decide what "valid" means for the golden pods.
  if ! command -v kubernetes-validate >/dev/null; then
    echo "setup: installing kubernetes-validate (PyPI)" >&2
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "kubernetes-validate==1.37.0"
  fi
fi

command -v cargo >/dev/null || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }
