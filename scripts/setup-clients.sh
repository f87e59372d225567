#!/bin/sh
# Installs the real Claude Code and Codex CLIs (pinned in tests/clients/package-lock.json) once,
# into $TOC_TOOLS_DIR/clients-<hash of the lock file>, and prints that directory.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${TOC_TOOLS_DIR:-$HOME/.cache/techopenclaw/tools}
LOCK_HASH=$(sha256sum "$ROOT/tests/clients/package-lock.json" | cut -c1-12)
DIR="$TOOLS/clients-$LOCK_HASH"
if [ ! -x "$DIR/node_modules/@anthropic-ai/claude-code/bin/claude.exe" ] || [ ! -e "$DIR/.installed" ]; then
  echo "setup: installing Claude Code and Codex for the end-to-end client test (first run only)" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR"
  cp "$ROOT/tests/clients/package.json" "$ROOT/tests/clients/package-lock.json" "$DIR/"
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  # npm 11 does not run install scripts by default; Claude Code's puts its native binary in place.
  (cd "$DIR/node_modules/@anthropic-ai/claude-code" && node install.cjs >&2)
  touch "$DIR/.installed"
fi
echo "$DIR"
