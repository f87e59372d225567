// An upstream that plays one agent turn in each provider format (and Anthropic's token
// counting), for the real-client and conversation tests:
// the first call of a conversation answers with a tool call (Claude Code's `Read`, Gemini CLI's
// `read_file`, Codex's `exec_command`), the call that carries the tool's result answers with FINAL_TEXT. Streams
// are shaped as each vendor sends them. Every request body is recorded.
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

/** Answers served, for unique response ids. */
let served = 0;

function sseFrame(event, data) {
  return `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

function anthropic(body, res, file) {
  const last = body.messages.at(-1);
  const answered = Array.isArray(last.content) && last.content.some((b) => b.type === "tool_result");
  const tool = toolFor((body.tools ?? []).map((t) => t.name), file);
  const usage = { input_tokens: 100, output_tokens: 20 };
  const message = { id: `msg_agent${++served}`, type: "message", role: "assistant", model: body.model };
  const content = answered
    ? [{ type: "text", text: FINAL_TEXT }]
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
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: FINAL_TEXT } });
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
  const answered = body.messages.at(-1).role === "tool";
  const tool = toolFor((body.tools ?? []).map((t) => t.function.name), file);
  const usage = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 };
  const base = { id: `chatcmpl-agent${++served}`, created: 1730000000, model: body.model };
  const call = { id: "call_agent_1", type: "function", function: { name: tool.name, arguments: JSON.stringify(tool.input) } };
  if (!body.stream) {
    const message = answered ? { role: "assistant", content: FINAL_TEXT } : { role: "assistant", content: null, tool_calls: [call] };
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message, logprobs: null, finish_reason: answered ? "stop" : "tool_calls" }], usage }));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const chunk = (delta, finish = null) => res.write(sseFrame(null, { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null }));
  chunk({ role: "assistant", content: "" });
  if (answered) chunk({ content: FINAL_TEXT });
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
  const answered = input.some((i) => i.type === "function_call_output");
  const tool = toolFor((body.tools ?? []).map((t) => t.name), file);
  const usage = { input_tokens: 100, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 120 };
  const item = answered
    ? { id: "msg_agent", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: FINAL_TEXT, annotations: [] }] }
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
    ev("response.output_text.delta", { item_id: item.id, output_index: 0, content_index: 0, delta: FINAL_TEXT, logprobs: [] });
    ev("response.output_text.done", { item_id: item.id, output_index: 0, content_index: 0, text: FINAL_TEXT, logprobs: [] });
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
