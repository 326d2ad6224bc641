/**
 * Routed requests in traces, with the built CLI and a real background daemon (full observability): the GenAI spans
 * the official SDKs make sit under the daemon's request span, beneath mlxm's route span that carries the backend and
 * the cost; and a stored key is in no span, log line or database file.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { freshCliEnv, parseJson, runCli, type CliEnv } from "../helpers/cli.js";
import { FAKE_ANTHROPIC_CACHE_USAGE, FAKE_ANTHROPIC_USAGE, startFakeAnthropic } from "../helpers/fake-anthropic.js";
import { FAKE_OPENAI_USAGE, startFakeOpenAI } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";

const KEY = "sk-ant-e2e0trace0key0must0stay0sealed0456";

interface SpanView {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

describe("routing traces (e2e)", function () {
  // Bounds a broken run only: a daemon start can take half a minute with another e2e file running beside it.
  this.timeout(180_000);
  let env: CliEnv;
  let cleanup: () => void;
  let openai: FakeServer;
  let anthropic: FakeServer;

  // One daemon for the file (a daemon start is most of an e2e test's time): the routes the first test adds serve
  // the second, and the last stops it to read everything it wrote.
  before(async () => {
    openai = await startFakeOpenAI();
    anthropic = await startFakeAnthropic({ apiKey: KEY });
    ({ env, cleanup } = await freshCliEnv());
    expect((await runCli(["daemon", "start"], env)).code).to.equal(0);
  });
  after(async () => {
    await runCli(["daemon", "stop"], env);
    cleanup();
    await openai?.close();
    await anthropic?.close();
  });

  async function traceOf(model: string): Promise<SpanView[]> {
    const test = await runCli(["route", "test", model, "--json"], env);
    expect(test.code, test.stderr).to.equal(0);
    const res = await runCli(["trace", "--last", "--json"], env);
    expect(res.code, res.stderr).to.equal(0);
    return parseJson(res).spans as SpanView[];
  }

  const descendsFrom = (spans: SpanView[], s: SpanView, ancestor: string): boolean => {
    for (let p = s.parent_span_id; p; p = spans.find((x) => x.span_id === p)?.parent_span_id ?? null) if (p === ancestor) return true;
    return false;
  };

  it("puts both SDKs' GenAI spans under the request span, with backend, usage and cost", async () => {
    const addO = await runCli(["route", "add", "gpt-4o-mini", "--provider", "openai", "--base-url", `${openai.url}/v1`, "--api-key-env", "MLXM_TEST_UNUSED_KEY"], env);
    expect(addO.code, addO.stderr).to.equal(0);
    // The variable is not set in the daemon: the request must fail clearly, naming the variable, not the key.
    const noKey = await runCli(["route", "test", "gpt-4o-mini", "--json"], env);
    expect(noKey.code).to.not.equal(0);
    expect(noKey.stdout + noKey.stderr).to.contain("MLXM_TEST_UNUSED_KEY");
    expect((await runCli(["route", "add", "gpt-4o-mini", "--provider", "openai-compatible", "--base-url", `${openai.url}/v1`, "--replace"], env)).code).to.equal(0);
    const addA = await runCli(["route", "add", "claude-3-5-haiku-latest", "--provider", "anthropic", "--base-url", anthropic.url, "--api-key-stdin"], env, { stdin: KEY });
    expect(addA.code, addA.stderr).to.equal(0);

    for (const [model, provider, usage] of [
      ["gpt-4o-mini", "openai", { input: FAKE_OPENAI_USAGE.prompt_tokens, output: FAKE_OPENAI_USAGE.completion_tokens }],
      ["claude-3-5-haiku-latest", "anthropic", { input: FAKE_ANTHROPIC_USAGE.input_tokens, output: FAKE_ANTHROPIC_USAGE.output_tokens }],
    ] as const) {
      const spans = await traceOf(model);
      const names = JSON.stringify(spans.map((s) => s.name));
      const server = spans.find((s) => s.kind === 1 && s.attributes["http.route"] === "/api/routes/test");
      expect(server, names).to.exist;
      const route = spans.find((s) => s.name === `chat ${model}` && s.attributes["mlxm.backend"] !== undefined);
      expect(route, names).to.exist;
      expect(descendsFrom(spans, route!, server!.span_id)).to.equal(true);
      expect(route!.attributes).to.deep.include({ "gen_ai.usage.input_tokens": usage.input, "gen_ai.usage.output_tokens": usage.output });
      // The SDK's own GenAI span (instrumentation of the official client) is a child of the route span.
      const sdk = spans.find((s) => s !== route && String(s.attributes["gen_ai.provider.name"] ?? s.attributes["gen_ai.system"] ?? "").includes(provider));
      expect(sdk, names).to.exist;
      expect(descendsFrom(spans, sdk!, route!.span_id)).to.equal(true);
      if (provider === "anthropic") expect(route!.attributes["operation.cost"]).to.be.a("number").greaterThan(0);
    }
  });

  it("gives a passed-through request (same protocol) a GenAI client span under the request span, without the key", async () => {
    const base = `http://127.0.0.1:${env.port}`;
    for (const [model, provider, endpoint, body, usage, upstream] of [
      ["gpt-4o-mini", "openai", "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], stream: true }, { input: FAKE_OPENAI_USAGE.prompt_tokens, output: FAKE_OPENAI_USAGE.completion_tokens }, openai],
      ["claude-3-5-haiku-latest", "anthropic", "/v1/messages", { max_tokens: 20, messages: [{ role: "user", content: "hi" }] }, { input: FAKE_ANTHROPIC_USAGE.input_tokens, output: FAKE_ANTHROPIC_USAGE.output_tokens }, anthropic],
    ] as const) {
      const res = await fetch(`${base}${endpoint}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, ...body }) });
      expect(res.status).to.equal(200);
      const text = await res.text();
      expect(text).not.to.contain(KEY);
      const trace = await runCli(["trace", "--last", "--json"], env);
      expect(trace.code, trace.stderr).to.equal(0);
      const spans = parseJson(trace).spans as SpanView[];
      const names = JSON.stringify(spans.map((s) => s.name));
      const server = spans.find((s) => s.kind === 1 && String(s.attributes["http.route"]).startsWith(endpoint));
      const genai = spans.find((s) => s.attributes["mlxm.passthrough"] === true);
      expect(server, names).to.exist;
      expect(genai, names).to.exist;
      // A CLIENT span, as the SDK instrumentation's would be, under the daemon's request span.
      expect(genai!.kind).to.equal(2);
      expect(descendsFrom(spans, genai!, server!.span_id)).to.equal(true);
      expect(genai!.attributes).to.deep.include({
        "gen_ai.system": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": usage.input,
        "gen_ai.usage.output_tokens": usage.output,
      });
      expect(genai!.attributes["gen_ai.response.finish_reasons"]).to.have.length.greaterThan(0);
      if (provider === "anthropic") expect(genai!.attributes["operation.cost"]).to.be.a("number").greaterThan(0);
      // The GenAI span is the call's client span: the upstream continues this trace under it, with no HTTP client span
      // between (the pass-through traces itself, self-traced-agent.ts), and the span names the server it called.
      const sent = upstream.requests.at(-1)!;
      expect(String(sent.headers.traceparent)).to.equal(`00-${genai!.trace_id}-${genai!.span_id}-01`);
      expect(spans.filter((s) => s.parent_span_id === genai!.span_id)).to.deep.equal([]);
      expect(genai!.attributes).to.deep.include({ "server.address": "127.0.0.1", "server.port": Number(new URL(upstream.url).port) });
      expect(JSON.stringify(spans)).not.to.contain(KEY);
    }
    // Anthropic's prompt cache: reads and writes on the span, apart from (and within) the input tokens.
    const system = [{ type: "text", text: "shared prefix", cache_control: { type: "ephemeral" } }];
    const cachedRes = await fetch(`${base}/v1/messages`, { method: "POST", body: JSON.stringify({ model: "claude-3-5-haiku-latest", max_tokens: 20, system, messages: [{ role: "user", content: "hi" }] }) });
    expect(cachedRes.status).to.equal(200);
    const cachedSpans = parseJson(await runCli(["trace", "--last", "--json"], env)).spans as SpanView[];
    expect(cachedSpans.find((s) => s.attributes["mlxm.passthrough"] === true)!.attributes).to.deep.include({
      "gen_ai.usage.input_tokens": FAKE_ANTHROPIC_USAGE.input_tokens + FAKE_ANTHROPIC_CACHE_USAGE.cache_creation_input_tokens + FAKE_ANTHROPIC_CACHE_USAGE.cache_read_input_tokens,
      "gen_ai.usage.cache_creation.input_tokens": FAKE_ANTHROPIC_CACHE_USAGE.cache_creation_input_tokens,
      "gen_ai.usage.cache_read.input_tokens": FAKE_ANTHROPIC_CACHE_USAGE.cache_read_input_tokens,
    });
  });

  it("leaves the stored key in no database file or log line", async () => {
    // Stopped, so every span is flushed to the store and every log line written.
    expect((await runCli(["daemon", "stop"], env)).code).to.equal(0);
    for (const file of [...fs.readdirSync(env.home).filter((f) => f.startsWith("mlxm.db")), path.join("logs", "daemon.log")]) {
      expect(fs.readFileSync(path.join(env.home, file)).includes(KEY), file).to.equal(false);
    }
  });
});
