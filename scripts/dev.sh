#!/bin/sh
# Runs the gateway locally: wrangler dev (workerd) with local KV and Durable Object state in
# .wrangler/state and the bundled config/gateway.toml.
set -eu
cd "$(dirname "$0")/.."
. scripts/setup.sh
PORT=${PORT:-8787}
if [ ! -f .dev.vars ]; then
  token="adm-$(node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))')"
  printf 'ADMIN_TOKEN=%s\n# Upstream keys, as named in config/gateway.toml:\n# OPENAI_API_KEY=\n# ANTHROPIC_API_KEY=\n# DEEPSEEK_API_KEY=\n' "$token" > .dev.vars
  echo "dev: wrote .dev.vars with a new ADMIN_TOKEN; add your upstream keys there."
fi
ADMIN_TOKEN=$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)
cat <<TXT

  Gateway starting on http://localhost:$PORT
  Create your first key:

    curl -s http://localhost:$PORT/admin/keys \\
      -H "Authorization: Bearer $ADMIN_TOKEN" \\
      -H "content-type: application/json" \\
      -d '{"plan":"pro","name":"me"}'

  Then point a client at it, e.g.  ANTHROPIC_BASE_URL=http://localhost:$PORT ANTHROPIC_AUTH_TOKEN=toc-... claude

TXT
exec wrangler dev --local --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false "$@"
