// An upstream for the real-CLI session test: one scripted agent that answers in each vendor's
// format (Anthropic Messages, OpenAI Responses, OpenAI Chat), streamed or not, and records every
// request. What it answers depends only on the request's last turn:
//
//   a tool result             the turn's final text (IMAGE_ANSWER after an image, SEARCH_ANSWER
//                             after the search's text, EXPLORE_ANSWER after a sub-agent's report)
//   "picture.png"             a `Read` call on the picture when the client offers Read, else
//                             IMAGE_ANSWER (the picture came attached)
//   "weather in Paris"        the vendor's own web search (one search, its results, then text
//                             citing the first result) when the request offers the vendor's
//                             search tool, else a `WebSearch` call (Claude Code's client tool)
//   "Explore"                 an `Agent` call to Claude Code's Explore sub-agent
//   "List the files"          EXPLORE_REPORT (the sub-agent's own answer)
//   anything else             "OK."
//
// The search answer has the vendor's shapes: Anthropic `server_tool_use`, `web_search_tool_result`
// and text blocks with `web_search_result_location` citations, `usage.server_tool_use`; Responses
// a `web_search_call` item then a message whose text carries a `url_citation` annotation.
import http from "node:http";

export const PICTURE = "picture.png";
export const IMAGE_ANSWER = "The picture is a small red square.";
export const SEARCH = {
  query: "weather in Paris today",
  results: [
    { url: "https://weather.example/paris", title: "Paris weather", pageAge: "1 hour ago", encrypted: "EqCliSearchResultParis==" },
    { url: "https://news.example/paris", title: "Paris news", pageAge: null, encrypted: "EqCliSearchResultNews==" },
  ],
  segments: [{ text: "According to the forecast, " }, { text: "it is 18°C and sunny in Paris", cite: 0 }, { text: " today." }],
  citedText: "Sunny, high of 18°C",
};
export const SEARCH_TEXT = SEARCH.segments.map((s) => s.text).join("");
export const SEARCH_ANSWER = "Paris: 18°C and sunny today (source: weather.example).";
export const EXPLORE_REPORT = "The directory holds picture.png and nothing else.";
export const EXPLORE_ANSWER = "The Explore agent found one file: picture.png.";
const USAGE = { input: 100, output: 20 };

const ANTHROPIC_SEARCH = /^web_search_\d{8}$/;
const RESPONSES_SEARCH = /^web_search(_preview)?(_\d{4}_\d{2}_\d{2})?$/;

/** The last turn of a request, whatever its format: { result, text } (result: a tool result's JSON). */
function lastTurn(format, body) {
  const texts = (content) =>
    typeof content === "string" ? content : (content ?? []).filter((p) => typeof p?.text === "string").map((p) => p.text).join("\n");
  if (format === "anthropic") {
    const last = body.messages.at(-1);
    const results = Array.isArray(last.content) ? last.content.filter((b) => b.type === "tool_result") : [];
    return results.length ? { result: JSON.stringify(results) } : { text: texts(last.content) };
  }
  // Chat and Responses: what follows the last assistant turn (tool results, then perhaps a user
  // message the gateway moved an image to).
  const items = format === "chat" ? body.messages : typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
  const from = items.findLastIndex((i) => i.role === "assistant" || i.type === "function_call") + 1;
  const tail = items.slice(from);
  const results = tail.filter((i) => i.role === "tool" || i.type === "function_call_output");
  if (results.length) return { result: JSON.stringify(tail) };
  return { text: texts(items.findLast((i) => i.role === "user")?.content) };
}

function toolNames(format, body) {
  return (body.tools ?? []).map((t) => (format === "chat" ? t.function?.name : t.name)).filter(Boolean);
}

function offersSearch(format, body) {
  const tools = body.tools ?? [];
  if (format === "anthropic") return tools.some((t) => ANTHROPIC_SEARCH.test(t?.type ?? "") && t.name === "web_search");
  if (format === "responses") return tools.some((t) => RESPONSES_SEARCH.test(t?.type ?? ""));
  return false;
}

/** What to answer: { text } | { tool: { name, input } } | { search: true }. */
function decide(format, body, dir) {
  const turn = lastTurn(format, body);
  if (turn.result !== undefined) {
    if (turn.result.includes("sunny in Paris")) return { text: SEARCH_ANSWER };
    if (turn.result.includes(EXPLORE_REPORT)) return { text: EXPLORE_ANSWER };
    if (/image|base64/.test(turn.result)) return { text: IMAGE_ANSWER };
    return { text: "OK." };
  }
  const names = toolNames(format, body);
  if (turn.text.includes(PICTURE) && !turn.text.includes("List the files")) {
    return names.includes("Read") ? { tool: { name: "Read", input: { file_path: `${dir}/${PICTURE}` } } } : { text: IMAGE_ANSWER };
  }
  if (turn.text.includes("weather in Paris")) {
    if (offersSearch(format, body)) return { search: true };
    if (names.includes("WebSearch")) return { tool: { name: "WebSearch", input: { query: SEARCH.query } } };
  }
  if (turn.text.includes("List the files")) return { text: EXPLORE_REPORT };
  if (turn.text.includes("Explore") && names.includes("Agent")) {
    return { tool: { name: "Agent", input: { subagent_type: "Explore", description: "List the files", prompt: "List the files in the working directory." } } };
  }
  return { text: "OK." };
}

let served = 0;
const sse = (event, data) => `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;

function anthropic(body, answer, res) {
  const blocks = [];
  if (answer.search) {
    const id = `srvtoolu_cli${served}`;
    blocks.push({ type: "server_tool_use", id, name: "web_search", input: { query: SEARCH.query } });
    blocks.push({
      type: "web_search_tool_result",
      tool_use_id: id,
      content: SEARCH.results.map((r) => ({ type: "web_search_result", url: r.url, title: r.title, encrypted_content: r.encrypted, page_age: r.pageAge })),
    });
    for (const s of SEARCH.segments) {
      const r = SEARCH.results[s.cite];
      blocks.push(
        s.cite === undefined
          ? { type: "text", text: s.text }
          : { type: "text", text: s.text, citations: [{ type: "web_search_result_location", cited_text: SEARCH.citedText, url: r.url, title: r.title, encrypted_index: "EoCliCitation==" }] },
      );
    }
  } else if (answer.tool) blocks.push({ type: "tool_use", id: `toolu_cli${served}`, name: answer.tool.name, input: answer.tool.input });
  else blocks.push({ type: "text", text: answer.text });
  const stop = answer.tool ? "tool_use" : "end_turn";
  const usage = { input_tokens: USAGE.input, output_tokens: USAGE.output, ...(answer.search ? { server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 } } : {}) };
  const message = { id: `msg_cli${served}`, type: "message", role: "assistant", model: body.model };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ ...message, content: blocks, stop_reason: stop, stop_sequence: null, usage }));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const ev = (type, data) => res.write(sse(type, { type, ...data }));
  ev("message_start", { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: USAGE.input, output_tokens: 1 } } });
  blocks.forEach((b, index) => {
    if (b.type === "text") {
      ev("content_block_start", { index, content_block: { type: "text", text: "" } });
      for (const citation of b.citations ?? []) ev("content_block_delta", { index, delta: { type: "citations_delta", citation } });
      ev("content_block_delta", { index, delta: { type: "text_delta", text: b.text } });
    } else if (b.type === "tool_use" || b.type === "server_tool_use") {
      ev("content_block_start", { index, content_block: { ...b, input: {} } });
      ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) } });
    } else ev("content_block_start", { index, content_block: b });
    ev("content_block_stop", { index });
  });
  ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: USAGE.output, ...(usage.server_tool_use ? { server_tool_use: usage.server_tool_use } : {}) } });
  ev("message_stop", {});
  res.end();
}

function responses(body, answer, res) {
  const items = [];
  if (answer.search) {
    const action = { type: "search", query: SEARCH.query };
    if ((body.include ?? []).includes("web_search_call.action.sources")) action.sources = SEARCH.results.map((r) => ({ type: "url", url: r.url }));
    items.push({ id: `ws_cli${served}`, type: "web_search_call", status: "completed", action });
    let at = 0;
    const annotations = [];
    for (const s of SEARCH.segments) {
      const length = [...s.text].length;
      if (s.cite !== undefined) annotations.push({ type: "url_citation", start_index: at, end_index: at + length, url: SEARCH.results[s.cite].url, title: SEARCH.results[s.cite].title });
      at += length;
    }
    items.push({ id: `msg_cli${served}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: SEARCH_TEXT, annotations }] });
  } else if (answer.tool) {
    items.push({ id: `fc_cli${served}`, type: "function_call", status: "completed", call_id: `call_cli${served}`, name: answer.tool.name, arguments: JSON.stringify(answer.tool.input) });
  } else items.push({ id: `msg_cli${served}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: answer.text, annotations: [] }] });
  const usage = { input_tokens: USAGE.input, input_tokens_details: { cached_tokens: 0 }, output_tokens: USAGE.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: USAGE.input + USAGE.output };
  const response = { id: `resp_cli${served}`, object: "response", created_at: 1730000000, status: "completed", model: body.model, output: items, usage, error: null, incomplete_details: null, parallel_tool_calls: true, tool_choice: "auto", tools: [] };
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify(response));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  let seq = 0;
  const ev = (type, data) => res.write(sse(type, { type, sequence_number: seq++, ...data }));
  ev("response.created", { response: { ...response, status: "in_progress", output: [], usage: null } });
  items.forEach((item, output_index) => {
    const item_id = item.id;
    if (item.type === "web_search_call") {
      ev("response.output_item.added", { output_index, item: { id: item_id, type: "web_search_call", status: "in_progress" } });
      ev("response.web_search_call.in_progress", { output_index, item_id });
      ev("response.web_search_call.searching", { output_index, item_id });
      ev("response.web_search_call.completed", { output_index, item_id });
    } else if (item.type === "function_call") {
      ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", arguments: "" } });
      ev("response.function_call_arguments.delta", { item_id, output_index, delta: item.arguments });
      ev("response.function_call_arguments.done", { item_id, output_index, arguments: item.arguments });
    } else {
      const part = item.content[0];
      ev("response.output_item.added", { output_index, item: { ...item, status: "in_progress", content: [] } });
      ev("response.content_part.added", { item_id, output_index, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
      ev("response.output_text.delta", { item_id, output_index, content_index: 0, delta: part.text, logprobs: [] });
      part.annotations.forEach((annotation, annotation_index) =>
        ev("response.output_text.annotation.added", { item_id, output_index, content_index: 0, annotation_index, annotation }),
      );
      ev("response.output_text.done", { item_id, output_index, content_index: 0, text: part.text, logprobs: [] });
      ev("response.content_part.done", { item_id, output_index, content_index: 0, part });
    }
    ev("response.output_item.done", { output_index, item });
  });
  ev("response.completed", { response });
  res.end();
}

function chat(body, answer, res) {
  const usage = { prompt_tokens: USAGE.input, completion_tokens: USAGE.output, total_tokens: USAGE.input + USAGE.output };
  const base = { id: `chatcmpl-cli${served}`, created: 1730000000, model: body.model };
  const call = answer.tool && { id: `call_cli${served}`, type: "function", function: { name: answer.tool.name, arguments: JSON.stringify(answer.tool.input) } };
  const finish = call ? "tool_calls" : "stop";
  if (!body.stream) {
    const message = call ? { role: "assistant", content: null, tool_calls: [call] } : { role: "assistant", content: answer.text };
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], usage }));
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const chunk = (delta, finish_reason = null) => res.write(sse(null, { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason }] }));
  chunk({ role: "assistant", content: "" });
  if (call) chunk({ tool_calls: [{ index: 0, ...call }] });
  else chunk({ content: answer.text });
  chunk({}, finish);
  res.write(sse(null, { ...base, object: "chat.completion.chunk", choices: [], usage }));
  res.end("data: [DONE]\n\n");
}

/** Starts the upstream; `dir` is the session's working directory (where the picture is). */
export async function startCliUpstream(dir) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw);
    const format = req.url.split("/")[1];
    if (req.url.endsWith("/count_tokens")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ input_tokens: 42 }));
    }
    served++;
    const answer = decide(format, body, dir);
    requests.push({ format, path: req.url, body, answer });
    if (format === "anthropic") return anthropic(body, answer, res);
    if (format === "responses") return responses(body, answer, res);
    if (format === "chat") return chat(body, answer, res);
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => new Promise((r) => server.close(r)) };
}
