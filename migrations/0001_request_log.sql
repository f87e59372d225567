-- The request log (D1). One row per call, metadata only: never prompt or answer text.
-- Written by the Worker's queue consumer; see src/request_log and src/edge/request_log.rs.
CREATE TABLE IF NOT EXISTS requests (
  id TEXT PRIMARY KEY,                 -- the gateway's request id (x-request-id)
  ts INTEGER NOT NULL,                 -- when the call arrived, ms since the epoch
  day TEXT NOT NULL,                   -- its UTC date, YYYY-MM-DD
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,                 -- the public model id the client asked for
  provider TEXT,                       -- the provider that answered (or failed last)
  upstream_model TEXT,
  client_format TEXT NOT NULL,         -- openai-chat | anthropic | openai-responses | gemini
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,             -- the HTTP status the client got
  outcome TEXT NOT NULL,               -- ok | incomplete | an error type (upstream_error, timeout, ...)
  input_tokens INTEGER NOT NULL,       -- charged input, cache reads and writes included
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,      -- charged output, reasoning included
  reasoning_tokens INTEGER NOT NULL,
  web_search_calls INTEGER NOT NULL,
  estimated INTEGER NOT NULL,          -- 1: the upstream reported no usage, the gateway estimated it
  cost_pico INTEGER,                   -- USD × 10^12; NULL when the model has no price
  latency_ms INTEGER NOT NULL,         -- arrival to the end of the answer
  ttft_ms INTEGER,                     -- arrival to the first content of a streamed answer
  warnings TEXT,                       -- x-toc-warnings
  rolled INTEGER NOT NULL DEFAULT 0    -- added to rollups (so a redelivered message is not added twice)
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts);
CREATE INDEX IF NOT EXISTS requests_key_ts ON requests (key_id, ts);

CREATE TABLE IF NOT EXISTS rollups (
  day TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,             -- calls whose outcome is not ok
  input_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  web_search_calls INTEGER NOT NULL,
  cost_pico INTEGER NOT NULL,
  unpriced INTEGER NOT NULL,           -- calls of models without a price (not in cost_pico)
  PRIMARY KEY (day, key_id, model)
);
CREATE INDEX IF NOT EXISTS rollups_key_day ON rollups (key_id, day);
