// A mock LLM upstream that speaks the four provider formats the gateway calls, as the vendors
// do, non-streaming and streaming:
//
//   POST /chat/v1/chat/completions        OpenAI Chat Completions   (Authorization: Bearer)
//   POST /anthropic/v1/messages           Anthropic Messages        (x-api-key or Bearer, + anthropic-version)
//   POST /anthropic/v1/messages/count_tokens
//   POST /responses/v1/responses          OpenAI Responses          (Authorization: Bearer)
//   POST /responses/v1/responses/input_tokens
//   POST /gemini/v1beta/models/{model}:generateContent               Google Gemini (x-goog-api-key or ?key=; v1 too)
//   POST /gemini/v1beta/models/{model}:streamGenerateContent?alt=sse (data-only SSE, events end in \r\n\r\n)
//   POST /gemini/v1beta/models/{model}:countTokens
//
// The answer is chosen by a scenario keyword in the last user text, `[scenario:NAME]`, so a
// scenario survives any translation of the request. Without a keyword the scenario is `text`.
// Every scenario's text and usage are fixed and exported (SCENARIOS, expectedUsage) so tests can
// assert exact values. Every request is recorded (path, headers, parsed body, scenario, whether
// the client went away before the answer ended) together with the highest number of requests
// in flight at once.
//
// Scenarios:
//   text            plain answer (cached-token figures non-zero: 1024 read, Anthropic also 16 written)
//   tools           a sentence, then two parallel tool calls whose arguments stream in fragments
//   thinking        reasoning (Anthropic: when `thinking` is on; Responses: summary when
//                   `reasoning.summary` is set, encrypted_content when included; Chat:
//                   DeepSeek-style `reasoning_content`; Gemini: thought parts when
//                   `includeThoughts`, and a thoughtSignature on the last part as Gemini 3
//                   always sends) then text
//   thinking_tools  the `thinking` reasoning (same conditions, signature and encrypted blob), no
//                   text, then the two `tools` calls
//   tools_odd_ids   the `tools` answer, but the OpenAI formats' call ids contain characters
//                   Anthropic ids cannot (`functions.get_weather:0`, `call|mockTime02`), and
//                   Gemini's calls come without ids (as Gemini 2.5 sends them)
//   max_tokens      a truncated answer (max_tokens / length / incomplete)
//   refusal         a refusal (Chat `refusal` field, Responses refusal part, Anthropic stop_reason refusal)
//   stop_sequence   stops on the request's first stop sequence (Anthropic reports which)
//   slow            first text delta, then a hold of `slowHoldMs` (1000 ms), then the rest
//                   (non-streaming: the whole answer after the hold)
//   midstream_error some text, then the format's in-band error event, then the body ends
//   early_error     200, then an error event before anything else (Anthropic's overloaded case)
//   eof             some text, then the body ends cleanly without the terminal event
//   reset           some text, then the connection is destroyed
//   error_<status>  HTTP error in the vendor's shape: 400 context overflow in the vendor's words,
//                   429 with retry-after, 500, 503/529 overloaded, others generic
//   hang_headers    never answers (for header timeouts); the request stays open until aborted
//   long            `longEvents` (200) text deltas `longIntervalMs` (10 ms) apart, for disconnects
//   web_search      when the request offers the vendor's own web search tool (Anthropic
//                   `web_search_<date>`, Responses `web_search`): one search, its results, then
//                   text in three segments, the middle one citing the first result, in the
//                   vendor's shapes (Anthropic: `server_tool_use`, `web_search_tool_result`, text
//                   blocks with `citations` / `citations_delta`, `usage.server_tool_use`;
//                   Responses: a `web_search_call` item with `web_search_call.*` progress events,
//                   its sources when `include` asks for them, `url_citation` annotations and
//                   `output_text.annotation.added`). Without the tool: the same text, no search,
//                   no citation. A search tool of another vendor's shape is a 400, as the vendors
//                   answer it.
//
// Streaming answers go out one SSE frame per write, so the gateway sees them as they happen.

import http from "node:http";
import { once } from "node:events";

import { createPromptCache } from "./prompt-cache.mjs";

export const FORMATS = ["chat", "anthropic", "responses", "gemini"];

/**
 * Path prefix per format; the gateway appends /chat/completions, /messages, /responses or
 * /models/{model}:{method}.
 */
export const BASE_PATHS = { chat: "/chat/v1", anthropic: "/anthropic/v1", responses: "/responses/v1", gemini: "/gemini/v1beta" };

export const DEFAULT_API_KEY = "sk-mock";
export const ANTHROPIC_VERSION = "2023-06-01";
/** What count_tokens / input_tokens answer. */
export const COUNTED_INPUT_TOKENS = 4242;

const WEATHER_ARGS = ['{"city":', '"Paris",', '"unit":"celsius"}'];
const TIME_ARGS = ['{"timezone"', ':"Europe/Paris"}'];
const TOOL_CALLS = [
  { name: "get_weather", callId: "call_mockWeather01", toolUseId: "toolu_01MockWeather", fragments: WEATHER_ARGS },
  { name: "get_time", callId: "call_mockTime02", toolUseId: "toolu_01MockTime", fragments: TIME_ARGS },
];
const THINKING = ["The user wants", " a greeting.", " I will say hello."];
/** Vendor reasoning state only the mock's own format can make sense of. */
const SIGNATURE = "EqQBCkYIBRgCKkDmockSignatureOnlyValidForTheMockUpstream==";
/** Gemini's thought signature (sent with every answer, as Gemini 3 does). */
export const GEMINI_SIGNATURE = "CiQBcsjafMockThoughtSignatureOnlyValidForTheMockUpstream==";
/** Ids Gemini 3 gives its calls, per tool. */
const GEMINI_CALL_IDS = { get_weather: "mockweather01", get_time: "mocktime02" };
const ENCRYPTED = "gAAAAABmockEncryptedReasoningOnlyValidForTheMockUpstream==";

/**
 * Fixed content per scenario. `usage` is canonical: `input` counts every prompt token (cache
 * reads and writes included), `output` every generated token (reasoning included). OpenAI
 * formats report `cacheWrite` nowhere; Anthropic reports no reasoning figure.
 */
export const SCENARIOS = {
  text: {
    text: ["Hello", " from the", " mock upstream", "."],
    usage: { input: 1500, cacheRead: 1024, cacheWrite: 16, output: 12, reasoning: 0 },
  },
  tools: {
    text: ["Let me check", " both."],
    tools: TOOL_CALLS,
    usage: { input: 320, cacheRead: 0, cacheWrite: 0, output: 41, reasoning: 0 },
  },
  thinking: {
    thinking: THINKING,
    signature: SIGNATURE,
    encrypted: ENCRYPTED,
    text: ["Hello", " after thinking."],
    usage: { input: 400, cacheRead: 256, cacheWrite: 0, output: 90, reasoning: 64 },
  },
  thinking_tools: {
    thinking: THINKING,
    signature: SIGNATURE,
    encrypted: ENCRYPTED,
    tools: TOOL_CALLS,
    usage: { input: 420, cacheRead: 0, cacheWrite: 0, output: 110, reasoning: 64 },
  },
  tools_odd_ids: {
    text: ["Let me check", " both."],
    tools: [
      { ...TOOL_CALLS[0], callId: "functions.get_weather:0" },
      { ...TOOL_CALLS[1], callId: "call|mockTime02" },
    ],
    usage: { input: 320, cacheRead: 0, cacheWrite: 0, output: 41, reasoning: 0 },
  },
  max_tokens: {
    text: ["This answer is", " cut short"],
    usage: { input: 50, cacheRead: 0, cacheWrite: 0, output: 16, reasoning: 0 },
  },
  refusal: {
    refusal: ["I'm sorry,", " I can't help with that."],
    usage: { input: 60, cacheRead: 0, cacheWrite: 0, output: 9, reasoning: 0 },
  },
  stop_sequence: {
    text: ["Counting: 1,", " 2,", " 3"],
    usage: { input: 70, cacheRead: 0, cacheWrite: 0, output: 7, reasoning: 0 },
  },
  slow: {
    text: ["First", " then", " the rest."],
    usage: { input: 80, cacheRead: 0, cacheWrite: 0, output: 5, reasoning: 0 },
  },
  midstream_error: {
    text: ["Partial", " answer"],
    usage: { input: 90, cacheRead: 0, cacheWrite: 0, output: 3, reasoning: 0 },
  },
  eof: {
    text: ["Partial", " answer"],
    usage: { input: 90, cacheRead: 0, cacheWrite: 0, output: 3, reasoning: 0 },
  },
  reset: {
    text: ["Partial", " answer"],
    usage: { input: 90, cacheRead: 0, cacheWrite: 0, output: 3, reasoning: 0 },
  },
  early_error: { text: [], usage: { input: 0, cacheRead: 0, cacheWrite: 0, output: 0, reasoning: 0 } },
  long: { text: [], usage: { input: 100, cacheRead: 0, cacheWrite: 0, output: 200, reasoning: 0 } },
  web_search: {
    search: {
      query: "weather in Paris today",
      results: [
        { url: "https://weather.example/paris", title: "Paris weather", pageAge: "1 hour ago", encrypted: "EqMockSearchResultParis==" },
        { url: "https://news.example/paris", title: "Paris news", pageAge: null, encrypted: "EqMockSearchResultNews==" },
      ],
    },
    segments: [
      { text: "According to the forecast, " },
      { text: "it is 18°C and sunny in Paris", cite: { result: 0, citedText: "Sunny, high of 18°C", encryptedIndex: "EoMockCitationIndex==" } },
      { text: " today." },
    ],
    usage: { input: 2100, cacheRead: 0, cacheWrite: 0, output: 60, reasoning: 0 },
  },
};

/** The Anthropic search tool types (`web_search_20250305`, `web_search_20260209`). */
const ANTHROPIC_SEARCH = /^web_search_\d{8}$/;
/** The Responses search tool types. */
const RESPONSES_SEARCH = /^web_search(_preview)?(_\d{4}_\d{2}_\d{2})?$/;

/** Whether the request offers the vendor's own web search tool. */
export function offersSearch(format, body) {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  if (format === "anthropic") return tools.some((t) => ANTHROPIC_SEARCH.test(t?.type ?? "") && t.name === "web_search");
  if (format === "responses") return tools.some((t) => RESPONSES_SEARCH.test(t?.type ?? ""));
  return false;
}

/** The full text of a scenario's answer. */
export function scenarioText(name) {
  const s = SCENARIOS[name];
  return (s.text ?? []).join("");
}

/** Vendor error messages the error scenarios send, by format. */
export const ERROR_MESSAGES = {
  overflow: {
    chat: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.",
    responses: "Your input exceeds the context window of this model. Please adjust your input and try again.",
    anthropic: "prompt is too long: 210412 tokens > 200000 maximum",
    gemini: "The input token count (1215736) exceeds the maximum number of tokens allowed (1048576).",
  },
  rateLimit: {
    chat: "Rate limit reached for gpt-mock in organization org-mock on tokens per min (TPM): Limit 30000, Used 30000, Requested 512. Please try again in 7s.",
    responses: "Rate limit reached for gpt-mock in organization org-mock on tokens per min (TPM): Limit 30000, Used 30000, Requested 512. Please try again in 7s.",
    anthropic: "This request would exceed the rate limit for your organization of 30,000 input tokens per minute. Please retry after 7 seconds.",
    gemini: "You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count, limit: 30000, model: gemini-mock, project org-mock. Please retry in 7s.",
  },
  server: {
    chat: "The server had an error while processing your request. Sorry about that!",
    responses: "The server had an error while processing your request. Sorry about that!",
    anthropic: "Internal server error",
    gemini: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  },
  overloaded: {
    chat: "The engine is currently overloaded, please try again later.",
    responses: "The engine is currently overloaded, please try again later.",
    anthropic: "Overloaded",
    gemini: "The model is overloaded. Please try again later.",
  },
};
export const RETRY_AFTER_S = 7;

/**
 * The usage a client of `client` format sees when the upstream speaks `upstream`, for a
 * scenario, after the gateway's conversions (Anthropic input excludes cache reads and
 * writes, OpenAI input includes them; unreported figures are 0).
 */
export function expectedUsage(client, upstream, scenario) {
  const u = SCENARIOS[scenario].usage;
  const cacheWrite = upstream === "anthropic" ? u.cacheWrite : 0;
  const reasoning = upstream === "anthropic" ? 0 : u.reasoning;
  if (client === "gemini") {
    // Cache reads and writes inside the prompt; thoughts outside the candidates.
    return {
      promptTokenCount: u.input,
      cachedContentTokenCount: u.cacheRead,
      candidatesTokenCount: u.output - reasoning,
      thoughtsTokenCount: reasoning,
      totalTokenCount: u.input + u.output,
    };
  }
  if (client === "anthropic") {
    return {
      input_tokens: u.input - u.cacheRead - cacheWrite,
      cache_read_input_tokens: u.cacheRead,
      cache_creation_input_tokens: cacheWrite,
      output_tokens: u.output,
    };
  }
  if (client === "chat") {
    return {
      prompt_tokens: u.input,
      completion_tokens: u.output,
      total_tokens: u.input + u.output,
      cached_tokens: u.cacheRead,
      reasoning_tokens: reasoning,
    };
  }
  return {
    input_tokens: u.input,
    output_tokens: u.output,
    total_tokens: u.input + u.output,
    cached_tokens: u.cacheRead,
    reasoning_tokens: reasoning,
  };
}

// ------------------------------------------------------------------------------------------
// Request inspection

/** The text of the last user turn, whatever the format. */
export function lastUserText(format, body) {
  if (format === "gemini") {
    const contents = Array.isArray(body.contents) ? body.contents : [];
    for (let i = contents.length - 1; i >= 0; i--) {
      const c = contents[i];
      if (!c || (c.role ?? "user") !== "user") continue;
      const texts = (c.parts ?? []).filter((p) => p && typeof p.text === "string").map((p) => p.text);
      if (texts.length) return texts.join("\n");
    }
    return "";
  }
  const textOf = (content, partTypes) => {
    if (typeof content === "string") return content;
    if (!Array.isArray(content)) return "";
    return content
      .filter((p) => p && partTypes.includes(p.type) && typeof p.text === "string")
      .map((p) => p.text)
      .join("\n");
  };
  if (format === "responses") {
    if (typeof body.input === "string") return body.input;
    if (!Array.isArray(body.input)) return "";
    for (let i = body.input.length - 1; i >= 0; i--) {
      const item = body.input[i];
      if (item && item.role === "user" && (item.type === undefined || item.type === "message")) {
        return textOf(item.content, ["input_text"]);
      }
    }
    return "";
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i] && messages[i].role === "user") return textOf(messages[i].content, ["text"]);
  }
  return "";
}

export function scenarioOf(format, body) {
  const match = /\[scenario:([a-z0-9_]+)\]/.exec(lastUserText(format, body));
  return match ? match[1] : "text";
}

// ------------------------------------------------------------------------------------------
// Vendor error bodies

function openaiError(message, type, param = null, code = null) {
  return { error: { message, type, param, code } };
}

function googleError(code, status, message, details = []) {
  return { error: { code, message, status, ...(details.length ? { details } : {}) } };
}

const GOOGLE_STATUSES = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

function anthropicError(type, message) {
  return { type: "error", error: { type, message }, request_id: "req_011MockUpstream" };
}

const ANTHROPIC_TYPES = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  503: "overloaded_error",
  504: "timeout_error",
  529: "overloaded_error",
};

/** status, headers and body of an `error_<status>` scenario. */
function scenarioError(format, status) {
  if (format === "gemini") {
    const message = {
      400: ERROR_MESSAGES.overflow.gemini,
      429: ERROR_MESSAGES.rateLimit.gemini,
      500: ERROR_MESSAGES.server.gemini,
      503: ERROR_MESSAGES.overloaded.gemini,
    }[status] ?? `Mock upstream error ${status}.`;
    // Google sends no Retry-After header: the delay is in a RetryInfo detail.
    const details = status === 429
      ? [
          { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count", quotaId: "GenerateContentPaidTierInputTokensPerModelPerMinute" }] },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${RETRY_AFTER_S}s` },
        ]
      : [];
    return { status, headers: {}, body: googleError(status, GOOGLE_STATUSES[status] ?? "UNKNOWN", message, details) };
  }
  const headers = {};
  const oa = format !== "anthropic";
  let body;
  if (status === 400) {
    body = oa
      ? openaiError(ERROR_MESSAGES.overflow[format], "invalid_request_error", format === "chat" ? "messages" : "input", "context_length_exceeded")
      : anthropicError("invalid_request_error", ERROR_MESSAGES.overflow.anthropic);
  } else if (status === 429) {
    headers["retry-after"] = String(RETRY_AFTER_S);
    body = oa
      ? openaiError(ERROR_MESSAGES.rateLimit[format], "tokens", null, "rate_limit_exceeded")
      : anthropicError("rate_limit_error", ERROR_MESSAGES.rateLimit.anthropic);
  } else if (status === 500) {
    body = oa
      ? openaiError(ERROR_MESSAGES.server[format], "server_error")
      : anthropicError("api_error", ERROR_MESSAGES.server.anthropic);
  } else if (status === 503 || status === 529) {
    body = oa
      ? openaiError(ERROR_MESSAGES.overloaded[format], "server_error", null, "overloaded")
      : anthropicError("overloaded_error", ERROR_MESSAGES.overloaded.anthropic);
  } else {
    body = oa
      ? openaiError(`Mock upstream error ${status}.`, status >= 500 ? "server_error" : "invalid_request_error")
      : anthropicError(ANTHROPIC_TYPES[status] ?? "api_error", `Mock upstream error ${status}.`);
  }
  return { status, headers, body };
}

/** Gemini's request validation, including Gemini 3's rule on thought signatures. */
function validateGemini(body) {
  const bad = (message) => ({ status: 400, body: googleError(400, "INVALID_ARGUMENT", message) });
  const known = ["contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent", "serviceTier"];
  for (const field of Object.keys(body)) {
    if (!known.includes(field)) return bad(`Invalid JSON payload received. Unknown name "${field}": Cannot find field.`);
  }
  if (!Array.isArray(body.contents) || body.contents.length === 0) return bad("* GenerateContentRequest.contents: contents is not specified");
  for (const [i, c] of body.contents.entries()) {
    if (c.role !== undefined && c.role !== "user" && c.role !== "model") return bad(`Please use a valid role: user, model.`);
    if (!Array.isArray(c.parts) || c.parts.length === 0) return bad(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`);
    for (const p of c.parts) {
      if (p.text === "" && !p.thoughtSignature) return bad("Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.");
    }
    const calls = c.parts.filter((p) => p.functionCall);
    if (calls.length) {
      const next = body.contents[i + 1];
      if (next) {
        const responses = (next.parts ?? []).filter((p) => p.functionResponse);
        if (responses.length !== calls.length) {
          return bad("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.");
        }
        for (const call of calls) {
          if (call.functionCall.id && !responses.some((r) => r.functionResponse.id === call.functionCall.id)) {
            return bad("functionResponse.id does not match functionCall.id");
          }
        }
      }
    }
  }
  // Gemini 3 checks the current turn: after the last user content that is not only function
  // responses, the first call of each model step needs its signature.
  let start = 0;
  body.contents.forEach((c, i) => {
    if ((c.role ?? "user") === "user" && c.parts.some((p) => !p.functionResponse)) start = i + 1;
  });
  for (const [i, c] of body.contents.entries()) {
    if (i < start || c.role !== "model") continue;
    const first = c.parts.find((p) => p.functionCall);
    if (first && !first.thoughtSignature) {
      return bad(`Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${first.functionCall.name}\` , position ${i + 1}.`);
    }
  }
  const config = body.generationConfig ?? {};
  if (config.maxOutputTokens !== undefined && !Number.isInteger(config.maxOutputTokens)) return bad("Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32)");
  if (config.temperature !== undefined && (config.temperature < 0 || config.temperature > 2)) return bad("* GenerateContentRequest.generation_config.temperature: must be between 0 and 2");
  if ((config.stopSequences ?? []).length > 5) return bad("* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences");
  const thinking = config.thinkingConfig ?? {};
  if (thinking.thinkingBudget !== undefined && thinking.thinkingLevel !== undefined) return bad("You can only set only one of thinking budget and thinking level.");
  return null;
}

/** Vendor-style request validation: a 400 in the vendor's shape, or null. */
function validate(format, body) {
  if (format === "gemini") return validateGemini(body);
  if (format === "anthropic") {
    const bad = (message) => ({ status: 400, body: anthropicError("invalid_request_error", message) });
    if (typeof body.model !== "string") return bad("model: Field required");
    if (!Number.isInteger(body.max_tokens)) return bad("max_tokens: Field required");
    if (body.max_tokens < 1) return bad("max_tokens: Input should be greater than or equal to 1");
    if (!Array.isArray(body.messages)) return bad("messages: Field required");
    for (const [i, m] of body.messages.entries()) {
      if (m.role !== "user" && m.role !== "assistant") {
        return bad(`messages.${i}.role: Input should be 'user' or 'assistant'`);
      }
      if (Array.isArray(m.content)) {
        if (m.content.length === 0 && i !== body.messages.length - 1) return bad(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
        for (const block of m.content) {
          if (block.type === "text" && block.text === "") return bad("messages: text content blocks must be non-empty");
        }
      } else if (typeof m.content !== "string") {
        return bad(`messages.${i}.content: Input should be a valid list`);
      }
    }
    if (body.temperature !== undefined && (body.temperature < 0 || body.temperature > 1)) {
      return bad("temperature: Input should be less than or equal to 1");
    }
    if (body.system !== undefined && typeof body.system !== "string" && !Array.isArray(body.system)) {
      return bad("system: Input should be a valid list");
    }
    for (const [i, tool] of (Array.isArray(body.tools) ? body.tools : []).entries()) {
      const type = tool?.type;
      if (typeof type === "string" && /^web_/.test(type) && !/^web_(search|fetch)_\d{8}$/.test(type)) {
        return bad(`tools.${i}: Input tag '${type}' found using 'type' does not match any of the expected tags`);
      }
    }
    return null;
  }
  const bad = (message, param, code = null) => ({ status: 400, body: openaiError(message, "invalid_request_error", param, code) });
  if (typeof body.model !== "string") return bad("you must provide a model parameter", null);
  if (format === "chat") {
    if (!Array.isArray(body.messages)) return bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
    if (body.messages.length === 0) return bad("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array");
    for (const [i, m] of body.messages.entries()) {
      if (!["system", "developer", "user", "assistant", "tool", "function"].includes(m.role)) {
        return bad(`Invalid value: '${m.role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`, `messages[${i}].role`, "invalid_value");
      }
    }
    for (const [i, tool] of (Array.isArray(body.tools) ? body.tools : []).entries()) {
      if (tool?.type !== "function" && tool?.type !== "custom") {
        return bad(`Invalid value: '${tool?.type}'. Supported values are: 'function' and 'custom'.`, `tools[${i}].type`, "invalid_value");
      }
    }
    if (body.stream_options != null && !body.stream) {
      return bad("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", "invalid_value");
    }
    return null;
  }
  if (body.input !== undefined && typeof body.input !== "string" && !Array.isArray(body.input)) {
    return bad("Invalid type for 'input': expected one of a string or array of input items.", "input", "invalid_type");
  }
  for (const field of ["stop", "n", "seed", "max_tokens", "max_completion_tokens", "messages", "system"]) {
    if (body[field] !== undefined) return bad(`Unknown parameter: '${field}'.`, field, "unknown_parameter");
  }
  for (const [i, tool] of (Array.isArray(body.tools) ? body.tools : []).entries()) {
    const type = tool?.type;
    if (typeof type === "string" && /^web_/.test(type) && !RESPONSES_SEARCH.test(type)) {
      return bad(`Invalid value: '${type}'.`, `tools[${i}].type`, "invalid_value");
    }
  }
  return null;
}

// ------------------------------------------------------------------------------------------
// The answer, independent of format

/**
 * What the upstream says for `scenario`: a list of blocks, a stop reason, usage, and how the
 * stream behaves (`hold` after the first text delta, `cut` to end it early).
 */
function buildAnswer(format, scenario, body, options, cached = null) {
  const s = SCENARIOS[scenario] ?? SCENARIOS.text;
  const blocks = [];
  const answer = { scenario, blocks, stop: "end", stopSequence: null, usage: { ...s.usage, ...(cached ?? {}) }, hold: 0, cut: null, interval: 0 };
  if (s.thinking) {
    const wantThinking =
      format === "chat" ||
      (format === "anthropic" && ["enabled", "adaptive"].includes(body.thinking?.type)) ||
      format === "responses" ||
      format === "gemini";
    if (wantThinking) {
      const summarized =
        format === "gemini" ? body.generationConfig?.thinkingConfig?.includeThoughts === true : format !== "responses" || Boolean(body.reasoning?.summary);
      const encrypted = format === "responses" && Array.isArray(body.include) && body.include.includes("reasoning.encrypted_content");
      blocks.push({ kind: "thinking", deltas: summarized ? s.thinking : [], signature: s.signature, encrypted: encrypted ? s.encrypted : null });
    }
  }
  if (s.refusal) blocks.push({ kind: "refusal", deltas: s.refusal });
  if (scenario === "long") {
    blocks.push({ kind: "text", deltas: Array.from({ length: options.longEvents }, (_, i) => `tick ${i}. `) });
    answer.interval = options.longIntervalMs;
    answer.usage.output = options.longEvents;
  } else if (s.text && s.text.length) {
    blocks.push({ kind: "text", deltas: s.text });
  }
  if (s.search) {
    const searched = offersSearch(format, body);
    if (searched) blocks.push({ kind: "search", ...s.search });
    blocks.push({
      kind: "text",
      deltas: s.segments.map((segment) => segment.text),
      segments: s.segments.map((segment) => ({
        text: segment.text,
        cite: searched && segment.cite ? { ...segment.cite, ...s.search.results[segment.cite.result] } : null,
      })),
    });
    answer.usage.webSearch = searched ? 1 : 0;
  }
  for (const tool of s.tools ?? []) blocks.push({ kind: "tool", ...tool });
  if (s.tools) answer.stop = "tool";
  if (scenario === "max_tokens") answer.stop = "max_tokens";
  if (scenario === "refusal") answer.stop = "refusal";
  if (scenario === "stop_sequence") {
    const stops =
      format === "anthropic"
        ? body.stop_sequences
        : format === "gemini"
          ? body.generationConfig?.stopSequences
          : typeof body.stop === "string"
            ? [body.stop]
            : body.stop;
    answer.stop = Array.isArray(stops) && stops.length ? "stop_sequence" : "end";
    answer.stopSequence = Array.isArray(stops) && stops.length ? stops[0] : null;
  }
  if (scenario === "slow") answer.hold = options.slowHoldMs;
  if (["midstream_error", "eof", "reset", "early_error"].includes(scenario)) answer.cut = scenario;
  return answer;
}

// ------------------------------------------------------------------------------------------
// Format renderers. Each returns { json } for non-streaming, or { steps } for streaming, where a
// step is { frame }, { pause: ms }, { end: "clean" | "destroy" }.

let serial = 0;
const nextId = () => (++serial).toString(36).padStart(6, "0");

function sse(event, data) {
  return event ? `event: ${event}\ndata: ${JSON.stringify(data)}\n\n` : `data: ${JSON.stringify(data)}\n\n`;
}

/** Adds the hold after the first text delta, the interval between deltas, and the cut. */
class Steps {
  constructor(answer) {
    this.answer = answer;
    this.list = [];
    this.textDeltas = 0;
  }
  frame(frame) {
    this.list.push({ frame });
  }
  textDelta(frame) {
    if (this.textDeltas > 0 && this.answer.interval) this.list.push({ pause: this.answer.interval });
    this.list.push({ frame });
    this.textDeltas++;
    if (this.textDeltas === 1 && this.answer.hold) this.list.push({ pause: this.answer.hold });
  }
}

// ---- OpenAI Chat Completions

function chatUsage(u) {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function chatFinish(answer) {
  return { end: "stop", tool: "tool_calls", max_tokens: "length", refusal: "stop", stop_sequence: "stop" }[answer.stop];
}

function renderChat(answer, body, stream) {
  const id = `chatcmpl-mock${nextId()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const text = answer.blocks.filter((b) => b.kind === "text").flatMap((b) => b.deltas).join("");
  const thinking = answer.blocks.find((b) => b.kind === "thinking");
  const refusal = answer.blocks.find((b) => b.kind === "refusal");
  const tools = answer.blocks.filter((b) => b.kind === "tool");
  if (!stream) {
    const message = { role: "assistant", content: refusal ? null : text, refusal: refusal ? refusal.deltas.join("") : null, annotations: [] };
    if (thinking) message.reasoning_content = thinking.deltas.join("");
    if (tools.length) {
      message.tool_calls = tools.map((t) => ({ id: t.callId, type: "function", function: { name: t.name, arguments: t.fragments.join("") } }));
    }
    return {
      json: {
        id, object: "chat.completion", created, model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: chatFinish(answer) }],
        usage: chatUsage(answer.usage), service_tier: "default", system_fingerprint: "fp_mock",
      },
    };
  }
  const includeUsage = body.stream_options?.include_usage === true;
  const steps = new Steps(answer);
  let obfuscation = 0;
  const chunk = (delta, finish = null) => {
    const c = { id, object: "chat.completion.chunk", created, model, service_tier: "default", system_fingerprint: "fp_mock", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
    if (includeUsage) c.usage = null;
    c.obfuscation = "xyzw".slice(0, (obfuscation++ % 4) + 1);
    return sse(null, c);
  };
  if (answer.cut === "early_error") {
    steps.frame(sse(null, openaiError(ERROR_MESSAGES.overloaded.chat, "server_error", null, "overloaded")));
    steps.list.push({ end: "clean" });
    return { steps: steps.list };
  }
  steps.frame(chunk({ role: "assistant", content: "", refusal: null }));
  if (thinking) for (const d of thinking.deltas) steps.frame(chunk({ reasoning_content: d }));
  if (refusal) for (const d of refusal.deltas) steps.textDelta(chunk({ refusal: d }));
  for (const b of answer.blocks.filter((x) => x.kind === "text")) for (const d of b.deltas) steps.textDelta(chunk({ content: d }));
  if (answer.cut) return { steps: cutSteps("chat", steps, answer) };
  tools.forEach((t, index) => {
    steps.frame(chunk({ tool_calls: [{ index, id: t.callId, type: "function", function: { name: t.name, arguments: "" } }] }));
    for (const f of t.fragments) steps.frame(chunk({ tool_calls: [{ index, function: { arguments: f } }] }));
  });
  steps.frame(chunk({}, chatFinish(answer)));
  if (includeUsage) {
    steps.frame(sse(null, { id, object: "chat.completion.chunk", created, model, service_tier: "default", system_fingerprint: "fp_mock", choices: [], usage: chatUsage(answer.usage), obfuscation: "ab" }));
  }
  steps.frame("data: [DONE]\n\n");
  steps.list.push({ end: "clean" });
  return { steps: steps.list };
}

function cutSteps(format, steps, answer) {
  if (answer.cut === "midstream_error") {
    if (format === "chat") steps.frame(sse(null, openaiError(ERROR_MESSAGES.server.chat, "server_error")));
    if (format === "anthropic") steps.frame(sse("error", anthropicError("overloaded_error", ERROR_MESSAGES.overloaded.anthropic)));
    steps.list.push({ end: "clean" });
  } else if (answer.cut === "eof") {
    steps.list.push({ end: "clean" });
  } else {
    steps.list.push({ pause: 20 }, { end: "destroy" });
  }
  return steps.list;
}

// ---- Anthropic Messages

function anthropicUsage(u) {
  return {
    input_tokens: u.input - u.cacheRead - u.cacheWrite,
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: u.cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: u.output,
    ...(u.webSearch ? { server_tool_use: { web_search_requests: u.webSearch, web_fetch_requests: 0 } } : {}),
    service_tier: "standard",
  };
}

const ANTHROPIC_SEARCH_ID = "srvtoolu_01MockSearch";

function anthropicSearchResult(b) {
  return {
    type: "web_search_tool_result",
    tool_use_id: ANTHROPIC_SEARCH_ID,
    content: b.results.map((r) => ({ type: "web_search_result", url: r.url, title: r.title, encrypted_content: r.encrypted, page_age: r.pageAge })),
  };
}

function anthropicCitation(cite) {
  return { type: "web_search_result_location", cited_text: cite.citedText, url: cite.url, title: cite.title, encrypted_index: cite.encryptedIndex };
}

function anthropicStop(answer) {
  return { end: "end_turn", tool: "tool_use", max_tokens: "max_tokens", refusal: "refusal", stop_sequence: "stop_sequence" }[answer.stop];
}

function renderAnthropic(answer, body, stream) {
  const id = `msg_01Mock${nextId()}`;
  const model = body.model;
  const usage = anthropicUsage(answer.usage);
  if (!stream) {
    const content = [];
    for (const b of answer.blocks) {
      if (b.kind === "thinking") content.push({ type: "thinking", thinking: b.deltas.join(""), signature: b.signature });
      if (b.kind === "search") {
        content.push({ type: "server_tool_use", id: ANTHROPIC_SEARCH_ID, name: "web_search", input: { query: b.query } });
        content.push(anthropicSearchResult(b));
      }
      // Anthropic cuts cited text into blocks of their own.
      if (b.kind === "text" && b.segments) {
        for (const s of b.segments) content.push(s.cite ? { type: "text", text: s.text, citations: [anthropicCitation(s.cite)] } : { type: "text", text: s.text });
      } else if (b.kind === "text" || b.kind === "refusal") content.push({ type: "text", text: b.deltas.join("") });
      if (b.kind === "tool") content.push({ type: "tool_use", id: b.toolUseId, name: b.name, input: JSON.parse(b.fragments.join("")) });
    }
    return {
      json: { id, type: "message", role: "assistant", model, content, stop_reason: anthropicStop(answer), stop_sequence: answer.stopSequence, usage },
    };
  }
  const steps = new Steps(answer);
  if (answer.cut === "early_error") {
    steps.frame(sse("error", anthropicError("overloaded_error", ERROR_MESSAGES.overloaded.anthropic)));
    steps.list.push({ end: "clean" });
    return { steps: steps.list };
  }
  const startUsage = { ...usage, output_tokens: 1 };
  steps.frame(sse("message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage } }));
  steps.frame(sse("ping", { type: "ping" }));
  let index = 0;
  for (const b of answer.blocks) {
    const isLast = b === answer.blocks[answer.blocks.length - 1];
    if (b.kind === "thinking") {
      steps.frame(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } }));
      for (const d of b.deltas) steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: d } }));
      steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "signature_delta", signature: b.signature } }));
    } else if (b.kind === "search") {
      steps.frame(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "server_tool_use", id: ANTHROPIC_SEARCH_ID, name: "web_search", input: {} } }));
      steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } }));
      steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: '{"query": ' } }));
      steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: `${JSON.stringify(b.query)}}` } }));
      steps.frame(sse("content_block_stop", { type: "content_block_stop", index }));
      index++;
      steps.frame(sse("content_block_start", { type: "content_block_start", index, content_block: anthropicSearchResult(b) }));
    } else if (b.kind === "text" && b.segments) {
      b.segments.forEach((s, i) => {
        if (i > 0) {
          steps.frame(sse("content_block_stop", { type: "content_block_stop", index }));
          index++;
        }
        steps.frame(sse("content_block_start", { type: "content_block_start", index, content_block: s.cite ? { type: "text", text: "", citations: [] } : { type: "text", text: "" } }));
        if (s.cite) steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "citations_delta", citation: anthropicCitation(s.cite) } }));
        steps.textDelta(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: s.text } }));
      });
    } else if (b.kind === "text" || b.kind === "refusal") {
      steps.frame(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }));
      for (const d of b.deltas) steps.textDelta(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: d } }));
      if (answer.cut && isLast) return { steps: cutSteps("anthropic", steps, answer) };
    } else if (b.kind === "tool") {
      steps.frame(sse("content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: b.toolUseId, name: b.name, input: {} } }));
      steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } }));
      for (const f of b.fragments) steps.frame(sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: f } }));
    }
    steps.frame(sse("content_block_stop", { type: "content_block_stop", index }));
    index++;
  }
  const { cache_creation: _ignored, service_tier: _tier, ...deltaUsage } = usage;
  steps.frame(sse("message_delta", { type: "message_delta", delta: { stop_reason: anthropicStop(answer), stop_sequence: answer.stopSequence }, usage: deltaUsage }));
  steps.frame(sse("message_stop", { type: "message_stop" }));
  steps.list.push({ end: "clean" });
  return { steps: steps.list };
}

// ---- OpenAI Responses

function responsesUsage(u) {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cacheRead },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

function responseObject(body, id, createdAt, status, output, extra = {}) {
  return {
    id, object: "response", created_at: createdAt, status, background: false, error: null, incomplete_details: null,
    instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, max_tool_calls: null,
    model: body.model, output, parallel_tool_calls: body.parallel_tool_calls ?? true, previous_response_id: null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    service_tier: "default", store: body.store ?? true, temperature: body.temperature ?? 1,
    text: { format: { type: "text" }, verbosity: "medium" }, tool_choice: body.tool_choice ?? "auto", tools: body.tools ?? [],
    top_logprobs: 0, top_p: body.top_p ?? 1, truncation: "disabled", usage: null, user: null, metadata: body.metadata ?? {},
    ...extra,
  };
}

/** `url_citation`s of a text block's cited segments, by character offset. */
function responsesAnnotations(b) {
  const annotations = [];
  let offset = 0;
  for (const s of b.segments ?? []) {
    const end = offset + [...s.text].length;
    if (s.cite) annotations.push({ type: "url_citation", start_index: offset, end_index: end, url: s.cite.url, title: s.cite.title });
    offset = end;
  }
  return annotations;
}

function renderResponses(answer, body, stream) {
  const id = `resp_mock${nextId()}`;
  const createdAt = Math.floor(Date.now() / 1000);
  const items = answer.blocks.map((b, i) => {
    const n = `${id.slice(5)}${i}`;
    if (b.kind === "thinking") {
      const item = { id: `rs_${n}`, type: "reasoning", summary: b.deltas.length ? [{ type: "summary_text", text: b.deltas.join("") }] : [] };
      if (b.encrypted) item.encrypted_content = b.encrypted;
      return item;
    }
    if (b.kind === "search") {
      const action = { type: "search", query: b.query };
      if (Array.isArray(body.include) && body.include.includes("web_search_call.action.sources")) {
        action.sources = b.results.map((r) => ({ type: "url", url: r.url }));
      }
      return { id: `ws_${n}`, type: "web_search_call", status: "completed", action };
    }
    if (b.kind === "text") return { id: `msg_${n}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: b.deltas.join(""), annotations: responsesAnnotations(b), logprobs: [] }] };
    if (b.kind === "refusal") return { id: `msg_${n}`, type: "message", status: "completed", role: "assistant", content: [{ type: "refusal", refusal: b.deltas.join("") }] };
    return { id: `fc_${n}`, type: "function_call", status: "completed", arguments: b.fragments.join(""), call_id: b.callId, name: b.name };
  });
  const incomplete = answer.stop === "max_tokens";
  const status = incomplete ? "incomplete" : "completed";
  const extra = { usage: responsesUsage(answer.usage) };
  if (incomplete) extra.incomplete_details = { reason: "max_output_tokens" };
  if (!stream) return { json: responseObject(body, id, createdAt, status, items, extra) };

  const steps = new Steps(answer);
  let seq = 0;
  const ev = (type, fields) => sse(type, { type, sequence_number: seq++, ...fields });
  if (answer.cut === "early_error") {
    steps.frame(ev("error", { code: "server_error", message: ERROR_MESSAGES.overloaded.responses, param: null }));
    steps.list.push({ end: "clean" });
    return { steps: steps.list };
  }
  steps.frame(ev("response.created", { response: responseObject(body, id, createdAt, "in_progress", []) }));
  steps.frame(ev("response.in_progress", { response: responseObject(body, id, createdAt, "in_progress", []) }));
  for (const [output_index, b] of answer.blocks.entries()) {
    const item = items[output_index];
    const item_id = item.id;
    if (b.kind === "thinking") {
      steps.frame(ev("response.output_item.added", { output_index, item: { id: item_id, type: "reasoning", summary: [] } }));
      if (b.deltas.length) {
        const full = b.deltas.join("");
        steps.frame(ev("response.reasoning_summary_part.added", { item_id, output_index, summary_index: 0, part: { type: "summary_text", text: "" } }));
        for (const d of b.deltas) steps.frame(ev("response.reasoning_summary_text.delta", { item_id, output_index, summary_index: 0, delta: d, obfuscation: "pq" }));
        steps.frame(ev("response.reasoning_summary_text.done", { item_id, output_index, summary_index: 0, text: full }));
        steps.frame(ev("response.reasoning_summary_part.done", { item_id, output_index, summary_index: 0, part: { type: "summary_text", text: full } }));
      }
      steps.frame(ev("response.output_item.done", { output_index, item }));
    } else if (b.kind === "text" || b.kind === "refusal") {
      const isText = b.kind === "text";
      steps.frame(ev("response.output_item.added", { output_index, item: { id: item_id, type: "message", status: "in_progress", role: "assistant", content: [] } }));
      steps.frame(ev("response.content_part.added", { item_id, output_index, content_index: 0, part: isText ? { type: "output_text", text: "", annotations: [], logprobs: [] } : { type: "refusal", refusal: "" } }));
      const annotations = isText ? item.content[0].annotations : [];
      let annotationIndex = 0;
      for (const [i, d] of b.deltas.entries()) {
        steps.textDelta(isText
          ? ev("response.output_text.delta", { item_id, output_index, content_index: 0, delta: d, logprobs: [], obfuscation: "pq" })
          : ev("response.refusal.delta", { item_id, output_index, content_index: 0, delta: d }));
        if (b.segments?.[i]?.cite) {
          const annotation = annotations[annotationIndex];
          steps.frame(ev("response.output_text.annotation.added", { item_id, output_index, content_index: 0, annotation_index: annotationIndex, annotation }));
          annotationIndex++;
        }
      }
      if (answer.cut && output_index === answer.blocks.length - 1) {
        if (answer.cut === "midstream_error") {
          steps.frame(ev("error", { code: "server_error", message: ERROR_MESSAGES.server.responses, param: null }));
          steps.frame(ev("response.failed", { response: responseObject(body, id, createdAt, "failed", [], { error: { code: "server_error", message: ERROR_MESSAGES.server.responses } }) }));
          steps.list.push({ end: "clean" });
          return { steps: steps.list };
        }
        return { steps: cutSteps("responses", steps, answer) };
      }
      const full = b.deltas.join("");
      steps.frame(isText
        ? ev("response.output_text.done", { item_id, output_index, content_index: 0, text: full, logprobs: [] })
        : ev("response.refusal.done", { item_id, output_index, content_index: 0, refusal: full }));
      steps.frame(ev("response.content_part.done", { item_id, output_index, content_index: 0, part: item.content[0] }));
      steps.frame(ev("response.output_item.done", { output_index, item }));
    } else if (b.kind === "search") {
      steps.frame(ev("response.output_item.added", { output_index, item: { id: item_id, type: "web_search_call", status: "in_progress" } }));
      steps.frame(ev("response.web_search_call.in_progress", { output_index, item_id }));
      steps.frame(ev("response.web_search_call.searching", { output_index, item_id }));
      steps.frame(ev("response.web_search_call.completed", { output_index, item_id }));
      steps.frame(ev("response.output_item.done", { output_index, item }));
    } else {
      steps.frame(ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", arguments: "" } }));
      for (const f of b.fragments) steps.frame(ev("response.function_call_arguments.delta", { item_id, output_index, delta: f, obfuscation: "pq" }));
      steps.frame(ev("response.function_call_arguments.done", { item_id, output_index, name: b.name, arguments: item.arguments }));
      steps.frame(ev("response.output_item.done", { output_index, item }));
    }
  }
  steps.frame(ev(incomplete ? "response.incomplete" : "response.completed", { response: responseObject(body, id, createdAt, status, items, extra) }));
  steps.list.push({ end: "clean" });
  return { steps: steps.list };
}

// ---- Google Gemini

function geminiUsage(u, final) {
  const usage = { promptTokenCount: u.input };
  if (u.cacheRead) usage.cachedContentTokenCount = u.cacheRead;
  if (final) {
    usage.candidatesTokenCount = u.output - u.reasoning;
    if (u.reasoning) usage.thoughtsTokenCount = u.reasoning;
  }
  usage.totalTokenCount = final ? u.input + u.output : u.input;
  usage.promptTokensDetails = [{ modality: "TEXT", tokenCount: u.input }];
  return usage;
}

/** Gemini has no tool-use reason (calls end with STOP) and does not say which stop sequence. */
function geminiFinish(answer) {
  return { end: "STOP", tool: "STOP", max_tokens: "MAX_TOKENS", refusal: "SAFETY", stop_sequence: "STOP" }[answer.stop];
}

function geminiSse(data) {
  return `data: ${JSON.stringify(data)}\r\n\r\n`;
}

function renderGemini(answer, body, stream, model) {
  const responseId = `mockGemini${nextId()}Resp`;
  const thinking = answer.blocks.find((b) => b.kind === "thinking");
  const tools = answer.blocks.filter((b) => b.kind === "tool");
  const texts = answer.blocks.filter((b) => b.kind === "text");
  const withIds = answer.scenario !== "tools_odd_ids";
  const call = (t, first) => {
    const part = { functionCall: { ...(withIds ? { id: GEMINI_CALL_IDS[t.name] } : {}), name: t.name, args: JSON.parse(t.fragments.join("")) } };
    if (first && thinking) part.thoughtSignature = GEMINI_SIGNATURE;
    return part;
  };
  const response = (parts, finishReason, final) => {
    const candidate = { content: parts.length ? { parts, role: "model" } : { role: "model" }, index: 0 };
    if (finishReason) candidate.finishReason = finishReason;
    if (finishReason === "SAFETY") candidate.safetyRatings = [{ category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true }];
    return { candidates: [candidate], usageMetadata: geminiUsage(answer.usage, final), modelVersion: model, responseId };
  };
  if (!stream) {
    const parts = [];
    if (thinking?.deltas.length) parts.push({ text: thinking.deltas.join(""), thought: true });
    for (const b of texts) parts.push({ text: b.deltas.join("") });
    tools.forEach((t, i) => parts.push(call(t, i === 0)));
    if (thinking && !tools.length) {
      const last = parts.findLast((p) => p.text !== undefined && !p.thought);
      if (last) last.thoughtSignature = GEMINI_SIGNATURE;
      else parts.push({ text: "", thoughtSignature: GEMINI_SIGNATURE });
    }
    return { json: response(parts, geminiFinish(answer), true) };
  }
  const steps = new Steps(answer);
  if (answer.cut === "early_error") {
    steps.frame(geminiSse(googleError(503, "UNAVAILABLE", ERROR_MESSAGES.overloaded.gemini)));
    steps.list.push({ end: "clean" });
    return { steps: steps.list };
  }
  if (thinking) for (const d of thinking.deltas) steps.frame(geminiSse(response([{ text: d, thought: true }], null, false)));
  for (const b of texts) for (const d of b.deltas) steps.textDelta(geminiSse(response([{ text: d }], null, false)));
  if (answer.cut) {
    if (answer.cut === "midstream_error") {
      steps.frame(geminiSse(googleError(500, "INTERNAL", ERROR_MESSAGES.server.gemini)));
      steps.list.push({ end: "clean" });
      return { steps: steps.list };
    }
    return { steps: cutSteps("gemini", steps, answer) };
  }
  if (tools.length) {
    steps.frame(geminiSse(response(tools.map((t, i) => call(t, i === 0)), geminiFinish(answer), true)));
  } else if (thinking) {
    steps.frame(geminiSse(response([{ text: "", thoughtSignature: GEMINI_SIGNATURE }], geminiFinish(answer), true)));
  } else {
    // The last chunk may have no parts at all (musistudio/llms#21).
    steps.frame(geminiSse(response([], geminiFinish(answer), true)));
  }
  steps.list.push({ end: "clean" });
  return { steps: steps.list };
}

const RENDERERS = { chat: renderChat, anthropic: renderAnthropic, responses: renderResponses, gemini: renderGemini };

// ------------------------------------------------------------------------------------------
// The server

/**
 * Starts the mock on a random localhost port.
 *
 * options: apiKey ("sk-mock"; a string or an array of accepted keys), slowHoldMs (1000),
 * longEvents (200), longIntervalMs (10), acceptedBetas (unset: every anthropic-beta flag is
 * taken; a list: the others are refused with Anthropic's 400), promptCache (false; true or options of
 * createPromptCache: input and cache figures are then measured per request as each vendor's
 * prefix cache would report them, see prompt-cache.mjs, and recorded as `record.cache`).
 *
 * Returns { url, baseUrl(format), requests, maxInFlight, inFlight, reset(), last(pred?),
 * waitFor(pred, timeoutMs), close() }.
 */
export async function startMockUpstream(options = {}) {
  const opts = { apiKey: DEFAULT_API_KEY, slowHoldMs: 1000, longEvents: 200, longIntervalMs: 10, ...options };
  const accepted = Array.isArray(opts.apiKey) ? opts.apiKey : [opts.apiKey];
  const promptCache = opts.promptCache ? createPromptCache(opts.promptCache === true ? {} : opts.promptCache) : null;
  const requests = [];
  const waiters = new Set();
  const state = { inFlight: 0, maxInFlight: 0 };
  const notify = () => {
    for (const w of [...waiters]) {
      const found = requests.find(w.pred);
      if (found) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(found);
      }
    }
  };

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url, "http://mock");
    const record = {
      method: req.method,
      path: url.pathname,
      query: url.search,
      format: null,
      headers: { ...req.headers },
      rawBody: raw,
      body: null,
      scenario: null,
      model: null,
      stream: false,
      status: null,
      aborted: false,
      destroyedByMock: false,
      finished: false,
      startedAt: Date.now(),
      endedAt: null,
    };
    try {
      record.body = raw ? JSON.parse(raw) : null;
    } catch {
      record.body = null;
    }
    requests.push(record);
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      state.inFlight--;
      record.endedAt = Date.now();
      notify();
    };
    res.on("close", () => {
      if (!res.writableFinished && !record.destroyedByMock) record.aborted = true;
      settle();
    });
    res.on("finish", () => {
      record.finished = true;
    });
    notify();
    try {
      await handle(req, res, url, record);
    } catch (e) {
      if (!res.headersSent) sendJson(res, 500, openaiError(`mock failure: ${e.message}`, "server_error"));
      else res.destroy();
    }
  });

  function sendJson(res, status, body, headers = {}) {
    res.writeHead(status, { "content-type": "application/json", "x-request-id": `req_mock${nextId()}`, ...headers });
    res.end(JSON.stringify(body));
  }

  async function handle(req, res, url, record) {
    const path = url.pathname;
    let format = null;
    let kind = "inference";
    // Google serves every model on v1beta and v1 (the SDKs' default in their 3.x versions).
    const gemini = /^\/gemini\/(?:v1beta|v1)\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/.exec(path);
    if (gemini) {
      format = "gemini";
      kind = gemini[2] === "countTokens" ? "count" : "inference";
      record.model = decodeURIComponent(gemini[1]);
    }
    if (path === "/chat/v1/chat/completions") format = "chat";
    else if (path === "/anthropic/v1/messages") format = "anthropic";
    else if (path === "/responses/v1/responses") format = "responses";
    else if (path === "/anthropic/v1/messages/count_tokens") [format, kind] = ["anthropic", "count"];
    else if (path === "/responses/v1/responses/input_tokens") [format, kind] = ["responses", "count"];
    record.format = format;
    const reply = (status, body, headers) => {
      record.status = status;
      sendJson(res, status, body, headers);
    };
    if (!format || req.method !== "POST") {
      if (path.startsWith("/gemini/")) return reply(404, googleError(404, "NOT_FOUND", `Method not found: ${req.method} ${path}`));
      return reply(404, format === "anthropic" ? anthropicError("not_found_error", `Not found: ${path}`) : openaiError(`Invalid URL (${req.method} ${path})`, "invalid_request_error"));
    }
    // Auth, as each vendor checks it.
    if (format === "gemini") {
      const key = req.headers["x-goog-api-key"] ?? url.searchParams.get("key");
      if (!key) return reply(403, googleError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."));
      if (!accepted.includes(key)) {
        return reply(400, googleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" }]));
      }
      if (gemini[2] === "streamGenerateContent" && url.searchParams.get("alt") !== "sse") {
        return reply(400, googleError(400, "INVALID_ARGUMENT", "The mock serves streamGenerateContent as alt=sse only."));
      }
    } else if (format === "anthropic") {
      // x-api-key, or a Bearer token (what @anthropic-ai/sdk 1.x sends for an API key).
      const auth = req.headers.authorization ?? "";
      const key = req.headers["x-api-key"] ?? (auth.startsWith("Bearer ") ? auth.slice(7) : null);
      if (!key || !accepted.includes(key)) return reply(401, anthropicError("authentication_error", "invalid x-api-key"));
      if (!req.headers["anthropic-version"]) return reply(400, anthropicError("invalid_request_error", "anthropic-version: header is required"));
      // An account that knows only some beta flags refuses the others by name, as Anthropic does.
      if (opts.acceptedBetas && req.headers["anthropic-beta"]) {
        const unknown = req.headers["anthropic-beta"].split(",").map((b) => b.trim()).filter((b) => b && !opts.acceptedBetas.includes(b));
        if (unknown.length) {
          return reply(400, anthropicError("invalid_request_error", `Unexpected value(s) ${unknown.map((b) => `\`${b}\``).join(", ")} for the \`anthropic-beta\` header. Please consult our documentation at docs.claude.com or try again without the header.`));
        }
      }
    } else {
      const auth = req.headers.authorization ?? "";
      const key = auth.startsWith("Bearer ") ? auth.slice(7) : null;
      if (!key) return reply(401, openaiError("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", null, null));
      if (!accepted.includes(key)) return reply(401, openaiError(`Incorrect API key provided: ${key.slice(0, 5)}***. You can find your API key at https://platform.openai.com/account/api-keys.`, "invalid_request_error", null, "invalid_api_key"));
    }
    if (record.body === null || typeof record.body !== "object") {
      if (format === "gemini") return reply(400, googleError(400, "INVALID_ARGUMENT", "Invalid JSON payload received."));
      return reply(400, format === "anthropic"
        ? anthropicError("invalid_request_error", "There was an error parsing the body of your request. Please make sure it is valid JSON.")
        : openaiError("We could not parse the JSON body of your request.", "invalid_request_error"));
    }
    const body = record.body;
    if (format === "gemini" && kind === "count") {
      const inner = body.generateContentRequest;
      if (inner !== undefined && inner.model !== `models/${record.model}`) {
        return reply(400, googleError(400, "INVALID_ARGUMENT", "generateContentRequest.model must name the model in the URL"));
      }
      const { model: _model, ...request } = inner ?? { contents: body.contents };
      const invalid = validateGemini(request);
      if (invalid) return reply(invalid.status, invalid.body);
      record.scenario = scenarioOf(format, inner ?? body);
      return reply(200, { totalTokens: COUNTED_INPUT_TOKENS, promptTokensDetails: [{ modality: "TEXT", tokenCount: COUNTED_INPUT_TOKENS }] });
    }
    record.scenario = scenarioOf(format, body);
    record.stream = format === "gemini" ? gemini[2] === "streamGenerateContent" : body.stream === true;
    if (kind === "count") {
      return reply(200, format === "anthropic" ? { input_tokens: COUNTED_INPUT_TOKENS } : { object: "response.input_tokens", input_tokens: COUNTED_INPUT_TOKENS });
    }
    const invalid = validate(format, body);
    if (invalid) return reply(invalid.status, invalid.body);
    if (promptCache) {
      const auth = req.headers.authorization ?? "";
      const apiKey = req.headers["x-api-key"] ?? req.headers["x-goog-api-key"] ?? url.searchParams.get("key") ?? auth.replace(/^Bearer /, "");
      const measured = promptCache.measure(format, body, apiKey, record.model ?? body.model);
      if (measured.error) return reply(400, anthropicError("invalid_request_error", measured.error));
      record.cache = measured;
    }

    const scenario = record.scenario;
    const errorMatch = /^error_(\d{3})$/.exec(scenario);
    if (errorMatch) {
      const e = scenarioError(format, Number(errorMatch[1]));
      return reply(e.status, e.body, e.headers);
    }
    if (scenario === "hang_headers") {
      record.status = null;
      return; // never answers; the request stays open until the client goes away
    }
    const answer = buildAnswer(format, scenario, body, opts, record.cache);
    const rendered = RENDERERS[format](answer, body, record.stream, record.model);
    if (rendered.json) {
      // A slow upstream is slow without streaming too.
      if (answer.hold) await new Promise((resolve) => setTimeout(resolve, answer.hold));
      return reply(200, rendered.json);
    }

    record.status = 200;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-request-id": `req_mock${nextId()}`,
      ...(format === "anthropic" ? { "request-id": "req_011MockUpstream" } : {}),
    });
    res.flushHeaders();
    for (const step of rendered.steps) {
      if (record.aborted) return;
      if (step.frame !== undefined) {
        res.write(step.frame);
      } else if (step.pause !== undefined) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, step.pause);
          res.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      } else if (step.end === "clean") {
        res.end();
      } else if (step.end === "destroy") {
        record.destroyedByMock = true;
        res.destroy();
      }
    }
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    requests,
    /** The base_url to configure for a provider of `format`. */
    baseUrl: (format) => `${url}${BASE_PATHS[format]}`,
    get inFlight() {
      return state.inFlight;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    /** Forgets recorded requests and the in-flight high-water mark. */
    reset() {
      requests.length = 0;
      state.maxInFlight = state.inFlight;
    },
    /** The last recorded request (matching `pred`, if given). */
    last(pred = () => true) {
      for (let i = requests.length - 1; i >= 0; i--) if (pred(requests[i])) return requests[i];
      return undefined;
    },
    /** Resolves with the first recorded request matching `pred` (now or later). */
    waitFor(pred, timeoutMs = 5000) {
      const found = requests.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`mock upstream: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
