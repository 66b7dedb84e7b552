#!/usr/bin/env bash
# Builds Remora's four images with podman, without a registry:
#   localhost/remora-injector:dev  localhost/remora-sidecar:dev
#   localhost/remora-hub:dev       localhost/remora-cli:dev
#
#   bash scripts/images.sh                          # linux/amd64 (this machine)
#   bash scripts/images.sh --platform linux/arm64   # arm64 too: a manifest list per image
#   bash scripts/images.sh --tag TAG                # another tag than dev
#   bash scripts/images.sh --test-peer              # also localhost/remora-testpeer:TAG, the
#                                                   # container test's app and client (busybox,
#                                                   # dnsmasq, dnsperf from Debian's packages)
#
# The binaries come from cargo's `image` profile; the runtime base is made from Debian's
# packages with mmdebstrap (libc, libgcc, libpcap and its libraries, CA certificates:
# scripts/images/rootfs.sh) and kept as target/images/base-ARCH.tar, remade only when
# its recipe changes. The images themselves are the Dockerfile's final stages, fed the
# local base and binaries through its RUNTIME and BINARIES build arguments: the
# registry-connected `docker build` makes the same images from the same stages.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

tag=dev
platforms=(linux/amd64)
test_peer=false
while (($#)); do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --test-peer) test_peer=true; shift ;;
    --platform)
      case "$2" in
        linux/amd64) platforms=(linux/amd64) ;;
        linux/arm64) platforms=(linux/amd64 linux/arm64) ;;
        *) echo "images: --platform $2: use linux/amd64 or linux/arm64 (arm64 builds both)" >&2; exit 2 ;;
      esac
      shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "images: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh --images
# podman as this machine's kernel needs it (runc, cgroupfs, no default ulimits).
export CONTAINERS_CONF="$repo/scripts/images/containers.conf"

images=(injector sidecar hub cli)
# Which binary each image runs.
binary() { case "$1" in cli) echo remora ;; *) echo "remora-$1" ;; esac; }

mkdir -p target/images
# The machine's own apt sources (its mirror), or Debian's.
sources=/etc/apt/sources.list.d/debian.sources
[[ -f $sources ]] || sources=http://deb.debian.org/debian

# TAR, a tree of Debian's PACKAGES (comma separated) for ARCH finished by the function
# FINISH (given the tree's path), unless TAR was made from the same RECIPE.
debian_tar() {
  local tar=$1 recipe=$2 arch=$3 packages=$4 finish=$5
  if [[ -f $tar ]] && [[ "$(cat "$tar.recipe" 2>/dev/null)" == "$recipe" ]]; then
    echo "images: $tar (kept)" >&2
    return
  fi
  echo "images: making $tar with mmdebstrap" >&2
  local root
  root=$(mktemp -d)
  mmdebstrap --quiet --mode=chrootless --variant=extract --architectures="$arch" \
    --include="$packages" bookworm "$root" "$sources"
  "$finish" "$root"
  tar --numeric-owner --exclude=./dev -C "$root" -cf "$tar.part" .
  rm -rf "$root"
  mv "$tar.part" "$tar"
  echo "$recipe" > "$tar.recipe"
}

# The runtime base: scripts/images/rootfs.sh keeps what the binaries load.
runtime_base() { sh scripts/images/rootfs.sh "$1"; }
base_tar() {
  local arch=$1
  debian_tar "target/images/base-$arch.tar" "$(cat scripts/images/rootfs.sh scripts/images/packages; echo "$arch")" \
    "$arch" "$(paste -sd, scripts/images/packages)" runtime_base
}

# The binaries for one architecture, as target/images/bin-ARCH/.
build_binaries() {
  local arch=$1 out="target/images/bin-$1"
  local target_args=() dir=target/image
  if [[ $arch == arm64 ]]; then
    if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
      rustup target add aarch64-unknown-linux-gnu >&2 || {
        echo "images: cannot build arm64: Rust's standard library for aarch64-unknown-linux-gnu is missing and rustup could not fetch it; build amd64 only (no --platform), or install it with 'rustup target add aarch64-unknown-linux-gnu' where rustup reaches its server" >&2
        exit 1
      }
    fi
    command -v aarch64-linux-gnu-gcc >/dev/null && dpkg -s libpcap0.8-dev:arm64 >/dev/null 2>&1 || {
      echo "images: cannot build arm64: the cross toolchain (gcc-aarch64-linux-gnu) or arm64 libpcap (libpcap0.8-dev:arm64) is missing; scripts/setup.sh --images-arm64 installs both" >&2
      exit 1
    }
    target_args=(--target aarch64-unknown-linux-gnu)
    dir=target/aarch64-unknown-linux-gnu/image
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export PKG_CONFIG_ALLOW_CROSS=1 PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
  fi
  echo "images: building the $arch binaries (cargo --profile image)" >&2
  local packages=()
  for image in "${images[@]}"; do packages+=(-p "$(binary "$image")"); done
  cargo build --quiet --locked --profile image "${target_args[@]}" "${packages[@]}" --bins
  rm -rf "$out" && mkdir -p "$out"
  for image in "${images[@]}"; do cp "$dir/$(binary "$image")" "$out/"; done
  # CI builds once: the profile's intermediates (over 1 GB) only cost disk there.
  if [[ ${REMORA_IMAGES_DROP_BUILD:-0} == 1 ]]; then rm -rf "$dir"; fi
}

for platform in "${platforms[@]}"; do
  arch=${platform#linux/}
  [[ $arch == arm64 ]] && bash scripts/setup.sh --images-arm64
  base_tar "$arch"
  build_binaries "$arch"
  suffix=""
  ((${#platforms[@]} > 1)) && suffix="-$arch"
  base="localhost/remora-base:$tag$suffix" bins="localhost/remora-binaries:$tag$suffix"
  podman import --quiet --arch "$arch" "target/images/base-$arch.tar" "$base" >/dev/null
  printf 'FROM scratch\nCOPY remora* /out/\n' > "target/images/bin-$arch/Containerfile"
  podman build --quiet --platform "$platform" -f "target/images/bin-$arch/Containerfile" -t "$bins" "target/images/bin-$arch" >/dev/null
  for image in "${images[@]}"; do
    podman build --quiet --platform "$platform" --target "$image" \
      --build-arg RUNTIME="$base" --build-arg BINARIES="$bins" \
      -t "localhost/remora-$image:$tag$suffix" -f Dockerfile . >/dev/null
  done
done

# The container test's peers: busybox (sh, httpd, wget, nslookup), dnsmasq and dnsperf
# (the in-container benchmark's load), kept whole (they are no product image).
test_peer_tree() {
  mkdir -p "$1/www" "$1/tmp"
  chmod 1777 "$1/tmp"
  echo "hello from the app" > "$1/www/index.html"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$1/etc/group"
}
if $test_peer; then
  peer_packages=busybox-static,dnsmasq-base,dnsperf
  debian_tar target/images/testpeer-amd64.tar "$peer_packages" amd64 "$peer_packages" test_peer_tree
  podman import --quiet --change 'ENTRYPOINT ["/bin/busybox"]' target/images/testpeer-amd64.tar "localhost/remora-testpeer:$tag" >/dev/null
fi

if ((${#platforms[@]} > 1)); then
  for image in "${images[@]}"; do
    name="localhost/remora-$image:$tag"
    podman manifest rm "$name" >/dev/null 2>&1 || podman rmi "$name" >/dev/null 2>&1 || true
    podman manifest create "$name" >/dev/null
    for platform in "${platforms[@]}"; do
      podman manifest add "$name" "containers-storage:$name-${platform#linux/}" >/dev/null
    done
  done
  bash scripts/images/smoke-arm64.sh "$tag"
fi

echo "images: built (sizes as stored, uncompressed):" >&2
for image in "${images[@]}"; do
  for platform in "${platforms[@]}"; do
    suffix=""
    ((${#platforms[@]} > 1)) && suffix="-${platform#linux/}"
    name="localhost/remora-$image:$tag$suffix"
    size=$(podman image inspect --format '{{.Size}}' "$name")
    awk -v n="$name" -v s="$size" 'BEGIN { printf "  %-40s %6.1f MB\n", n, s / 1e6 }' >&2
  done
done
