# syntax=docker/dockerfile:1
# The eSignet host with its WebAssembly components, as a small non-root runtime image.
#   docker build -t esignet:0.1.0 .
#   docker run --rm -p 8088:8088 -e ESIGNET_ISSUER=http://127.0.0.1:8088/v1/esignet esignet:0.1.0
# Kubernetes: manifests/helm/esignet (docs/deploy.md). An HSM vendor's PKCS#11 library goes into an image built
# FROM this one.

# Builder and runtime must be the same Debian release: the host links glibc and OpenSSL (native-tls) dynamically.
ARG DEBIAN_RELEASE=bookworm

FROM rust:1.95-${DEBIAN_RELEASE} AS build
# buildpack-deps (the rust image's base) already has pkg-config and libssl-dev.
WORKDIR /src
COPY rust-toolchain.toml ./
RUN rustup target add wasm32-wasip2
COPY . .
# Components (wasm32-wasip2): build.sh copies the product components to target/components/*.wasm, where
# spin.toml's `source` paths point. Then the native host.
RUN CARGO_TARGET_DIR=/build/wasm components/build.sh --locked >/dev/null \
 && CARGO_TARGET_DIR=/build/host cargo build --release --locked -p esignet-host \
 && mkdir -p /out \
 && strip --strip-debug -o /out/esignet /build/host/release/esignet

FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 esignet \
 && useradd --system --uid 10001 --gid esignet --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin esignet \
 && install -d -o esignet -g esignet -m 0700 /var/lib/esignet
COPY --from=build /out/esignet /usr/local/bin/esignet
WORKDIR /opt/esignet
COPY --from=build /src/spin.toml ./spin.toml
COPY --from=build /src/migrations ./migrations
COPY --from=build /src/demo ./demo
COPY --from=build /src/target/components/*.wasm ./target/components/
USER 10001:10001
# Defaults for `docker run`; the Helm chart sets all of these itself. Backends default to the embedded
# single-machine set (SQLite, in-memory cache, soft keystore in the data dir): set ESIGNET_SQL_URL,
# ESIGNET_CACHE_URL and ESIGNET_PKCS11_* (or --runtime-config) for anything else.
ENV ESIGNET_MANIFEST=/opt/esignet/spin.toml \
    ESIGNET_DATA_DIR=/var/lib/esignet/data \
    ESIGNET_LISTEN=0.0.0.0:8088
EXPOSE 8088
ENTRYPOINT ["esignet", "up"]
