#!/bin/sh
# Runs the gateway locally: wrangler dev (workerd) with local KV, Durable Objects, D1 and Queues
# in .wrangler/state and the bundled config/gateway.toml. The request log's D1 schema is applied
# first (migrations/), and the demo provider stands in for models without an upstream key
# unless .dev.vars says DEMO=off.
set -eu
cd "$(dirname "$0")/.."
. scripts/setup.sh
PORT=${PORT:-8787}
if [ ! -f .dev.vars ]; then
  token="adm-$(node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))')"
  printf 'ADMIN_TOKEN=%s\n# Upstream keys, as named in config/gateway.toml:\n# OPENAI_API_KEY=\n# ANTHROPIC_API_KEY=\n# GEMINI_API_KEY=\n# DEEPSEEK_API_KEY=\n# The demo provider answers for models without a key; DEMO=off switches it off.\n# DEMO=off\n' "$token" > .dev.vars
  echo "dev: wrote .dev.vars with a new ADMIN_TOKEN; add your upstream keys there."
fi
ADMIN_TOKEN=$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)
DEMO_VAR=""
if ! grep -q '^DEMO=' .dev.vars; then
  DEMO_VAR="--var DEMO:on"
fi
wrangler d1 migrations apply LOG_DB --local </dev/null >/dev/null
cat <<TXT

  Gateway starting on http://localhost:$PORT
  Dashboards:  http://localhost:$PORT/admin (admin token below)   http://localhost:$PORT/dashboard (a key)
  Create your first key:

    curl -s http://localhost:$PORT/admin/keys \\
      -H "Authorization: Bearer $ADMIN_TOKEN" \\
      -H "content-type: application/json" \\
      -d '{"plan":"pro","name":"me"}'

  Then call a model (the demo provider answers until an upstream key is set in .dev.vars):

    curl -s http://localhost:$PORT/v1/chat/completions -H "Authorization: Bearer toc-..." \\
      -H "content-type: application/json" \\
      -d '{"model":"gpt-5.3","messages":[{"role":"user","content":"Hello"}]}'

TXT
# shellcheck disable=SC2086 # DEMO_VAR is empty or two words
exec wrangler dev --local --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false $DEMO_VAR "$@"
