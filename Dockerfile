# One Dockerfile for Remora's images; pick one with --target:
#
#   docker build --target injector -t ghcr.io/remora-dev/remora-injector:0.1.0 .
#   docker build --target cli      -t ghcr.io/remora-dev/remora:0.1.0 .          # `remora`, for the chart's cert hook Jobs
#   docker build --target sidecar  -t ghcr.io/remora-dev/remora-sidecar:0.1.0 .
#   docker build --target hub      -t ghcr.io/remora-dev/remora-hub:0.1.0 .
#
# Only the stages a target needs are built. Without a registry, scripts/images.sh builds
# the same final stages with podman, from a base and binaries it made itself:
#   --build-arg RUNTIME=localhost/remora-base:dev --build-arg BINARIES=localhost/remora-binaries:dev
# Every binary links libpcap (the injector compiles capture filters with it), so the
# runtime base carries libpcap and what it links, made from Debian's packages by
# scripts/images/rootfs.sh: no shell, no package manager.

ARG RUNTIME=runtime-debian
ARG BINARIES=build

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile image --locked -p remora -p remora-injector -p remora-sidecar -p remora-hub --bins \
 && mkdir -p /out \
 && cp target/image/remora target/image/remora-injector target/image/remora-sidecar target/image/remora-hub /out/

FROM debian:bookworm AS rootfs
RUN apt-get update \
 && apt-get install -y --no-install-recommends mmdebstrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/images/packages scripts/images/rootfs.sh /recipe/
RUN mmdebstrap --quiet --mode=chrootless --variant=extract --include="$(paste -sd, /recipe/packages)" bookworm /rootfs \
 && sh /recipe/rootfs.sh /rootfs \
 && rm -rf /rootfs/dev

FROM scratch AS runtime-debian
COPY --from=rootfs /rootfs/ /

FROM ${BINARIES} AS binaries

FROM ${RUNTIME} AS runtime
# mimalloc (the binaries' allocator) commits its first arena eagerly on Linux, which the
# kernel may back with huge pages: 10 MiB of RSS for nothing in an idle sidecar
# (bench/sidecar_rss.py). Commit on demand instead.
ENV MIMALLOC_ARENA_EAGER_COMMIT=0

FROM runtime AS injector
COPY --from=binaries /out/remora-injector /usr/local/bin/remora-injector
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/remora-injector"]

FROM runtime AS cli
COPY --from=binaries /out/remora /usr/local/bin/remora
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/remora"]

# Runs as root with every capability but NET_RAW dropped by the injected securityContext.
FROM runtime AS sidecar
COPY --from=binaries /out/remora-sidecar /usr/local/bin/remora-sidecar
ENTRYPOINT ["/usr/local/bin/remora-sidecar"]

FROM runtime AS hub
COPY --from=binaries /out/remora-hub /usr/local/bin/remora-hub
USER 65532:65532
EXPOSE 8898 8899
ENTRYPOINT ["/usr/local/bin/remora-hub"]
