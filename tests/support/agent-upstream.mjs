// An upstream that plays one agent turn in each provider format (and Anthropic's token
// counting), for the real-client and conversation tests:
// the first call of a conversation answers with a tool call (Claude Code's `Read`, Gemini CLI's
// `read_file`, Codex's `exec_command`), the call that carries the tool's result answers with
// FINAL_TEXT. A call that asks for structured output (an agent's side call, such as Gemini
// CLI's model router) is answered with a JSON instance of its schema, after the schema is
// checked as the vendors do (JSON Schema type names only: a Google `"OBJECT"` gets a 400).
// Streams are shaped as each vendor sends them. Every request body is recorded.
import http from "node:http";

export const FINAL_TEXT = "The file defines an empty main function.";
/** What the Anthropic count_tokens endpoint answers. */
export const COUNTED_TOKENS = 42;

const toolFor = (names, file) =>
  names.includes("Read")
    ? { name: "Read", input: { file_path: file } }
    : names.includes("read_file")
      ? { name: "read_file", input: { file_path: file } }
      : { name: "exec_command", input: { cmd: "cat main.rs" } };

const JSON_TYPES = ["string", "number", "integer", "boolean", "array", "object", "null"];

/** The first `type` in `schema` that is not a JSON Schema type name, if any. */
function badType(schema) {
  if (schema === null || typeof schema !== "object") return undefined;
  const types = schema.type === undefined ? [] : [schema.type].flat();
  const bad = types.find((t) => !JSON_TYPES.includes(t));
  if (bad !== undefined) return bad;
  const children = [
    ...Object.values(schema.properties ?? {}),
    ...Object.values(schema.$defs ?? {}),
    ...[schema.items, schema.additionalProperties].filter((c) => typeof c === "object"),
    ...["anyOf", "oneOf", "allOf", "prefixItems"].flatMap((k) => schema[k] ?? []),
  ];
  for (const child of children) {
    const found = badType(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The smallest JSON value `schema` takes: required properties only, numbers at their minimum. */
function instance(schema) {
  if (schema.enum) return schema.enum[0];
  switch ([schema.type].flat()[0]) {
    case "object":
      return Object.fromEntries((schema.required ?? []).map((k) => [k, instance(schema.properties?.[k] ?? {})]));
    case "array":
      return [];
    case "integer":
    case "number":
      return schema.minimum ?? 1;
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return "ok";
  }
}

/**
 * What a call that asks for structured output gets: `{ text }` (an instance of its schema), or
 * `{ error }` (the vendor's message for a schema it refuses); undefined for other calls.
 */
function structured(schema) {
  if (schema === undefined) return undefined;
  const bad = badType(schema);
  return bad === undefined ? { text: JSON.stringify(instance(schema)) } : { error: `Invalid schema: type "${bad}" is not a JSON Schema type` };
}

function refuse(res, body) {
  res.writeHead(400, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** Answers served, for unique response ids. */
let served = 0;

function sseFrame(event, data) {
  return `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

function anthropic(body, res, file) {
  const last = body.messages.at(-1);
  const format = body.output_config?.format;
  const json = structured(format?.type === "json_schema" ? format.schema : undefined);
  if (json?.error) return refuse(res, { type: "error", error: { type: "invalid_request_error", message: `output_config.format.schema: ${json.error}` } });
  const text = json?.text ?? FINAL_TEXT;
  const answered = json !== undefined || (Array.isArray(last.content) && last.content.some((b) => b.type === "tool_result"));
  const tool = toolFor((body.tools ?? []).map((t) => t.name), file);
  const usage = { input_tokens: 100, output_tokens: 20 };
  const message = { id: `msg_agent${++served}`, type: "message", role: "assistant", model: body.model };
  const content = answered
    ? [{ type: "text", text }]
    : [{ type: "tool_use", id: "toolu_agent_1", name: tool.name, input: tool.input }];
  const stop = answered ? "end_turn" : "tool_use";
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ ...message, content, stop_reason: stop, stop_sequence: null, usage }));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const ev = (type, data) => res.write(sseFrame(type, { type, ...data }));
  ev("message_start", { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 100, output_tokens: 1 } } });
  if (answered) {
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } });
  } else {
    ev("content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_agent_1", name: tool.name, input: {} } });
    const args = JSON.stringify(tool.input);
    ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: args.slice(0, 5) } });
    ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: args.slice(5) } });
  }
  ev("content_block_stop", { index: 0 });
  ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 20 } });
  ev("message_stop", {});
  res.end();
}

function chat(body, res, file) {
  const format = body.response_format;
  const json = structured(format?.type === "json_schema" ? format.json_schema?.schema : undefined);
  if (json?.error) return refuse(res, { error: { message: json.error, type: "invalid_request_error", param: "response_format", code: null } });
  const text = json?.text ?? FINAL_TEXT;
  const answered = json !== undefined || body.messages.at(-1).role === "tool";
  const tool = toolFor((body.tools ?? []).map((t) => t.function.name), file);
  const usage = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 };
  const base = { id: `chatcmpl-agent${++served}`, created: 1730000000, model: body.model };
  const call = { id: "call_agent_1", type: "function", function: { name: tool.name, arguments: JSON.stringify(tool.input) } };
  if (!body.stream) {
    const message = answered ? { role: "assistant", content: text } : { role: "assistant", content: null, tool_calls: [call] };
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message, logprobs: null, finish_reason: answered ? "stop" : "tool_calls" }], usage }));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const chunk = (delta, finish = null) => res.write(sseFrame(null, { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null }));
  chunk({ role: "assistant", content: "" });
  if (answered) chunk({ content: text });
  else {
    chunk({ tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: tool.name, arguments: "" } }] });
    chunk({ tool_calls: [{ index: 0, function: { arguments: call.function.arguments } }] });
  }
  chunk({}, answered ? "stop" : "tool_calls");
  res.write(sseFrame(null, { ...base, object: "chat.completion.chunk", choices: [], usage }));
  res.end("data: [DONE]\n\n");
}

function responses(body, res, file) {
  const input = Array.isArray(body.input) ? body.input : [];
  const format = body.text?.format;
  const json = structured(format?.type === "json_schema" ? format.schema : undefined);
  if (json?.error) return refuse(res, { error: { message: json.error, type: "invalid_request_error", param: "text.format.schema", code: null } });
  const text = json?.text ?? FINAL_TEXT;
  const answered = json !== undefined || input.some((i) => i.type === "function_call_output");
  const tool = toolFor((body.tools ?? []).map((t) => t.name), file);
  const usage = { input_tokens: 100, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 120 };
  const item = answered
    ? { id: "msg_agent", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] }
    : { id: "fc_agent", type: "function_call", status: "completed", call_id: "call_agent_1", name: tool.name, arguments: JSON.stringify(tool.input) };
  const response = { id: `resp_agent${++served}`, object: "response", created_at: 1730000000, status: "completed", model: body.model, output: [item], usage, error: null, incomplete_details: null, parallel_tool_calls: true, tool_choice: "auto", tools: [] };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify(response));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  let seq = 0;
  const ev = (type, data) => res.write(sseFrame(type, { type, sequence_number: seq++, ...data }));
  ev("response.created", { response: { ...response, status: "in_progress", output: [], usage: null } });
  if (answered) {
    ev("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", content: [] } });
    ev("response.content_part.added", { item_id: item.id, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
    ev("response.output_text.delta", { item_id: item.id, output_index: 0, content_index: 0, delta: text, logprobs: [] });
    ev("response.output_text.done", { item_id: item.id, output_index: 0, content_index: 0, text, logprobs: [] });
    ev("response.content_part.done", { item_id: item.id, output_index: 0, content_index: 0, part: item.content[0] });
  } else {
    ev("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", arguments: "" } });
    ev("response.function_call_arguments.delta", { item_id: item.id, output_index: 0, delta: item.arguments });
    ev("response.function_call_arguments.done", { item_id: item.id, output_index: 0, arguments: item.arguments });
  }
  ev("response.output_item.done", { output_index: 0, item });
  ev("response.completed", { response });
  res.end();
}

/** Starts the upstream; `file` is the absolute path the `Read` and `read_file` calls ask for. */
export async function startAgentUpstream(file) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw);
    requests.push({ path: req.url, headers: req.headers, body });
    if (req.url === "/anthropic/v1/messages/count_tokens") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ input_tokens: COUNTED_TOKENS }));
    }
    if (req.url.startsWith("/anthropic/")) return anthropic(body, res, file);
    if (req.url.startsWith("/chat/")) return chat(body, res, file);
    if (req.url.startsWith("/responses/")) return responses(body, res, file);
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => new Promise((r) => server.close(r)) };
}
