#!/usr/bin/env bash
# The arm64 images' smoke test, under qemu-user-static: each binary answers --version, and
# the CLI replays the sample captures to the same items as the amd64 image.
#   bash scripts/images/smoke-arm64.sh TAG     (scripts/images.sh --platform linux/arm64 runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-dev}
export CONTAINERS_CONF="$PWD/scripts/images/containers.conf"
for image in injector sidecar hub cli; do
  printf 'images: arm64 %s: ' "$image" >&2
  podman run --rm --pull=never --platform linux/arm64 "localhost/remora-$image:$tag-arm64" --version >&2
done
captures=()
for file in examples/captures/*.pcap; do captures+=("/captures/$(basename "$file")"); done
replay() {
  podman run --rm --pull=never --platform "linux/$1" --hostname remora --network none --volume "$PWD/examples/captures:/captures:ro" \
    "localhost/remora-cli:$tag-$1" replay --output json --quiet "${captures[@]}"
}
amd64=$(replay amd64)
arm64=$(replay arm64)
items=$(printf '%s\n' "$amd64" | grep -c .)
if [[ "$amd64" != "$arm64" ]]; then
  echo "images: the arm64 CLI's items differ from the amd64 CLI's:" >&2
  diff <(printf '%s\n' "$amd64") <(printf '%s\n' "$arm64") | head -20 >&2
  exit 1
fi
echo "images: arm64 replay of examples/captures: the same $items items as amd64" >&2
