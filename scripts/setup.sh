#!/bin/sh
# Installs everything the project needs, once, and exports where it is. Sourced by the other
# scripts; safe to run again (each step is skipped when already done).
#
#   - the wasm32-unknown-unknown Rust target
#   - worker-build, and wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock,
#     into $TOC_TOOLS_DIR (default ~/.cache/techopenclaw/tools), one directory per version
#   - npm packages from package-lock.json
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${TOC_TOOLS_DIR:-$HOME/.cache/techopenclaw/tools}
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "setup: could not read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi

log() { printf 'setup: %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >&2
fi

# cargo install into a per-version root; --locked first, then without it (some pinned
# transitive versions are missing from registry mirrors).
install_tool() { # crate version binary
  dir="$TOOLS/$1-$2"
  if [ ! -x "$dir/bin/$3" ]; then
    log "installing $1 $2 (first run only; takes a few minutes)"
    cargo install --quiet --locked --root "$dir" "$1@$2" >&2 \
      || cargo install --quiet --root "$dir" "$1@$2" >&2
  fi
}
install_tool worker-build "$WORKER_BUILD_VERSION" worker-build
install_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen

if [ ! -d "$ROOT/node_modules/wrangler" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  log "installing npm packages"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

export WORKER_BUILD="$TOOLS/worker-build-$WORKER_BUILD_VERSION/bin/worker-build"
export WASM_BINDGEN_BIN="$TOOLS/wasm-bindgen-cli-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export PATH="$ROOT/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false
