# One Dockerfile for Remora's images; pick one with --target:
#
#   docker build --target injector -t ghcr.io/remora-dev/remora-injector:0.1.0 .
#   docker build --target cli      -t ghcr.io/remora-dev/remora:0.1.0 .          # `remora`, for the chart's cert hook Jobs
#   docker build --target sidecar  -t ghcr.io/remora-dev/remora-sidecar:0.1.0 .
#   docker build --target hub      -t ghcr.io/remora-dev/remora-hub:0.1.0 .    
#
# With BuildKit only the stages a target needs are built. Every binary links libpcap
# (the injector compiles capture filters with it), so each final image carries libpcap0.8.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile image --locked --workspace --bins \
 && mkdir -p /out \
 && find target/image -maxdepth 1 -type f -executable -name 'remora*' -exec cp {} /out/ \;

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# mimalloc (the binaries' allocator) commits its first arena eagerly on Linux, which the
# kernel may back with huge pages: 10 MiB of RSS for nothing in an idle sidecar
# (bench/sidecar_rss.py). Commit on demand instead.
ENV MIMALLOC_ARENA_EAGER_COMMIT=0

FROM runtime AS injector
COPY --from=build /out/remora-injector /usr/local/bin/remora-injector
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/remora-injector"]

FROM runtime AS cli
COPY --from=build /out/remora /usr/local/bin/remora
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/remora"]

# Runs as root with every capability but NET_RAW dropped by the injected securityContext.
FROM runtime AS sidecar
COPY --from=build /out/remora-sidecar /usr/local/bin/remora-sidecar
ENTRYPOINT ["/usr/local/bin/remora-sidecar"]

FROM runtime AS hub
COPY --from=build /out/remora-hub /usr/local/bin/remora-hub
USER 65532:65532
EXPOSE 8898 8899
ENTRYPOINT ["/usr/local/bin/remora-hub"]
