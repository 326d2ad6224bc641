/**
 * Where a routed request's time goes, inside each process of `bench/routing-overhead.ts`: preload it into every side
 * with NODE_OPTIONS, and each daemon (and the bare proxy) writes the medians of its own critical path when it exits.
 *
 *   NODE_OPTIONS="--require $PWD/bench/critical-path-probe.cjs" npx tsx bench/routing-overhead.ts --ttft 400 --pace-us 10000 --streams 1 --chunks 50
 *   cat /tmp/mlxm-probe-*.json
 *
 * Per process, medians in microseconds over the POST .../chat/completions requests it served:
 * - pre:  its `request` event to its write to the upstream (parse, middleware, plan, spans, building the request);
 * - gap:  that write to the upstream's first bytes read back (the upstream's time, plus any work that delays the read);
 * - post: those bytes to the first write to the client (SSE parsing, rewriting, response headers).
 * Marks: call `globalThis.__probe?.("name")` anywhere on the way (a scratch edit, not to commit) and the file gets the
 * median time from the request event to each mark's first call per request. Timing is process.hrtime (CLOCK_MONOTONIC,
 * shared by all processes of the machine), so the sides' absolute times can be lined up when needed.
 */
"use strict";
const isDaemon = / serve\b/.test(process.argv.join(" "));
const isFloor = process.argv.length === 2 && /^http/.test(process.argv[1] ?? "");
if (isDaemon || isFloor) {
  const http = require("node:http");
  const net = require("node:net");
  const fs = require("node:fs");
  let requestAt = 0n;
  let upstreamWriteAt = 0n;
  let upstreamReadAt = 0n;
  let awaitingUpstream = false;
  let seen = new Set();
  const pre = [];
  const gap = [];
  const post = [];
  const marks = new Map();
  const micros = (from, to) => Number(to - from) / 1000;
  globalThis.__probe = (name) => {
    if (!requestAt || seen.has(name)) return;
    seen.add(name);
    if (!marks.has(name)) marks.set(name, []);
    marks.get(name).push(micros(requestAt, process.hrtime.bigint()));
  };
  const serverEmit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, req) {
    if (event === "request" && req.method === "POST" && req.url.includes("chat/completions")) {
      requestAt = process.hrtime.bigint();
      seen = new Set();
    }
    return serverEmit.apply(this, arguments);
  };
  const socketEmit = net.Socket.prototype.emit;
  net.Socket.prototype.emit = function (event) {
    if (event === "data" && awaitingUpstream && this._httpMessage instanceof http.ClientRequest) {
      upstreamReadAt = process.hrtime.bigint();
      awaitingUpstream = false;
      if (upstreamWriteAt) gap.push(micros(upstreamWriteAt, upstreamReadAt));
      upstreamWriteAt = 0n;
    }
    return socketEmit.apply(this, arguments);
  };
  for (const method of ["_writev", "_write"]) {
    const write = net.Socket.prototype[method];
    net.Socket.prototype[method] = function () {
      const now = process.hrtime.bigint();
      const message = this._httpMessage;
      if (message instanceof http.ClientRequest) {
        if (requestAt) {
          pre.push(micros(requestAt, now));
          requestAt = 0n;
          upstreamWriteAt = now;
        }
        awaitingUpstream = true;
      } else if (message instanceof http.ServerResponse && upstreamReadAt) {
        post.push(micros(upstreamReadAt, now));
        upstreamReadAt = 0n;
      }
      return write.apply(this, arguments);
    };
  }
  const median = (xs) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]) : null);
  process.on("exit", () => {
    const who = isFloor ? "floor" : process.argv[1];
    const sortedMarks = [...marks].map(([k, v]) => [k, median(v)]).sort((a, b) => a[1] - b[1]);
    fs.writeFileSync(`/tmp/mlxm-probe-${process.pid}.json`, `${JSON.stringify({ who, requests: pre.length, pre: median(pre), gap: median(gap), post: median(post), marks: Object.fromEntries(sortedMarks) })}\n`);
  });
  // The bare proxy has no SIGTERM handler of its own: exit so the report is written.
  if (isFloor) process.on("SIGTERM", () => process.exit(0));
}
