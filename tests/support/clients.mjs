// Calls through the gateway in each client format with the official SDKs, and views of the
// answers and of the upstream requests that tests can compare across formats.

import { outputText } from "./gateway.mjs";

export const CLIENTS = ["chat", "anthropic", "responses"];

/** The conversation every pair test sends. */
export const SYSTEM = "You are a terse assistant.";
export const USER_1 = "What is 2+2?";
export const ASSISTANT_1 = "4.";
export const userTurn = (scenario) => `Now greet me. [scenario:${scenario}]`;
export const STOP = "STOP";
export const MAX_TOKENS = 256;
export const TEMPERATURE = 0.5;
export const TOP_P = 0.9;

/**
 * A request in `client` format. form "string": plain string contents (Chat `system` role,
 * Anthropic string `system`, Responses `input` as one string, so no history); form "parts":
 * text-part arrays (Chat `developer` role and deprecated `max_tokens`, Anthropic `system` as
 * blocks, Responses `input` as items). Sampling: max tokens, temperature, top_p, and stop
 * sequences where the client format has them.
 */
export function buildRequest(client, { model, scenario = "text", form = "string", extra = {} }) {
  const u2 = userTurn(scenario);
  if (client === "chat") {
    const messages =
      form === "string"
        ? [
            { role: "system", content: SYSTEM },
            { role: "user", content: USER_1 },
            { role: "assistant", content: ASSISTANT_1 },
            { role: "user", content: u2 },
          ]
        : [
            { role: "developer", content: [{ type: "text", text: SYSTEM }] },
            { role: "user", content: [{ type: "text", text: USER_1 }] },
            { role: "assistant", content: [{ type: "text", text: ASSISTANT_1 }] },
            { role: "user", content: [{ type: "text", text: u2 }] },
          ];
    const limit = form === "string" ? { max_completion_tokens: MAX_TOKENS } : { max_tokens: MAX_TOKENS };
    return { model, messages, ...limit, temperature: TEMPERATURE, top_p: TOP_P, stop: form === "string" ? STOP : [STOP], ...extra };
  }
  if (client === "anthropic") {
    const text = (t) => (form === "string" ? t : [{ type: "text", text: t }]);
    return {
      model,
      system: form === "string" ? SYSTEM : [{ type: "text", text: SYSTEM }],
      messages: [
        { role: "user", content: text(USER_1) },
        { role: "assistant", content: text(ASSISTANT_1) },
        { role: "user", content: text(u2) },
      ],
      max_tokens: MAX_TOKENS,
      temperature: TEMPERATURE,
      top_p: TOP_P,
      stop_sequences: [STOP],
      ...extra,
    };
  }
  const input =
    form === "string"
      ? u2
      : [
          { role: "user", content: USER_1 },
          { type: "message", role: "assistant", content: [{ type: "output_text", text: ASSISTANT_1 }] },
          { type: "message", role: "user", content: [{ type: "input_text", text: u2 }] },
        ];
  return { model, instructions: SYSTEM, input, max_output_tokens: MAX_TOKENS, temperature: TEMPERATURE, top_p: TOP_P, ...extra };
}

/** The turns a request in `client` format carries (what the upstream should get). */
export function expectedTurns(client, form, scenario = "text") {
  if (client === "responses" && form === "string") return [{ role: "user", text: userTurn(scenario) }];
  return [
    { role: "user", text: USER_1 },
    { role: "assistant", text: ASSISTANT_1 },
    { role: "user", text: userTurn(scenario) },
  ];
}

/**
 * Sends `request` with the client's SDK, non-streaming (`create().withResponse()`) or streaming
 * through the SDK's own accumulator (`chat.completions.stream().finalChatCompletion()`,
 * `messages.stream().finalMessage()`, `responses.stream().finalResponse()`). Resolves with a
 * view of the answer: { id, model, text, stop, usage, headers (non-streaming only), raw }.
 */
export async function call(gw, key, client, request, { stream = false } = {}) {
  if (client === "chat") {
    const openai = gw.openaiClient(key);
    let raw;
    let headers = null;
    if (stream) {
      raw = await openai.chat.completions
        .stream({ ...request, stream_options: { include_usage: true, ...(request.stream_options ?? {}) } })
        .finalChatCompletion();
    } else {
      const { data, response } = await openai.chat.completions.create(request).withResponse();
      raw = data;
      headers = response.headers;
    }
    return { id: raw.id, model: raw.model, text: raw.choices[0].message.content, stop: raw.choices[0].finish_reason, usage: chatUsage(raw.usage), headers, raw };
  }
  if (client === "anthropic") {
    const anthropic = gw.anthropicClient(key);
    let raw;
    let headers = null;
    if (stream) {
      raw = await anthropic.messages.stream(request).finalMessage();
    } else {
      const { data, response } = await anthropic.messages.create(request).withResponse();
      raw = data;
      headers = response.headers;
    }
    const text = raw.content.filter((b) => b.type === "text").map((b) => b.text).join("");
    return { id: raw.id, model: raw.model, text, stop: raw.stop_reason, usage: anthropicUsage(raw.usage), headers, raw };
  }
  const openai = gw.openaiClient(key);
  let raw;
  let headers = null;
  let terminal = null;
  if (stream) {
    const s = openai.responses.stream(request);
    s.on("event", (e) => {
      if (["response.completed", "response.incomplete", "response.failed"].includes(e.type)) terminal = e.response;
    });
    raw = await s.finalResponse();
    // openai-node's ResponseStream only takes the response object from `response.completed`; after
    // `response.incomplete` its final response still says `in_progress`. Read status and usage
    // from the terminal event itself.
    if (terminal) raw = { ...raw, status: terminal.status, incomplete_details: terminal.incomplete_details, usage: terminal.usage ?? raw.usage };
  } else {
    const { data, response } = await openai.responses.create(request).withResponse();
    raw = data;
    headers = response.headers;
  }
  const stop = raw.status === "incomplete" ? `incomplete:${raw.incomplete_details?.reason}` : raw.status;
  return { id: raw.id, model: raw.model, text: outputText(raw), stop, usage: responsesUsage(raw.usage), headers, raw, terminal };
}

export function chatUsage(u) {
  if (!u) return u;
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.total_tokens,
    cached_tokens: u.prompt_tokens_details?.cached_tokens,
    reasoning_tokens: u.completion_tokens_details?.reasoning_tokens,
  };
}

export function anthropicUsage(u) {
  return {
    input_tokens: u.input_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation_input_tokens: u.cache_creation_input_tokens,
    output_tokens: u.output_tokens,
  };
}

export function responsesUsage(u) {
  if (!u) return u;
  return {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    total_tokens: u.total_tokens,
    cached_tokens: u.input_tokens_details?.cached_tokens,
    reasoning_tokens: u.output_tokens_details?.reasoning_tokens,
  };
}

/** The natural-end stop reason per client format. */
export const END_STOP = { chat: "stop", anthropic: "end_turn", responses: "completed" };
/** The id prefix per client format. */
export const ID_PREFIX = { chat: "chatcmpl-", anthropic: "msg_", responses: "resp_" };

// ------------------------------------------------------------------------------------------ upstream views

function partsText(content, types) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  return content.filter((p) => types.includes(p.type)).map((p) => p.text).join("");
}

/**
 * What an upstream request says, format-neutral: { system, systemPlacement, turns } where turns
 * are { role, text } and systemPlacement says where the system prompt was found.
 */
export function upstreamConversation(format, body) {
  if (format === "chat") {
    const systemMessages = body.messages.filter((m) => m.role === "system" || m.role === "developer");
    const firstIsSystem = ["system", "developer"].includes(body.messages[0]?.role);
    return {
      system: systemMessages.map((m) => partsText(m.content, ["text"])).join("\n") || null,
      systemPlacement: systemMessages.length === 1 && firstIsSystem ? `messages[0].role=${body.messages[0].role}` : `${systemMessages.length} system messages`,
      turns: body.messages.filter((m) => !systemMessages.includes(m)).map((m) => ({ role: m.role, text: partsText(m.content, ["text"]) })),
    };
  }
  if (format === "anthropic") {
    const system = typeof body.system === "string" ? body.system : Array.isArray(body.system) ? partsText(body.system, ["text"]) : null;
    return {
      system,
      systemPlacement: body.system === undefined ? "none" : "system",
      turns: body.messages.map((m) => ({ role: m.role, text: partsText(m.content, ["text"]) })),
    };
  }
  const items = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input ?? [];
  const systemItems = items.filter((i) => i.role === "system" || i.role === "developer");
  return {
    system: body.instructions ?? (systemItems.map((i) => partsText(i.content, ["input_text"])).join("\n") || null),
    systemPlacement: body.instructions !== undefined && systemItems.length === 0 ? "instructions" : `${systemItems.length} system items`,
    turns: items
      .filter((i) => !systemItems.includes(i) && (i.type === undefined || i.type === "message"))
      .map((i) => ({ role: i.role, text: partsText(i.content, ["input_text", "output_text"]) })),
  };
}
