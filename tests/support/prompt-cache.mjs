// Prefix prompt caching as each vendor does it, for the mock upstream (`promptCache: true`), so
// tests can measure cache hits through the gateway. Token counts are approximations (4 bytes of
// JSON per token); what matters is which prefix is shared.
//
// Anthropic (explicit): only what is marked caches. Blocks in the order tools → system →
// messages; a `cache_control` marks a breakpoint (the top-level automatic form marks the last
// block); more than 4 is a 400 in Anthropic's words. Each breakpoint looks back at most 20
// blocks for a prefix an earlier request wrote; the longest hit is read, and the prefix up to
// the last breakpoint is written (when at least `minTokens`). The attribution block
// (`x-anthropic-billing-header`, first in `system`) is left out as Anthropic does. Caches are
// per API key (an organisation) and model. Usage: `cache_read_input_tokens`,
// `cache_creation_input_tokens`, and `input_tokens` after the last breakpoint.
//
// OpenAI (Chat and Responses, automatic): a prompt of at least 1024 tokens hits the longest
// prefix a request of the same key, model and routing (the `prompt_cache_key`, else the first
// 256 tokens) sent before, in steps of 128 tokens. Usage counts cached tokens inside the input.
//
// Gemini (implicit): like OpenAI without a routing key; `cachedContentTokenCount`.

import { createHash } from "node:crypto";

const BYTES_PER_TOKEN = 4;
const LOOKBACK_BLOCKS = 20;
const MAX_BREAKPOINTS = 4;
const OPENAI_MIN_TOKENS = 1024;
const OPENAI_STEP_TOKENS = 128;

const tokensOf = (value) => Math.ceil(JSON.stringify(value ?? null).length / BYTES_PER_TOKEN);
const digest = (hash, value) => hash.update(JSON.stringify(value ?? null)).update("\u0000");

/** A request as a list of blocks, each with its token count and the hash of the prefix ending with it. */
function prefixes(blocks) {
  const hash = createHash("sha256");
  let tokens = 0;
  return blocks.map((block) => {
    digest(hash, block);
    tokens += tokensOf(block);
    return { tokens, prefix: hash.copy().digest("hex") };
  });
}

function withoutMarker(block) {
  if (!block || typeof block !== "object" || !("cache_control" in block)) return block;
  const { cache_control: _marker, ...rest } = block;
  return rest;
}

/** Anthropic's blocks in prefix order, and which of them carry a breakpoint. */
function anthropicBlocks(body) {
  const blocks = [];
  const marked = [];
  const push = (block) => {
    if (block && typeof block === "object" && block.cache_control) marked.push(blocks.length);
    blocks.push(withoutMarker(block));
  };
  for (const tool of body.tools ?? []) push(tool);
  const system = typeof body.system === "string" ? [{ type: "text", text: body.system }] : (body.system ?? []);
  system.forEach((block, i) => {
    if (i === 0 && typeof block?.text === "string" && block.text.startsWith("x-anthropic-billing-header:")) {
      if (block.cache_control) marked.push(Math.max(blocks.length - 1, 0));
      return; // stripped by position, as Anthropic does
    }
    push(block);
  });
  for (const message of body.messages ?? []) {
    const content = typeof message.content === "string" ? [{ type: "text", text: message.content }] : (message.content ?? []);
    for (const block of content) push({ role: message.role, ...block });
  }
  if (body.cache_control && blocks.length) {
    let last = blocks.length - 1;
    while (last > 0 && ["thinking", "redacted_thinking"].includes(blocks[last].type)) last--;
    marked.push(last);
  }
  return { blocks, marked: [...new Set(marked)].sort((a, b) => a - b), count: marked.length };
}

export function createPromptCache({ anthropicMinTokens = 1024 } = {}) {
  const written = new Set(); // `${account}|${prefix}` (Anthropic)
  const seen = new Map(); // `${account}|${routing}` → Set of prefix hashes (OpenAI, Gemini)

  function anthropic(body, account) {
    const { blocks, marked, count } = anthropicBlocks(body);
    if (count > MAX_BREAKPOINTS) {
      return { error: `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${count}.` };
    }
    const chain = prefixes(blocks);
    const total = chain.at(-1)?.tokens ?? 0;
    let read = 0;
    for (const b of marked) {
      for (let j = b; j >= 0 && j >= b - LOOKBACK_BLOCKS; j--) {
        if (written.has(`${account}|${chain[j].prefix}`)) {
          read = Math.max(read, chain[j].tokens);
          break;
        }
      }
    }
    let write = 0;
    const last = marked.at(-1);
    if (last !== undefined && chain[last].tokens >= anthropicMinTokens) {
      write = Math.max(0, chain[last].tokens - read);
      for (const b of marked) if (chain[b].tokens >= anthropicMinTokens) written.add(`${account}|${chain[b].prefix}`);
    }
    return { input: total, cacheRead: read, cacheWrite: write };
  }

  function automatic(blocks, account, routing, minTokens) {
    const chain = prefixes(blocks);
    const total = chain.at(-1)?.tokens ?? 0;
    const bucketKey = `${account}|${routing}`;
    const bucket = seen.get(bucketKey) ?? new Set();
    seen.set(bucketKey, bucket);
    let hit = 0;
    for (const link of chain) if (bucket.has(link.prefix)) hit = link.tokens;
    for (const link of chain) bucket.add(link.prefix);
    const cached = hit >= minTokens && total >= minTokens ? Math.floor(hit / OPENAI_STEP_TOKENS) * OPENAI_STEP_TOKENS : 0;
    return { input: total, cacheRead: cached, cacheWrite: 0 };
  }

  function openaiBlocks(format, body) {
    const head = [body.tools ?? null, body.text?.format ?? body.response_format ?? null];
    if (format === "chat") return [...head, ...(body.messages ?? [])];
    const input = typeof body.input === "string" ? [{ role: "user", content: body.input }] : (body.input ?? []);
    return [...head, body.instructions ?? null, ...input];
  }

  return {
    /**
     * The usage figures a request earns: { input, cacheRead, cacheWrite } (input counts
     * everything), or { error } for a request the vendor refuses.
     */
    measure(format, body, apiKey, model) {
      const account = `${apiKey}|${model}`;
      if (format === "anthropic") return anthropic(body, account);
      if (format === "gemini") {
        const blocks = [body.systemInstruction ?? null, body.tools ?? null, ...(body.contents ?? [])];
        return automatic(blocks, account, "", OPENAI_MIN_TOKENS);
      }
      const blocks = openaiBlocks(format, body);
      const firstTokens = JSON.stringify(blocks).slice(0, 256 * BYTES_PER_TOKEN);
      const routing = typeof body.prompt_cache_key === "string" ? `key:${body.prompt_cache_key}` : `prefix:${firstTokens}`;
      return automatic(blocks, account, routing, OPENAI_MIN_TOKENS);
    },
  };
}
