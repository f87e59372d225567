#!/bin/sh
# Installs the real Claude Code, Codex and Gemini CLIs (pinned in tests/clients/package-lock.json)
# once, into $TOC_TOOLS_DIR/clients-<hash of the lock file>, and prints that directory.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${TOC_TOOLS_DIR:-$HOME/.cache/techopenclaw/tools}
LOCK_HASH=$(sha256sum "$ROOT/tests/clients/package-lock.json" | cut -c1-12)
DIR="$TOOLS/clients-$LOCK_HASH"
CLAUDE="$DIR/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
GEMINI="$DIR/node_modules/@google/gemini-cli/bundle/gemini.js"
if [ ! -x "$CLAUDE" ] || [ ! -f "$GEMINI" ] || [ ! -x "$DIR/node_modules/.bin/codex" ] || [ ! -e "$DIR/.installed" ]; then
  echo "setup: installing Claude Code, Codex and Gemini CLI for the end-to-end client test (first run only)" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR"
  cp "$ROOT/tests/clients/package.json" "$ROOT/tests/clients/package-lock.json" "$DIR/"
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  # npm 11 does not run install scripts by default; Claude Code's puts its native binary in place.
  (cd "$DIR/node_modules/@anthropic-ai/claude-code" && node install.cjs >&2)
  # Gemini CLI is one bundled script and has no install script of its own. Its optional native
  # dependencies that do (keytar for the OS keychain, node-pty for interactive shells) stay
  # unbuilt: a headless run with an API key uses neither. Check that the bundle starts and is
  # the pinned version (with a HOME of its own: it writes ~/.gemini even for --version).
  want=$(node -p "require('$DIR/node_modules/@google/gemini-cli/package.json').version")
  home=$(mktemp -d)
  got=$(HOME="$home" node "$GEMINI" --version 2>/dev/null || true)
  rm -rf "$home"
  if [ "$got" != "$want" ]; then
    echo "setup: Gemini CLI $want does not start (--version printed '$got')" >&2
    exit 1
  fi
  touch "$DIR/.installed"
fi
echo "$DIR"
