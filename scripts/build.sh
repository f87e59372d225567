#!/bin/sh
# Builds the Worker into build/ (wasm-opt is switched off in Cargo.toml: its binary comes from
# GitHub, which this toolchain must not depend on).
set -eu
cd "$(dirname "$0")/.."
. scripts/setup.sh
"$WORKER_BUILD" --release
