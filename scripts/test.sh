#!/bin/sh
# Every test: formatting and lints, the native core tests, then the built Worker in workerd
# against the mock upstream with the official SDKs, and the dashboards in headless Chromium.
set -eu
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet --lib --target wasm32-unknown-unknown -- -D warnings
cargo test --quiet
sh scripts/build.sh
sh scripts/setup-browser.sh
node --test --test-concurrency=1 --test-timeout=120000 tests/integration/
