#!/usr/bin/env bash
# Builds the guest SDKs and the test components for wasm32-wasip2 in release mode and prints the wasm paths.
# CARGO_TARGET_DIR defaults to /var/tmp/esignet-components-target; extra arguments go to cargo (e.g. -j1).
set -euo pipefail

cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/esignet-components-target}"

COMPONENTS=(test-hello-v1 test-hello-v2 test-caps test-runaway test-plugin test-plugin-caller test-authenticator-flow
    test-credential-data test-credential-data-caller)
# Product components: also copied to ../target/components/<crate>.wasm, where spin.toml's sources point.
PRODUCTS=(oidc ui client-mgmt mock-identity vci)

rustup target add wasm32-wasip2 >&2

packages=()
for c in "${COMPONENTS[@]}" "${PRODUCTS[@]}"; do packages+=(-p "$c"); done
cargo build --release --target wasm32-wasip2 "${packages[@]}" "$@" >&2

for c in "${COMPONENTS[@]}"; do
    wasm="$CARGO_TARGET_DIR/wasm32-wasip2/release/${c//-/_}.wasm"
    [ -f "$wasm" ] || { echo "missing $wasm" >&2; exit 1; }
    echo "$wasm"
done

mkdir -p ../target/components
for c in "${PRODUCTS[@]}"; do
    wasm="$CARGO_TARGET_DIR/wasm32-wasip2/release/${c//-/_}.wasm"
    [ -f "$wasm" ] || { echo "missing $wasm" >&2; exit 1; }
    cp "$wasm" "../target/components/${c//-/_}.wasm"
    echo "../target/components/${c//-/_}.wasm"
done
