#!/bin/sh
# Turns a Debian tree extracted by mmdebstrap (--variant=extract, into directory $1) into
# Remora's runtime base: the shared libraries the binaries load (libc, libgcc, libpcap
# and what libpcap links), CA certificates as one bundle, a passwd with the chart's
# non-root user, and nothing else: no shell, no package manager. scripts/images.sh runs
# it here, the Dockerfile's rootfs stage in a registry-connected build.
#
# Plain POSIX sh and coreutils: it runs on the build host, never inside the tree.
set -eu
cd "$1"
keep=$(mktemp -d)

# One CA bundle, as update-ca-certificates would make it (that script, and the openssl
# that ca-certificates pulls in, stay out).
mkdir -p "$keep/etc/ssl/certs"
cat usr/share/ca-certificates/mozilla/*.crt > "$keep/etc/ssl/certs/ca-certificates.crt"

# The libraries: every lib*.so* and the loader in the library directories, less what no
# Remora binary loads (openssl's; gconv's modules, which only iconv opens).
for dir in lib lib64 lib/*-linux-gnu usr/lib/*-linux-gnu; do
  [ -d "$dir" ] || continue
  find "$dir" -maxdepth 1 \( -name 'lib*.so*' -o -name 'ld-linux*' \) \
    ! -name 'libssl.so*' ! -name 'libcrypto.so*' -exec cp -a --parents {} "$keep/" \;
done

# Users: root (the sidecar, for NET_RAW) and the chart's non-root 65532.
mkdir -p "$keep/etc" "$keep/tmp" "$keep/usr/local/bin"
printf 'root:x:0:0:root:/root:/nonexistent\nnonroot:x:65532:65532:nonroot:/home/nonroot:/nonexistent\n' > "$keep/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$keep/etc/group"
# /etc/hosts first (the kubelet's, podman's --add-host), then DNS.
printf 'hosts: files dns\n' > "$keep/etc/nsswitch.conf"
chmod 1777 "$keep/tmp"

find . -mindepth 1 -maxdepth 1 ! -name dev -exec rm -rf {} +
cp -a "$keep/." .
rm -rf "$keep"
