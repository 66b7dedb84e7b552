#!/usr/bin/env bash
# Installs what building and testing Remora needs, skipping what is already there.
#   bash scripts/setup.sh          build needs only (libpcap)
#   bash scripts/setup.sh --images build needs plus podman, runc and mmdebstrap (scripts/images.sh)
#   bash scripts/setup.sh --images-arm64
#                                  plus arm64 cross-building: Debian's aarch64 toolchain, arm64
#                                  libpcap (multiarch) and qemu-user-static for the smoke test
#   bash scripts/setup.sh --test   the images' needs plus the test peers (tshark, tcpdump,
#                                  dnsmasq, dig, iproute2, and from PyPI kubernetes-validate,
#                                  helm-python-sdk, and the vendor servers moto,
#                                  gcp-storage-emulator and fakellm, grafana-foundation-sdk;
#                                  Debian's chromium and the dashboard's npm packages for its
#                                  browser tests; Debian's prometheus for promtool and the
#                                  monitoring test)
set -euo pipefail

need_pkgs=()
# Installed in some architecture (`dpkg -s` calls a package installed for two, as
# pkg-config is after --images-arm64, ambiguous).
want() { dpkg-query -W -f='${db:Status-Abbrev}\n' "$1" 2>/dev/null | grep -q '^ii' || need_pkgs+=("$1"); }

want libpcap-dev
want pkg-config
if [[ "${1:-}" == "--test" || "${1:-}" == "--images" ]]; then
  want podman
  want runc
  want mmdebstrap
  want catatonit   # podman's pause image (a pod's infra container)
fi
if [[ "${1:-}" == "--images-arm64" ]]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" dpkg --add-architecture arm64
  fi
  want gcc-aarch64-linux-gnu
  want libc6-dev-arm64-cross
  want libpcap0.8-dev:arm64
  want qemu-user-static
  want binfmt-support
fi
if [[ "${1:-}" == "--test" ]]; then
  want tshark
  want tcpdump
  want iproute2
  want dnsmasq-base
  want bind9-dnsutils
  want curl
  want chromium
  # promtool and a real Prometheus for the monitoring tests (hub/tests/prometheus.rs);
  # the package's service is not started where no init system runs.
  want prometheus
fi

if ((${#need_pkgs[@]})); then
  echo "setup: installing ${need_pkgs[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if [[ "${1:-}" == "--images-arm64" ]]; then
  # qemu-user-static registers its interpreters with binfmt_misc (fix-binary, so they work
  # inside containers); the file system must be mounted for that.
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  fi
  [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || echo "setup: qemu-aarch64 is not registered with binfmt_misc: arm64 binaries will not run here (the smoke test fails)" >&2
fi

if [[ "${1:-}" == "--test" ]]; then
  # Pinned: kubernetes-validate's schemas decide what "valid" means for the golden pods
  # and the chart; helm-python-sdk is Helm's own Go SDK (no helm binary) for the chart.
  py_need=()
  command -v kubernetes-validate >/dev/null || py_need+=("kubernetes-validate==1.37.0")
  python3 -c "import helm_python" 2>/dev/null || py_need+=("helm-python-sdk==0.2.2")
  # Real local servers of the vendor APIs the scripting helpers talk to (S3, Kinesis,
  # GCS, OpenAI-compatible chat completions).
  python3 -c "import moto.server, flask_cors" 2>/dev/null && command -v moto_server >/dev/null || py_need+=("moto[server]==5.2.1")
  command -v gcp-storage-emulator >/dev/null || py_need+=("gcp-storage-emulator==2026.7.19")
  command -v fakellm >/dev/null || py_need+=("fakellm==0.3.5")
  # Grafana's typed dashboard SDK: builds and checks the chart's Grafana dashboard.
  python3 -c "import grafana_foundation_sdk" 2>/dev/null || py_need+=("grafana-foundation-sdk==1769699379!11.6.0")
  if ((${#py_need[@]})); then
    echo "setup: installing ${py_need[*]} (PyPI)" >&2
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${py_need[@]}"
  fi
fi

if [[ "${1:-}" == "--test" ]]; then
  # The dashboard's packages (playwright-core drives the system chromium; vite checks
  # that hub/dashboard/ is the build of dashboard/src). Reinstalled when the lock changes.
  command -v npm >/dev/null || { echo "setup: npm is missing; install Node.js 20 or newer" >&2; exit 1; }
  stamp=dashboard/node_modules/.remora-lock
  if ! cmp -s dashboard/package-lock.json "$stamp"; then
    echo "setup: installing the dashboard's npm packages" >&2
    (cd dashboard && npm ci --no-audit --no-fund --loglevel=error)
    cp dashboard/package-lock.json "$stamp"
  fi
fi

command -v cargo >/dev/null || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }
