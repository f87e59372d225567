#!/bin/sh
# Installs Debian's Chromium for the dashboards' browser tests, once (the tests drive it with
# playwright-core at /usr/bin/chromium; nothing downloads a browser of its own).
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "setup: installing Debian's chromium for the browser tests (first run only)" >&2
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq >&2
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
else
  echo "setup: the browser tests need /usr/bin/chromium: run 'apt-get install chromium' as root" >&2
  exit 1
fi
