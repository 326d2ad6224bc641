/**
 * The Responses API in front of routed upstreams: a real daemon on port 0, fake OpenAI and Anthropic upstreams
 * (real wire formats), the official openai SDK as the caller. A Responses request reaches an OpenAI upstream as a
 * Chat Completions request and an Anthropic one as a Messages request (translated through the core chat model, never
 * passed through), comes back as a Response, streamed or not, and is a usage row like any other.
 */
import { expect } from "chai";
import path from "node:path";
import OpenAI, { type APIError } from "openai";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { FAKE_ANTHROPIC_REPLY, FAKE_ANTHROPIC_TOOL_INPUT, FAKE_ANTHROPIC_USAGE, startFakeAnthropic } from "../helpers/fake-anthropic.js";
import { FAKE_OPENAI_REPLY, FAKE_OPENAI_TOOL_ARGS, FAKE_OPENAI_USAGE, startFakeOpenAI, type FakeStep } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";

const OPENAI_KEY = "sk-responses0routing0test0key0123456789";
const ANTHROPIC_KEY = "sk-ant-responses0routing0test0key0123";
const tools: OpenAI.Responses.FunctionTool[] = [
  { type: "function", name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }, strict: null },
];

async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await read();
    if (check(value)) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

describe("Responses API routed to OpenAI and Anthropic upstreams", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;
  let gpt: FakeServer;
  let claude: FakeServer;
  const gptScript: FakeStep[] = [];

  before(async () => {
    gpt = await startFakeOpenAI({ apiKey: OPENAI_KEY, script: gptScript });
    claude = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    d = await startTestDaemon();
    store = await Store.open(path.join(d.home, "mlxm.db"));
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    await d.admin.addRoute({ pattern: "gpt", provider: "openai", base_url: `${gpt.url}/v1`, model: "gpt-4o-mini", api_key: OPENAI_KEY });
    await d.admin.addRoute({ pattern: "claude", provider: "anthropic", base_url: claude.url, model: "claude-3-5-haiku-latest", api_key: ANTHROPIC_KEY });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
    await Promise.all([gpt?.close(), claude?.close()]);
  });

  const last = (s: FakeServer) => ({ path: s.requests.at(-1)!.url, body: JSON.parse(s.requests.at(-1)!.body) as Record<string, unknown> });

  it("serves an OpenAI upstream through Chat Completions, plain and streamed", async () => {
    const { data: r, response } = await openai.responses
      .create({ model: "gpt", instructions: "Be brief.", input: "hi", max_output_tokens: 50, temperature: 0.5 })
      .withResponse();
    expect(response.headers.get("x-mlxm-backend")).to.equal("openai:gpt-4o-mini");
    expect(r).to.deep.include({ model: "gpt", status: "completed", output_text: FAKE_OPENAI_REPLY });
    expect(r.usage).to.deep.include({ input_tokens: FAKE_OPENAI_USAGE.prompt_tokens, output_tokens: FAKE_OPENAI_USAGE.completion_tokens, total_tokens: FAKE_OPENAI_USAGE.total_tokens });
    const sent = last(gpt);
    expect(sent.path).to.equal("/v1/chat/completions");
    expect(sent.body).to.deep.include({ model: "gpt-4o-mini", max_completion_tokens: 50, temperature: 0.5, stream: true });
    expect(sent.body.messages).to.deep.equal([{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }]);

    const stream = openai.responses.stream({ model: "gpt", input: "hi" });
    const sequence: number[] = [];
    stream.on("event", (e) => sequence.push(e.sequence_number));
    const final = await stream.finalResponse();
    expect(final.output_text).to.equal(FAKE_OPENAI_REPLY);
    expect(final.usage!.output_tokens).to.equal(FAKE_OPENAI_USAGE.completion_tokens);
    expect(sequence).to.deep.equal([...sequence.keys()]);
  });

  it("round-trips a function call with an OpenAI upstream: tools and tool results as Chat Completions has them", async () => {
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "weather?" }];
    const r = await openai.responses.create({ model: "gpt", input, tools });
    const call = r.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call")!;
    expect(call).to.deep.include({ call_id: "call_fake1", name: "get_weather", arguments: FAKE_OPENAI_TOOL_ARGS });
    expect(last(gpt).body.tools).to.deep.equal([{ type: "function", function: { name: "get_weather", description: "Weather in a city", parameters: tools[0]!.parameters } }]);

    await openai.responses.create({ model: "gpt", input: [...input, ...(r.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: call.call_id, output: "sunny" }], tools });
    expect(last(gpt).body.messages).to.deep.equal([
      { role: "user", content: "weather?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_fake1", type: "function", function: { name: "get_weather", arguments: FAKE_OPENAI_TOOL_ARGS } }] },
      { role: "tool", content: "sunny", tool_call_id: "call_fake1" },
    ]);
  });

  it("serves an Anthropic upstream through Messages, plain and streamed with a function call", async () => {
    const { data: r, response } = await openai.responses.create({ model: "claude", instructions: "Be brief.", input: "hi", max_output_tokens: 40 }).withResponse();
    expect(response.headers.get("x-mlxm-backend")).to.equal("anthropic:claude-3-5-haiku-latest");
    expect(r.output_text).to.equal(FAKE_ANTHROPIC_REPLY);
    expect(r.usage).to.deep.include({ input_tokens: FAKE_ANTHROPIC_USAGE.input_tokens, output_tokens: FAKE_ANTHROPIC_USAGE.output_tokens });
    const sent = last(claude);
    expect(sent.path).to.equal("/v1/messages");
    expect(sent.body).to.deep.include({ model: "claude-3-5-haiku-latest", system: "Be brief.", max_tokens: 40, stream: true });

    const stream = openai.responses.stream({ model: "claude", input: "weather?", tools, tool_choice: "required" });
    let args = "";
    stream.on("response.function_call_arguments.delta", (e) => (args = e.snapshot));
    const final = await stream.finalResponse();
    expect(JSON.parse(args)).to.deep.equal(FAKE_ANTHROPIC_TOOL_INPUT);
    expect(final.output).to.have.length(1);
    expect(final.output[0]).to.deep.include({ type: "function_call", call_id: "toolu_fake1", name: "get_weather", status: "completed" });
    expect(last(claude).body.tool_choice).to.deep.equal({ type: "any" });
  });

  it("refuses built-in tools before any upstream sees the request", async () => {
    const before = gpt.requests.length;
    const err = (await openai.responses.create({ model: "gpt", input: "search", tools: [{ type: "web_search" }] }).then(() => undefined, (e: unknown) => e)) as APIError;
    expect([err.status, err.param]).to.deep.equal([400, "tools[0].type"]);
    expect(gpt.requests.length).to.equal(before);
  });

  it("records each request as a usage row; the totals equal the sum of the responses' usage", async () => {
    const before = await d.client.usage({ by: "api" });
    const responses = [
      await openai.responses.create({ model: "gpt", input: "a" }),
      await openai.responses.create({ model: "claude", input: "b" }),
      await openai.responses.stream({ model: "gpt", input: "c" }).finalResponse(),
    ];
    const sum = (k: "input_tokens" | "output_tokens") => responses.reduce((n, r) => n + r.usage![k], 0);
    const after = await eventually(() => d.client.usage({ by: "api" }), (u) => u.total.requests === before.total.requests + 3, "three new rows");
    expect(after.total.input_tokens - before.total.input_tokens).to.equal(sum("input_tokens"));
    expect(after.total.output_tokens - before.total.output_tokens).to.equal(sum("output_tokens"));
    const rows = await store.requests.recent(3);
    expect(rows.map((r) => [r.api, r.route, r.status_code])).to.deep.equal(Array(3).fill(["openai", "/v1/responses", 200]));
    expect(rows.map((r) => r.backend).sort()).to.deep.equal(["anthropic:claude-3-5-haiku-latest", "openai:gpt-4o-mini", "openai:gpt-4o-mini"]);
  });

  it("stores unknown usage, not 0, for a stream its caller left before the OpenAI upstream reported any", async () => {
    // OpenAI sends a stream's usage only in its last chunk; this one sends a first chunk and then waits.
    let closed!: () => void;
    const upstreamClosed = new Promise<void>((r) => (closed = r));
    gptScript.push({ holdOpen: true, onClose: () => closed() });
    const controller = new AbortController();
    const stream = await openai.responses.create({ model: "gpt", input: "leave", stream: true }, { signal: controller.signal });
    for await (const event of stream) if (event.type === "response.output_text.delta") controller.abort();
    await upstreamClosed;
    const row = await eventually(async () => (await store.requests.recent(1))[0], (r) => r?.status_code === 499, "the cancelled request's row");
    expect(row).to.deep.include({ route: "/v1/responses", backend: "openai:gpt-4o-mini", input_tokens: null, output_tokens: null, cached_tokens: null, cost_usd: null });
  });
});
