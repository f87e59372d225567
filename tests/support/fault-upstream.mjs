// An upstream that fails on demand, for the resilience suite and the soak test. It speaks the
// three vendor formats (streams written one event per chunk, as providers do) and fails the way
// real providers fail. The fault is the first segment of the path, so each configured provider
// is one behaviour: base_url = `${url}/${fault}/${format}/${tag}`, the tag naming the provider
// in the record.
//
//   ok                    a normal answer: 3 deltas, usage, the terminal event
//   reset                 reads the request, then resets the connection (no answer at all)
//   hang_headers          never sends headers (until the gateway gives up)
//   silent_after_headers  200 and headers, then nothing
//   stall_mid             the start event and 3 deltas, then nothing
//   error_first           200, then an error as the first event: Anthropic `overloaded_error`,
//                         Responses `response.created` then `response.failed`, a Chat error chunk
//   empty                 200 and headers, then the body ends without a single event
//   no_terminal           the start event and 3 deltas, then the body ends
//   rate_limited          429 with `Retry-After: 2`
//   overloaded            529 (Anthropic) or 503 (OpenAI), no Retry-After
//   no_credit             402 `insufficient_quota` (OpenAI); 400 "credit balance is too low" (Anthropic)
//   dyn                   whichever fault `setDynamic(name)` last named (the soak test flaps it)
//
// A refused connection is a base_url on a port nobody listens on: `closedPort()`. Whatever the
// fault, a request with the key REFUSED_KEY gets 401.
//
// Every request is recorded: { tag, fault, format, stream, key, input, output, accepted,
// aborted, startedAt, endedAt }. What a provider would bill for it (`billed(entry)`): nothing for
// an error or a connection it never answered, its input once it answered 200 (even if it then
// fell silent), and one output token per delta it wrote.

import http from "node:http";
import net from "node:net";
import { once } from "node:events";

import { framer, promptText, sse, whole } from "./ledger-upstream.mjs";

export const FAULTS = [
  "ok", "reset", "hang_headers", "silent_after_headers", "stall_mid", "error_first", "empty",
  "no_terminal", "rate_limited", "overloaded", "no_credit",
];
export const RETRY_AFTER_S = 2;
export const REFUSED_KEY = "sk-refused";
const PATHS = { "/chat/completions": "chat", "/messages": "anthropic", "/responses": "responses" };
const WORD = " ok";

/** A localhost port with nothing listening on it. */
export async function closedPort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function errorBody(format, status) {
  if (format === "anthropic") {
    const [type, message] = {
      429: ["rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"],
      529: ["overloaded_error", "Overloaded"],
      400: ["invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."],
    }[status];
    return { type: "error", error: { type, message } };
  }
  const [type, code, message] = {
    429: ["rate_limit_error", "rate_limit_exceeded", "Rate limit reached for requests"],
    503: ["server_error", null, "The server is overloaded or not ready yet."],
    402: ["insufficient_quota", "insufficient_quota", "You exceeded your current quota, please check your plan and billing details."],
  }[status];
  return { error: { message, type, param: null, code } };
}

/** The error frames a stream starts with, per format. */
function errorFirst(format, id, model) {
  if (format === "anthropic") {
    return sse("error", { type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
  }
  if (format === "responses") {
    const response = (status, extra = {}) => ({ id, object: "response", created_at: 1, status, model, output: [], ...extra });
    return (
      sse("response.created", { type: "response.created", sequence_number: 0, response: response("in_progress") }) +
      sse("response.failed", { type: "response.failed", sequence_number: 1, response: response("failed", { error: { code: "server_error", message: "The model failed to generate a response." } }) })
    );
  }
  return sse(null, { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } });
}

export async function startFaultUpstream() {
  const requests = [];
  let dynamic = "ok";
  let serial = 0;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const [, faultName, formatName, tag] = req.url.split("/");
    const format = Object.entries(PATHS).find(([p]) => req.url.endsWith(p))?.[1] ?? formatName;
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {}
    const fault = faultName === "dyn" ? dynamic : faultName;
    const auth = req.headers.authorization ?? "";
    const key = req.headers["x-api-key"] ?? req.headers["x-goog-api-key"] ?? (auth.startsWith("Bearer ") ? auth.slice(7) : null);
    const input = Math.ceil(Buffer.byteLength(promptText(format, body)) / 4);
    const entry = { tag, fault: faultName, format, stream: body.stream === true, key, input, output: 0, accepted: false, aborted: false, startedAt: Date.now(), endedAt: null };
    requests.push(entry);
    res.on("close", () => {
      if (!res.writableFinished) entry.aborted = true;
      entry.endedAt = Date.now();
    });
    const id = `resp_${(++serial).toString(36)}`;
    const model = body.model ?? "m";
    const json = (status, value, headers = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(value));
    };

    if (key === REFUSED_KEY) {
      return format === "anthropic"
        ? json(401, { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } })
        : json(401, { error: { message: "Incorrect API key provided", type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    }
    switch (fault) {
      case "reset":
        entry.aborted = true;
        return req.socket.destroy();
      case "hang_headers":
        return; // the gateway gives up and aborts
      case "rate_limited":
        return json(429, errorBody(format, 429), { "retry-after": String(RETRY_AFTER_S) });
      case "overloaded":
        return json(format === "anthropic" ? 529 : 503, errorBody(format, format === "anthropic" ? 529 : 503));
      case "no_credit":
        return format === "anthropic" ? json(400, errorBody(format, 400)) : json(402, errorBody(format, 402));
    }
    entry.accepted = true;
    if (!entry.stream) {
      entry.output = 3;
      return json(200, whole(format, id, model, input, WORD.repeat(3), 3));
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    const frames = framer(format, id, model, input);
    const write = (frame) => !res.destroyed && res.write(frame);
    const deltas = async (n) => {
      for (let i = 0; i < n && !res.destroyed; i++) {
        write(frames.delta(WORD));
        entry.output++;
        await sleep(2);
      }
    };
    switch (fault) {
      case "silent_after_headers":
        return; // headers, then nothing
      case "empty":
        entry.accepted = false; // nothing was processed
        return res.end();
      case "error_first":
        entry.accepted = false; // a failure of the provider's own is not billed
        write(errorFirst(format, id, model));
        return res.end();
      case "stall_mid":
        write(frames.start());
        await deltas(3);
        return; // then nothing
      case "no_terminal":
        write(frames.start());
        await deltas(3);
        return res.end();
      default: {
        write(frames.start());
        await deltas(3);
        if (res.destroyed) return;
        write(frames.end(entry.output, body.stream_options?.include_usage === true, WORD.repeat(3)));
        res.end();
      }
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    /** Base URL of a provider with `fault`, speaking `format`, recorded as `tag`. */
    baseUrl: (fault, format, tag) => `${url}/${fault}/${format}/${tag}`,
    /** What the provider would bill for a request. */
    billed: (entry) => (entry.accepted ? entry.input + entry.output : 0),
    /** Requests the provider tagged `tag` received. */
    seen: (tag) => requests.filter((r) => r.tag === tag),
    /** What the `dyn` providers do from now on (one of FAULTS). */
    setDynamic(fault) {
      dynamic = fault;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(resolve);
    }),
  };
}
