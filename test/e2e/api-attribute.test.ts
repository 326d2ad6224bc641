/**
 * The server span of a request says which API served it (`mlxm.api`), with the built CLI's background daemon and
 * its real HTTP instrumentation: one request per API, each in a trace of its own (its `traceparent`).
 */
import { expect } from "chai";
import crypto from "node:crypto";
import { freshCliEnv, parseJson, runCli, type CliEnv } from "../helpers/cli.js";

describe("mlxm.api on server spans (e2e)", function () {
  this.timeout(90_000);
  let env: CliEnv;
  let cleanup: () => void;
  before(async () => {
    ({ env, cleanup } = await freshCliEnv());
    // Start-up time is not under test here: leave room for a loaded machine.
    env = { ...env, extra: { ...env.extra, MLXM_START_TIMEOUT: "120s" } };
    const started = await runCli(["daemon", "start"], env);
    expect(started.code, started.stderr).to.equal(0);
  });
  after(async () => {
    await runCli(["daemon", "stop"], env);
    cleanup();
  });

  /** Attributes of the server span of trace `traceId`, polled until the span store has it (bounded). */
  async function serverSpan(traceId: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const res = await runCli(["trace", traceId, "--json"], env);
      if (res.code === 0) {
        const spans = parseJson(res).spans as { service: string; kind: number; attributes: Record<string, unknown> }[];
        const server = spans.find((s) => s.service === "mlxm-daemon" && s.kind === 1);
        if (server) return server.attributes;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no server span in trace ${traceId}`);
  }

  it("is anthropic, openai or ollama by the route that answered", async () => {
    const base = `http://127.0.0.1:${env.port}`;
    // An unknown model: answered (404) by each API's own router without loading anything.
    const chat = JSON.stringify({ model: "nope", max_tokens: 4, messages: [{ role: "user", content: "hi" }] });
    const requests: [string, string, string][] = [
      ["/v1/messages", "anthropic", chat],
      ["/v1/chat/completions", "openai", chat],
      ["/v1/responses", "openai", JSON.stringify({ model: "nope", input: "hi" })],
      ["/api/chat", "ollama", chat],
    ];
    for (const [route, api, body] of requests) {
      const traceId = crypto.randomBytes(16).toString("hex");
      const res = await fetch(`${base}${route}`, { method: "POST", body, headers: { traceparent: `00-${traceId}-${crypto.randomBytes(8).toString("hex")}-01` } });
      expect(res.status, route).to.equal(404);
      expect((await serverSpan(traceId))["mlxm.api"], route).to.equal(api);
    }
  });
});
