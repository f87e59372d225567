// A metered upstream for the integrity suite. It speaks the three vendor formats, streamed and
// not, and keeps a ledger of what each request costs at it, the way a real provider bills:
// the input it counts (⌈prompt text bytes / 4⌉, about what an English tokenizer gives) plus
// one output token for every text delta it actually wrote before the answer ended or the
// gateway went away (each delta is one short word). A test compares the gateway's charge with
// that ledger: the invariant is charged ≥ ledger, whatever happened on the way.
//
// The upstream model id picks the behaviour:
//   answer       N deltas (N = the output limit it was sent, at most 20), then the terminal event
//   long         200 deltas, 20 ms apart, then the terminal event
//   silent       the start event, then nothing for SILENCE_MS, then 5 deltas and the end
//   pause        the start event, 3 deltas, then nothing for SILENCE_MS, then 5 deltas and the end
//   hold         non-streamed: the answer after HOLD_MS
//   unreadable   non-streamed: 200 with a body no decoder can read; streamed: the start event,
//                3 deltas, then an unreadable event and the end of the body
//   after_end    the answer with its terminal event, then 30 more content deltas
//   huge_id      a stream whose response id is 8 KiB long
//   uncapped     non-streamed: as many output tokens as it was allowed (the output limit it was
//                sent, or 100,000 without one), reported in usage
//   account_error  403 about the operator's account, naming its organisation, project and key
//
// Keys: inference and token counting need one of `keys` (x-api-key or Bearer), else 401.
//
// Ledger entry per inference request: { format, model, stream, maxTokens, includeUsage, store,
// input, output, aborted, done, body, headers, startedAt, endedAt }.

import http from "node:http";
import { once } from "node:events";

export const SILENCE_MS = 1500;
export const HOLD_MS = 1200;
export const LONG_DELTAS = 200;
export const LONG_INTERVAL_MS = 20;
export const HUGE_ID = `resp_${"x".repeat(8192)}`;
const WORD = " tok";

const PATHS = { "/chat/completions": "chat", "/messages": "anthropic", "/responses": "responses" };

/** Base URL per format (the gateway appends the format's path). */
export function baseUrl(mock, format) {
  return `${mock.url}/${format}`;
}

/** Text of every part of a request, whatever the format: what the upstream's input counts. */
export function promptText(format, body) {
  const texts = [];
  const walk = (v) => {
    if (typeof v === "string") texts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) if (k !== "type" && k !== "role") walk(x);
  };
  if (format === "responses") walk([body.instructions, body.input]);
  else walk([body.system, body.messages]);
  return texts.join("");
}

function outputLimit(format, body) {
  if (format === "anthropic") return body.max_tokens;
  if (format === "responses") return body.max_output_tokens;
  return body.max_completion_tokens ?? body.max_tokens;
}

export const sse = (event, data) => (event ? `event: ${event}\ndata: ${JSON.stringify(data)}\n\n` : `data: ${JSON.stringify(data)}\n\n`);

/** Frames of one streamed answer, per format: start, delta(text), end(output), error. */
export function framer(format, id, model, input) {
  if (format === "anthropic") {
    return {
      start: () =>
        sse("message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: input, output_tokens: 1 } } }) +
        sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      delta: (text) => sse("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }),
      end: (output) =>
        sse("content_block_stop", { type: "content_block_stop", index: 0 }) +
        sse("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: output } }) +
        sse("message_stop", { type: "message_stop" }),
    };
  }
  if (format === "chat") {
    const chunk = (choices, extra = {}) => sse(null, { id, object: "chat.completion.chunk", created: 1, model, choices, ...extra });
    return {
      start: () => chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
      delta: (text) => chunk([{ index: 0, delta: { content: text }, finish_reason: null }]),
      end: (output, includeUsage) =>
        chunk([{ index: 0, delta: {}, finish_reason: "stop" }]) +
        (includeUsage ? chunk([], { usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } }) : "") +
        "data: [DONE]\n\n",
    };
  }
  let seq = 0;
  const ev = (type, data) => sse(type, { type, sequence_number: seq++, ...data });
  const response = (status, output, extra = {}) => ({ id, object: "response", created_at: 1, status, model, output, ...extra });
  return {
    start: () =>
      ev("response.created", { response: response("in_progress", []) }) +
      ev("response.output_item.added", { output_index: 0, item: { id: "msg_1", type: "message", role: "assistant", status: "in_progress", content: [] } }) +
      ev("response.content_part.added", { item_id: "msg_1", output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } }),
    delta: (text) => ev("response.output_text.delta", { item_id: "msg_1", output_index: 0, content_index: 0, delta: text }),
    end: (output, _includeUsage, text) =>
      ev("response.output_text.done", { item_id: "msg_1", output_index: 0, content_index: 0, text }) +
      ev("response.output_item.done", { output_index: 0, item: { id: "msg_1", type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text, annotations: [] }] } }) +
      ev("response.completed", { response: response("completed", [{ id: "msg_1", type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text, annotations: [] }] }], { usage: { input_tokens: input, output_tokens: output, total_tokens: input + output } }) }),
  };
}

/** A whole (non-streamed) answer of `output` tokens in `format`. */
export function whole(format, id, model, input, text, output) {
  if (format === "anthropic") {
    return { id, type: "message", role: "assistant", model, content: [{ type: "text", text }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: input, output_tokens: output } };
  }
  if (format === "chat") {
    return { id, object: "chat.completion", created: 1, model, choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }], usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } };
  }
  return { id, object: "response", created_at: 1, status: "completed", model, output: [{ id: "msg_1", type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text, annotations: [] }] }], usage: { input_tokens: input, output_tokens: output, total_tokens: input + output } };
}

/** The vendor's words about the operator's account: what a tenant must never read. */
export const ACCOUNT_SECRETS = ["org-AbCdEfGhIjKlMnOpQr", "proj_Zy9Xw8Vu7Ts6Rq5Po4", "sk-proj-abcdefghijklmnop", "0123456789abcdef0123456789abcdef"];

export async function startLedgerUpstream({ keys = ["sk-ledger"] } = {}) {
  const ledger = [];
  /** Token-count calls: { key } answered, or { rejected } for a key it refused. */
  const counts = [];
  const waiters = new Set();
  const notify = () => {
    for (const w of [...waiters]) {
      const found = ledger.find(w.pred);
      if (found) {
        waiters.delete(w);
        w.resolve(found);
      }
    }
  };
  let serial = 0;
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const auth = req.headers.authorization ?? "";
    const presented = req.headers["x-api-key"] ?? (auth.startsWith("Bearer ") ? auth.slice(7) : null);
    if (!keys.includes(presented)) {
      counts.push({ rejected: presented });
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }));
      return;
    }
    if (req.url.endsWith("/count_tokens")) {
      counts.push({ key: presented });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ input_tokens: 7 }));
      return;
    }
    const format = Object.entries(PATHS).find(([p]) => req.url.endsWith(p))?.[1];
    if (!format) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end("{}");
      return;
    }
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "bad json", type: "invalid_request_error" } }));
      return;
    }
    const model = body.model;
    const stream = body.stream === true;
    const input = Math.ceil(Buffer.byteLength(promptText(format, body)) / 4);
    const entry = {
      format, model, stream, body, headers: { ...req.headers },
      maxTokens: outputLimit(format, body),
      includeUsage: body.stream_options?.include_usage === true,
      store: body.store,
      input, output: 0, aborted: false, done: false,
      startedAt: Date.now(), endedAt: null,
    };
    ledger.push(entry);
    res.on("close", () => {
      if (!res.writableFinished) entry.aborted = true;
      entry.endedAt = Date.now();
      notify();
    });
    const id = model === "huge_id" ? HUGE_ID : `resp_${(++serial).toString(36)}`;
    if (model === "account_error") {
      const words = `Project ${ACCOUNT_SECRETS[1]} in organization ${ACCOUNT_SECRETS[0]} cannot use this model with key ${ACCOUNT_SECRETS[2]} (account ${ACCOUNT_SECRETS[3]}).`;
      res.writeHead(403, { "content-type": "application/json" });
      res.end(JSON.stringify(format === "anthropic"
        ? { type: "error", error: { type: "permission_error", message: words } }
        : { error: { message: words, type: "invalid_request_error", param: null, code: "model_not_allowed" } }));
      entry.done = true;
      return;
    }
    const limit = entry.maxTokens ?? 100_000;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

    if (!stream) {
      if (model === "hold") await sleep(HOLD_MS);
      if (res.destroyed) return;
      if (model === "unreadable") {
        entry.output = 50; // it generated an answer, but sent something nobody can read
        res.writeHead(200, { "content-type": "application/json" });
        res.end(`{"id": "${id}", "choices": [ {"message": {"content": "${WORD.repeat(50)}`);
        entry.done = true;
        return;
      }
      const output = model === "uncapped" ? limit : Math.min(limit, 20);
      entry.output = output;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(whole(format, id, model, input, WORD.repeat(Math.min(output, 50)), output)));
      entry.done = true;
      return;
    }

    const frames = framer(format, id, model, input);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    const write = (frame) => !res.destroyed && res.write(frame);
    let text = "";
    const delta = () => {
      if (res.destroyed) return false;
      write(frames.delta(WORD));
      entry.output++;
      text += WORD;
      return true;
    };
    write(frames.start());
    const count = model === "long" ? LONG_DELTAS : Math.min(limit, 20);
    if (model === "silent" || model === "pause") {
      if (model === "pause") for (let i = 0; i < 3; i++) delta();
      await sleep(SILENCE_MS);
      for (let i = 0; i < 5 && delta(); i++);
    } else if (model === "unreadable") {
      for (let i = 0; i < 3; i++) delta();
      write(format === "anthropic" ? "event: content_block_delta\ndata: {not json\n\n" : "data: {not json\n\n");
      entry.done = true;
      res.end();
      return;
    } else {
      for (let i = 0; i < count; i++) {
        if (!delta()) return;
        if (model === "long") await sleep(LONG_INTERVAL_MS);
      }
    }
    if (res.destroyed) return;
    write(frames.end(entry.output, entry.includeUsage, text));
    if (model === "after_end") {
      // Content after the terminal event: a client must never see it unmetered.
      for (let i = 0; i < 30; i++) write(frames.delta(" extra"));
    }
    entry.done = true;
    res.end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    ledger,
    counts,
    /** The first ledger entry matching `pred` that has ended (now or later). */
    ended(pred, timeoutMs = 5000) {
      const match = (e) => pred(e) && e.endedAt !== null;
      const found = ledger.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred: match, resolve };
        setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`ledger upstream: no ended request within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    /** What the upstream would bill for `entry`. */
    billed: (entry) => entry.input + entry.output,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
