// Calls through the gateway in each client format with the official SDKs, and views of the
// answers and of the upstream requests that tests can compare across formats.

import assert from "node:assert/strict";

import { outputText } from "./gateway.mjs";

export const CLIENTS = ["chat", "anthropic", "responses", "gemini"];

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
  if (client === "gemini") {
    // What `ai.models.generateContent` takes: contents (a string is one user turn), config.
    const contents =
      form === "string"
        ? u2
        : [
            { role: "user", parts: [{ text: USER_1 }] },
            { role: "model", parts: [{ text: ASSISTANT_1 }] },
            { role: "user", parts: [{ text: u2 }] },
          ];
    const systemInstruction = form === "string" ? SYSTEM : { parts: [{ text: SYSTEM }] };
    return {
      model,
      contents,
      config: { systemInstruction, maxOutputTokens: MAX_TOKENS, temperature: TEMPERATURE, topP: TOP_P, stopSequences: [STOP], ...extra },
    };
  }
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

/**
 * A Gemini SDK request ({ model, contents, config }) as the REST body the SDK sends: contents
 * as a list of contents, the request-level fields of `config` at the top, the rest in
 * `generationConfig`. Returns { path, body } for `method` (generateContent,
 * streamGenerateContent, countTokens).
 */
export function geminiRest(request, method = "generateContent") {
  const { systemInstruction, tools, toolConfig, safetySettings, cachedContent, ...generationConfig } = request.config ?? {};
  const content = (c) => (typeof c === "string" ? { role: "user", parts: [{ text: c }] } : c);
  const body = { contents: typeof request.contents === "string" ? [content(request.contents)] : request.contents.map(content) };
  if (systemInstruction !== undefined) body.systemInstruction = typeof systemInstruction === "string" ? { parts: [{ text: systemInstruction }] } : systemInstruction;
  if (tools !== undefined) body.tools = tools;
  if (toolConfig !== undefined) body.toolConfig = toolConfig;
  if (safetySettings !== undefined) body.safetySettings = safetySettings;
  if (cachedContent !== undefined) body.cachedContent = cachedContent;
  if (Object.keys(generationConfig).length) body.generationConfig = generationConfig;
  const query = method === "streamGenerateContent" ? "?alt=sse" : "";
  return { path: `/v1beta/models/${request.model}:${method}${query}`, body };
}

/** The turns a request in `client` format carries (what the upstream should get). */
export function expectedTurns(client, form, scenario = "text") {
  if ((client === "responses" || client === "gemini") && form === "string") return [{ role: "user", text: userTurn(scenario) }];
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
export async function call(gw, key, client, request, { stream = false, upstream = null } = {}) {
  if (client === "gemini") {
    const ai = gw.geminiClient(key);
    let raw;
    let headers = null;
    if (stream) {
      const chunks = [];
      for await (const chunk of await ai.models.generateContentStream(request)) chunks.push(chunk);
      raw = mergeGeminiChunks(chunks, { strictLast: upstream !== null && upstream !== "gemini" });
    } else {
      raw = await ai.models.generateContent(request);
      headers = new Headers(raw.sdkHttpResponse?.headers ?? {});
    }
    const candidate = raw.candidates?.[0];
    return { id: raw.responseId, model: raw.modelVersion, text: geminiText(raw), stop: candidate?.finishReason, usage: geminiUsage(raw.usageMetadata), headers, raw };
  }
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

/**
 * A Gemini stream as one answer, the way the SDK's chat history keeps it: every chunk's parts in
 * order, the last chunk's finishReason and usage. `chunks` are the SDK's. Every chunk but the
 * last must have a candidate with parts; Google itself sometimes ends with a chunk that has only
 * the finishReason (forwarded as it is to a Gemini client), which the gateway's own streams
 * never do (see `strictLast`).
 */
export function mergeGeminiChunks(chunks, { strictLast = false } = {}) {
  assert.ok(chunks.length > 0, "Gemini stream: at least one chunk");
  const parts = [];
  for (const [i, chunk] of chunks.entries()) {
    const content = chunk.candidates?.[0]?.content;
    const last = i === chunks.length - 1;
    if (!last || strictLast) assert.ok(Array.isArray(content?.parts) && content.parts.length > 0, `Gemini stream: chunk ${i} has parts`);
    parts.push(...(content?.parts ?? []));
    if (i < chunks.length - 1) assert.equal(chunk.candidates[0].finishReason, undefined, `Gemini stream: only the last chunk has a finishReason`);
  }
  const last = chunks[chunks.length - 1];
  assert.ok(last.candidates[0].finishReason, "Gemini stream: the last chunk has a finishReason");
  return {
    responseId: last.responseId,
    modelVersion: last.modelVersion,
    candidates: [{ content: { role: "model", parts }, finishReason: last.candidates[0].finishReason }],
    usageMetadata: last.usageMetadata,
  };
}

/** The answer text of a Gemini response (thought parts left out). */
export function geminiText(raw) {
  return (raw.candidates?.[0]?.content?.parts ?? []).filter((p) => typeof p.text === "string" && !p.thought).map((p) => p.text).join("");
}

/** Every figure Gemini reports, absent ones as 0. */
export function geminiUsage(u) {
  if (!u) return u;
  return {
    promptTokenCount: u.promptTokenCount ?? 0,
    cachedContentTokenCount: u.cachedContentTokenCount ?? 0,
    candidatesTokenCount: u.candidatesTokenCount ?? 0,
    thoughtsTokenCount: u.thoughtsTokenCount ?? 0,
    totalTokenCount: u.totalTokenCount ?? 0,
  };
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
export const END_STOP = { chat: "stop", anthropic: "end_turn", responses: "completed", gemini: "STOP" };
/** The id prefix per client format (Gemini's responseIds have none). */
export const ID_PREFIX = { chat: "chatcmpl-", anthropic: "msg_", responses: "resp_", gemini: "" };

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
/** The text of Gemini parts (thoughts left out). */
function geminiPartsText(parts) {
  return (parts ?? []).filter((p) => typeof p.text === "string" && !p.thought).map((p) => p.text).join("");
}

export function upstreamConversation(format, body) {
  if (format === "gemini") {
    return {
      system: body.systemInstruction ? geminiPartsText(body.systemInstruction.parts) : null,
      systemPlacement: body.systemInstruction ? "systemInstruction" : "none",
      turns: body.contents.map((c) => ({ role: c.role === "model" ? "assistant" : "user", text: geminiPartsText(c.parts) })),
    };
  }
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

// ------------------------------------------------------------------------------------------ tool loops

/** Two function tools, format-neutral: { name, description, schema }. */
export const TOOL_DEFS = [
  {
    name: "get_weather",
    description: "Current weather in a city.",
    schema: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city"],
    },
  },
  {
    name: "get_time",
    description: "Current time in a timezone.",
    schema: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] },
  },
];

/** The tools as a client of `client` format declares them. */
export function toolsFor(client, defs = TOOL_DEFS) {
  if (client === "gemini") return [{ functionDeclarations: defs.map((t) => ({ name: t.name, description: t.description, parametersJsonSchema: t.schema })) }];
  if (client === "chat") return defs.map((t) => ({ type: "function", function: { name: t.name, description: t.description, parameters: t.schema } }));
  if (client === "anthropic") return defs.map((t) => ({ name: t.name, description: t.description, input_schema: t.schema }));
  return defs.map((t) => ({ type: "function", name: t.name, description: t.description, parameters: t.schema, strict: false }));
}

/** The request field a tool choice is in (Gemini: `toolConfig`). */
export function toolChoiceField(format) {
  return format === "gemini" ? "toolConfig" : "tool_choice";
}

/** A `tool_choice` forcing the tool `name`, in `format`'s shape (client or upstream). */
export function namedToolChoice(format, name) {
  if (format === "gemini") return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [name] } };
  if (format === "chat") return { type: "function", function: { name } };
  if (format === "anthropic") return { type: "tool", name };
  return { type: "function", name };
}

/** The tools an upstream request declares, format-neutral ({ name, description, schema }). */
export function upstreamTools(format, body) {
  if (format === "gemini") {
    return (body.tools ?? [])
      .flatMap((t) => t.functionDeclarations ?? [])
      .map((d) => ({ name: d.name, description: d.description, schema: d.parametersJsonSchema ?? d.parameters }));
  }
  return (body.tools ?? []).map((t) => {
    if (format === "chat") return { name: t.function?.name, description: t.function?.description, schema: t.function?.parameters };
    if (format === "anthropic") return { name: t.name, description: t.description, schema: t.input_schema };
    return { name: t.name, description: t.description, schema: t.parameters };
  });
}

/**
 * The tool calls in an answer of `client` format (the SDK's object): [{ id, name, input, ...}]
 * with `input` the parsed arguments. Responses calls also carry `itemId` and `status`; Chat calls
 * `type`.
 */
export function clientToolCalls(client, raw) {
  if (client === "gemini") {
    return (raw.candidates?.[0]?.content?.parts ?? []).filter((p) => p.functionCall).map((p) => ({ id: p.functionCall.id, name: p.functionCall.name, input: p.functionCall.args }));
  }
  if (client === "chat") {
    return (raw.choices[0].message.tool_calls ?? []).map((t) => ({ id: t.id, type: t.type, name: t.function.name, input: JSON.parse(t.function.arguments) }));
  }
  if (client === "anthropic") {
    return raw.content.filter((b) => b.type === "tool_use").map((b) => ({ id: b.id, name: b.name, input: b.input }));
  }
  return raw.output
    .filter((o) => o.type === "function_call")
    .map((o) => ({ id: o.call_id, itemId: o.id, status: o.status, name: o.name, input: JSON.parse(o.arguments) }));
}

/**
 * The next request of a tool loop, built the way a client of `client` format really does it:
 * the previous request's conversation, the answer `raw` as the SDK returned it (Chat: the
 * assistant message pushed back as is; Anthropic: the assistant content blocks replayed
 * unchanged; Responses: every output item replayed as an input item), then the results of its
 * tool calls in order (`results[i]` answers call i: { content, isError }), then `userText`
 * (Anthropic: in the same user turn, after the tool_result blocks). `extra` overrides fields.
 */
export function toolResultTurn(client, previous, raw, results, userText, extra = {}) {
  const calls = clientToolCalls(client, raw);
  if (calls.length !== results.length) throw new Error(`toolResultTurn: ${calls.length} calls, ${results.length} results`);
  if (client === "gemini") {
    // As the SDK's chat does: the model's content as it came, then one user content with a
    // functionResponse per call (its id and name), then the user's text.
    const contents = typeof previous.contents === "string" ? [{ role: "user", parts: [{ text: previous.contents }] }] : previous.contents;
    return {
      ...previous,
      contents: [
        ...contents,
        raw.candidates[0].content,
        {
          role: "user",
          parts: [
            ...calls.map((c, i) => ({
              functionResponse: { ...(c.id ? { id: c.id } : {}), name: c.name, response: results[i].isError ? { error: results[i].content } : { output: results[i].content } },
            })),
            { text: userText },
          ],
        },
      ],
      ...(Object.keys(extra).length ? { config: { ...previous.config, ...extra } } : {}),
    };
  }
  if (client === "chat") {
    return {
      ...previous,
      messages: [
        ...previous.messages,
        raw.choices[0].message,
        ...calls.map((c, i) => ({ role: "tool", tool_call_id: c.id, content: results[i].content })),
        { role: "user", content: userText },
      ],
      ...extra,
    };
  }
  if (client === "anthropic") {
    return {
      ...previous,
      messages: [
        ...previous.messages,
        { role: "assistant", content: raw.content },
        {
          role: "user",
          content: [
            ...calls.map((c, i) => ({ type: "tool_result", tool_use_id: c.id, content: results[i].content, ...(results[i].isError ? { is_error: true } : {}) })),
            { type: "text", text: userText },
          ],
        },
      ],
      ...extra,
    };
  }
  const input = typeof previous.input === "string" ? [{ role: "user", content: previous.input }] : previous.input;
  return {
    ...previous,
    input: [
      ...input,
      ...raw.output,
      ...calls.map((c, i) => ({ type: "function_call_output", call_id: c.id, output: results[i].content })),
      { role: "user", content: userText },
    ],
    ...extra,
  };
}

/** Text of a tool result's content in any format (a string, or text parts joined with "\n"). */
function resultText(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  return content.filter((p) => ["text", "input_text"].includes(p.type)).map((p) => p.text).join("\n");
}

/**
 * The tool exchange in an upstream request, checked against the rules of the upstream's format
 * (each check is an assertion naming the rule). Returns, format-neutral:
 *   { before: [{ role, text }] (turns before the assistant tool turn),
 *     assistant: [kinds of the assistant turn's parts in order: "reasoning" | "text" | "call"],
 *     assistantText, calls: [{ id, name, input }], results: [{ id, content, isError }],
 *     after: the user text that follows the results, trailing: what follows that }
 *
 * Chat: one assistant message with `tool_calls`, then exactly one `tool` message per call, right
 * after it. Anthropic: an assistant turn with the `tool_use` blocks, then the next message is a
 * user turn that starts with one `tool_result` per call. Responses: the assistant's items, the
 * `function_call` items, then one `function_call_output` per call (after all the calls), each
 * with a call_id of an earlier call.
 */
export function upstreamToolExchange(format, body) {
  if (format === "gemini") {
    const contents = body.contents;
    const at = contents.findIndex((c) => c.role === "model" && c.parts.some((p) => p.functionCall));
    assert.ok(at >= 0, "Gemini: a model content with functionCall parts");
    const parts = contents[at].parts;
    const calls = parts.filter((p) => p.functionCall).map((p) => {
      assert.equal(typeof p.functionCall.args, "object", "Gemini: args are an object");
      return { id: p.functionCall.id, name: p.functionCall.name, input: p.functionCall.args };
    });
    const next = contents[at + 1];
    assert.ok(next && next.role === "user", "Gemini: a user content right after the calls");
    const responses = next.parts.filter((p) => p.functionResponse).map((p) => p.functionResponse);
    assert.equal(responses.length, calls.length, "Gemini: as many function responses as calls");
    assert.deepEqual(next.parts.slice(0, calls.length).map((p) => Boolean(p.functionResponse)), calls.map(() => true), "Gemini: the function responses come first");
    for (const [i, r] of responses.entries()) {
      assert.equal(r.name, calls[i].name, "Gemini: each response is named after its call, in call order");
      assert.equal(r.id, calls[i].id, "Gemini: each response carries its call's id (or none, as the call)");
      assert.equal(typeof r.response, "object", "Gemini: response is an object");
    }
    const kind = (p) => (p.functionCall ? "call" : p.thought || (p.text === "" && p.thoughtSignature) ? "reasoning" : "text");
    // A streamed model turn keeps its text in several parts (one per chunk): one text.
    const kinds = parts.map(kind).filter((k, i, all) => !(k === "text" && all[i - 1] === "text"));
    const after = geminiPartsText(next.parts.filter((p) => !p.functionResponse));
    return {
      before: contents.slice(0, at).map((c) => ({ role: c.role === "model" ? "assistant" : "user", text: geminiPartsText(c.parts) })),
      assistant: kinds,
      assistantText: geminiPartsText(parts) || null,
      calls,
      results: responses.map((r) => ({ id: r.id, content: r.response.error ?? r.response.output, isError: r.response.error !== undefined })),
      after: after || null,
      trailing: contents.slice(at + 2),
    };
  }
  if (format === "chat") {
    const messages = body.messages.filter((m) => m.role !== "system" && m.role !== "developer");
    const at = messages.findIndex((m) => m.role === "assistant" && Array.isArray(m.tool_calls) && m.tool_calls.length);
    assert.ok(at >= 0, "Chat: an assistant message with tool_calls");
    const a = messages[at];
    const calls = a.tool_calls.map((t) => {
      assert.equal(t.type, "function", "Chat: tool_calls[].type is function");
      assert.equal(typeof t.function.arguments, "string", "Chat: arguments are a JSON string");
      return { id: t.id, name: t.function.name, input: JSON.parse(t.function.arguments) };
    });
    const tools = messages.slice(at + 1, at + 1 + calls.length);
    assert.deepEqual(tools.map((m) => m.role), calls.map(() => "tool"), "Chat: one tool message per call right after the assistant message");
    assert.deepEqual(tools.map((m) => m.tool_call_id).sort(), calls.map((c) => c.id).sort(), "Chat: each tool message answers one of the calls by id");
    const rest = messages.slice(at + 1 + calls.length);
    assert.ok(!rest.some((m) => m.role === "tool"), "Chat: no tool message after other messages");
    const text = partsText(a.content, ["text"]);
    return {
      before: messages.slice(0, at).map((m) => ({ role: m.role, text: partsText(m.content, ["text"]) })),
      assistant: [...(text ? ["text"] : []), ...calls.map(() => "call")],
      assistantText: text || null,
      calls,
      results: tools.map((m) => ({ id: m.tool_call_id, content: resultText(m.content), isError: false })),
      after: rest[0]?.role === "user" ? partsText(rest[0].content, ["text"]) : null,
      trailing: rest.slice(1),
    };
  }
  if (format === "anthropic") {
    const messages = body.messages;
    const at = messages.findIndex((m) => m.role === "assistant" && Array.isArray(m.content) && m.content.some((b) => b.type === "tool_use"));
    assert.ok(at >= 0, "Anthropic: an assistant turn with tool_use blocks");
    const blocks = messages[at].content;
    const calls = blocks.filter((b) => b.type === "tool_use").map((b) => {
      assert.match(b.id, /^[a-zA-Z0-9_-]+$/, "Anthropic: tool_use ids match ^[a-zA-Z0-9_-]+$");
      assert.equal(typeof b.input, "object", "Anthropic: tool_use input is an object");
      return { id: b.id, name: b.name, input: b.input };
    });
    const next = messages[at + 1];
    assert.ok(next && next.role === "user" && Array.isArray(next.content), "Anthropic: a user turn right after the tool_use turn");
    const results = next.content.slice(0, calls.length);
    assert.deepEqual(results.map((b) => b.type), calls.map(() => "tool_result"), "Anthropic: the tool_result blocks come first in the next user turn");
    assert.ok(!next.content.slice(calls.length).some((b) => b.type === "tool_result"), "Anthropic: one tool_result per tool_use");
    for (const r of results) assert.match(r.tool_use_id, /^[a-zA-Z0-9_-]+$/, "Anthropic: tool_use_id matches ^[a-zA-Z0-9_-]+$");
    assert.deepEqual(results.map((r) => r.tool_use_id).sort(), calls.map((c) => c.id).sort(), "Anthropic: each tool_result answers one of the tool_use blocks by id");
    const kind = (b) => ({ thinking: "reasoning", redacted_thinking: "reasoning", text: "text", tool_use: "call" })[b.type] ?? b.type;
    const after = next.content.slice(calls.length).filter((b) => b.type === "text").map((b) => b.text).join("");
    return {
      before: messages.slice(0, at).map((m) => ({ role: m.role, text: partsText(m.content, ["text"]) })),
      assistant: blocks.map(kind),
      assistantText: partsText(blocks, ["text"]) || null,
      calls,
      results: results.map((b) => ({ id: b.tool_use_id, content: resultText(b.content), isError: b.is_error === true })),
      after: after || null,
      trailing: messages.slice(at + 2),
    };
  }
  const items = Array.isArray(body.input) ? body.input : [];
  const isMessage = (i) => i.type === undefined || i.type === "message";
  const first = items.findIndex((i) => i.type === "function_call");
  assert.ok(first >= 0, "Responses: function_call items");
  // The assistant's items: everything after the last user message before the first call.
  let start = first;
  while (start > 0 && !(isMessage(items[start - 1]) && items[start - 1].role === "user")) start--;
  const calls = [];
  let k = first;
  for (; k < items.length && items[k].type === "function_call"; k++) {
    assert.equal(typeof items[k].arguments, "string", "Responses: arguments are a JSON string");
    calls.push({ id: items[k].call_id, name: items[k].name, input: JSON.parse(items[k].arguments) });
  }
  const outputs = [];
  for (; k < items.length && items[k].type === "function_call_output"; k++) outputs.push(items[k]);
  assert.equal(outputs.length, calls.length, "Responses: one function_call_output per function_call, after the calls");
  assert.ok(!items.slice(k).some((i) => i.type === "function_call_output" || i.type === "function_call"), "Responses: no call or output after the exchange");
  assert.ok(!items.slice(0, first).some((i) => i.type === "function_call_output"), "Responses: no output before its call");
  assert.deepEqual(outputs.map((o) => o.call_id).sort(), calls.map((c) => c.id).sort(), "Responses: each function_call_output answers one of the calls by call_id");
  const kind = (i) => (i.type === "reasoning" ? "reasoning" : isMessage(i) ? "text" : i.type);
  const assistantItems = items.slice(start, k - outputs.length);
  const rest = items.slice(k);
  return {
    before: items.slice(0, start).filter(isMessage).map((i) => ({ role: i.role, text: partsText(i.content, ["input_text", "output_text"]) })),
    assistant: assistantItems.map((i) => (i.type === "function_call" ? "call" : kind(i))),
    assistantText: assistantItems.filter(isMessage).map((i) => partsText(i.content, ["output_text"])).join("") || null,
    calls,
    results: outputs.map((o) => ({ id: o.call_id, content: resultText(o.output), isError: false })),
    after: rest[0] && isMessage(rest[0]) && rest[0].role === "user" ? partsText(rest[0].content, ["input_text"]) : null,
    trailing: rest.slice(1),
  };
}

// ------------------------------------------------------------------------------------------ images

/** A 1×1 transparent PNG. */
export const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
export const IMAGE_URL = "https://example.com/cat.png";

/**
 * A user image part in `client` format: { base64: PNG data } (media type image/png), { url },
 * or { fileId }.
 */
export function imagePart(client, { base64, url, fileId }) {
  if (client === "gemini") {
    if (base64) return { inlineData: { mimeType: "image/png", data: base64 } };
    if (url) return { fileData: { mimeType: "image/png", fileUri: url } };
    return { fileData: { fileUri: fileId } };
  }
  if (client === "chat") return { type: "image_url", image_url: { url: base64 ? `data:image/png;base64,${base64}` : url } };
  if (client === "anthropic") {
    if (base64) return { type: "image", source: { type: "base64", media_type: "image/png", data: base64 } };
    if (url) return { type: "image", source: { type: "url", url } };
    return { type: "image", source: { type: "file", file_id: fileId } };
  }
  if (base64) return { type: "input_image", image_url: `data:image/png;base64,${base64}`, detail: "auto" };
  if (url) return { type: "input_image", image_url: url, detail: "auto" };
  return { type: "input_image", file_id: fileId, detail: "auto" };
}

/** A one-turn request in `client` format whose user turn is `text` then the image `parts`. */
export function imageRequest(client, model, text, parts) {
  if (client === "gemini") return { model, contents: [{ role: "user", parts: [{ text }, ...parts] }], config: { maxOutputTokens: MAX_TOKENS } };
  if (client === "chat") return { model, max_completion_tokens: MAX_TOKENS, messages: [{ role: "user", content: [{ type: "text", text }, ...parts] }] };
  if (client === "anthropic") return { model, max_tokens: MAX_TOKENS, messages: [{ role: "user", content: [{ type: "text", text }, ...parts] }] };
  return { model, max_output_tokens: MAX_TOKENS, input: [{ role: "user", content: [{ type: "input_text", text }, ...parts] }] };
}

/**
 * The images in the last user turn of an upstream request, format-neutral:
 * { base64: { media_type, data } } or { url }, plus `raw` (the part as sent).
 */
export function upstreamImages(format, body) {
  if (format === "gemini") {
    const user = [...body.contents].reverse().find((c) => c.role === "user");
    return user.parts
      .filter((p) => p.inlineData || p.fileData)
      .map((p) => (p.inlineData ? { base64: { media_type: p.inlineData.mimeType, data: p.inlineData.data }, raw: p } : { url: p.fileData.fileUri, raw: p }));
  }
  let parts;
  if (format === "responses") parts = [...body.input].reverse().find((i) => (i.type === undefined || i.type === "message") && i.role === "user").content;
  else parts = [...body.messages].reverse().find((m) => m.role === "user").content;
  const fromUrl = (url) => {
    const m = /^data:([^;,]+);base64,(.*)$/.exec(url);
    return m ? { base64: { media_type: m[1], data: m[2] } } : { url };
  };
  return parts
    .filter((p) => ["image_url", "image", "input_image"].includes(p.type))
    .map((p) => {
      if (format === "chat") return { ...fromUrl(p.image_url.url), raw: p };
      if (format === "anthropic") {
        if (p.source.type === "base64") return { base64: { media_type: p.source.media_type, data: p.source.data }, raw: p };
        if (p.source.type === "url") return { url: p.source.url, raw: p };
        return { other: p.source, raw: p };
      }
      return p.image_url ? { ...fromUrl(p.image_url), raw: p } : { other: { file_id: p.file_id }, raw: p };
    });
}
