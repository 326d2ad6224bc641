/**
 * The daemon's access log (daemon/http/access-log.ts) on a real Express app and real HTTP: one line per request,
 * including a stream its client cancelled (it never finishes, so it was not logged at all).
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import express from "express";
import { pino } from "pino";
import { accessLog } from "../../src/daemon/http/access-log.js";
import { until } from "../helpers/until.js";

describe("daemon access log", () => {
  const lines: { path: string; status: number; msg: string }[] = [];
  let server: http.Server;
  let base: string;

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const app = express();
    app.use(accessLog(pino(sink)));
    app.get("/ok", (_req, res) => void res.json({ ok: true }));
    // One NDJSON line, then nothing until the client hangs up: a generation its client cancels.
    app.get("/stream", (_req, res) => {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write('{"done":false}\n');
    });
    server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  it("logs a finished request once, with its status", async () => {
    await (await fetch(`${base}/ok`)).json();
    await until(() => lines.some((l) => l.path === "/ok"), "the /ok line");
    expect(lines.filter((l) => l.path === "/ok").map((l) => ({ status: l.status, msg: l.msg }))).to.deep.equal([{ status: 200, msg: "request" }]);
  });

  it("logs a stream its client cancelled, with 499 as its usage row has it", async () => {
    const abort = new AbortController();
    const res = await fetch(`${base}/stream`, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await until(() => lines.some((l) => l.path === "/stream"), "the /stream line");
    expect(lines.filter((l) => l.path === "/stream").map((l) => l.status)).to.deep.equal([499]);
  });
});
