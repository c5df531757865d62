# syntax=docker/dockerfile:1.7
#
# One image for every service binary of the workspace: recommendations,
# marketplace, loadgen and any service `cargo xtask new-service` adds (every
# binary but the benchmarks' and xtask's). Compose and Kubernetes pick the
# binary with `command`/`entrypoint`, so a release is one build and one push.
#
# Stages:
#   chef    - the pinned Rust toolchain plus cargo-chef;
#   planner - turns the workspace into a dependency-only "recipe";
#   builder - compiles the recipe (cached until Cargo.lock or a manifest
#             changes), then the workspace itself;
#   runtime - distroless, non-root, binaries only.
#
# Build: docker build -t ghcr.io/example/online-books:0.1.0 .

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS chef
# The version is pinned so a rebuild months from now produces the same recipe
# format; --locked uses cargo-chef's own lock file.
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only. This layer is reused for every source-only change, which
# is most of them. The registry cache mount also survives recipe changes.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
# The proto crate's build script compiles protobufs/ with protox, a pure-Rust
# compiler, so no protoc is installed here. The binaries are copied out of
# target/ in the same RUN because nothing under a cache mount outlives it;
# target/ itself is not a cache mount so the cooked layer above stays usable.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    cargo build --release --locked --workspace --bins \
        --exclude bench --exclude xtask \
 && mkdir -p /out \
 && find target/release -maxdepth 1 -type f -perm -u+x -exec cp {} /out/ \;

FROM ${RUNTIME_IMAGE} AS runtime
# glibc and libgcc come with the cc variant; there is no shell, package manager
# or CA bundle beyond distroless' own. No certificates or secrets are baked
# in: TLS material, when enabled, is mounted at run time.
COPY --from=builder /out/ /usr/local/bin/
# 65532 is distroless' "nonroot". A numeric user lets Kubernetes verify
# runAsNonRoot without reading /etc/passwd from the image.
USER 65532:65532
# recommendations: gRPC 50051, admin 9051. marketplace: HTTP 8080, admin 9080.
EXPOSE 50051 9051 8080 9080
# No shell means no shell-form HEALTHCHECK; compose and Kubernetes run
# `<binary> healthcheck`, which asks the binary's own /readyz. CMD rather than
# ENTRYPOINT, so `command:` in compose and Kubernetes picks the binary.
CMD ["/usr/local/bin/marketplace"]
