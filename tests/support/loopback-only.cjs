// Preloaded into a Node CLI under test (NODE_OPTIONS="--require …/loopback-only.cjs"): every
// TCP or TLS connection to a host other than a loopback address is refused before its DNS
// lookup, and written as one "host:port" line to the file named by TOC_OFF_LOOPBACK_LOG, so a
// test can assert that the CLI tried to reach nothing but the gateway.
"use strict";
const fs = require("node:fs");
const net = require("node:net");

const log = process.env.TOC_OFF_LOOPBACK_LOG;
const loopback = (host) =>
  host === undefined ||
  host === null ||
  host === "" ||
  host === "localhost" ||
  host === "::1" ||
  host === "[::1]" ||
  /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(host);

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const [first] = args;
  let host;
  let port;
  let path;
  if (Array.isArray(first)) {
    // Node's own normalized form: [options, callback].
    ({ host, port, path } = first[0] ?? {});
  } else if (first !== null && typeof first === "object") {
    ({ host, port, path } = first);
  } else if (typeof first === "string" && !/^\d+$/.test(first)) {
    path = first;
  } else {
    port = first;
    host = typeof args[1] === "string" ? args[1] : undefined;
  }
  if (path === undefined && !loopback(host)) {
    if (log) fs.appendFileSync(log, `${host}:${port}\n`);
    const error = Object.assign(new Error(`connect ECONNREFUSED ${host}:${port} (refused by loopback-only.cjs)`), {
      code: "ECONNREFUSED",
    });
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return connect.apply(this, args);
};
