/**
 * The OpenAI API end to end: the official openai SDK, unmodified, against a real daemon on port 0 and the local
 * engine, with generated random-weight models. The models write gibberish and run to max_tokens, so assertions are
 * about shapes, counts, grammar-enforced JSON and lifecycle, never about what the text says.
 */
import { expect } from "chai";
import path from "node:path";
import OpenAI, { type APIError } from "openai";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addCorruptModel, addTestModel } from "../helpers/models.js";

const MODEL = "tiny-openai";
/** A model with fill-in-the-middle tokens in its vocabulary. */
const FIM_MODEL = "tiny-openai-fim";
/** Wider and deeper than the tiny preset, so a long generation lasts long enough to be interrupted. */
const SLOW_MODEL = "slow-openai";
const SLOW_OPTIONS = { nEmbd: 384, nLayers: 6, nHead: 6, nFf: 1024 };
/** A slow model of its own for the queue-cancel test, whose rows no other test writes. */
const QUEUED_MODEL = "queued-openai";
const user = (content: string) => [{ role: "user" as const, content }];

async function activeRequests(d: TestDaemon, model: string): Promise<number> {
  const ps = await d.client.ps();
  return ps.models.find((m) => m.name === model)?.active_requests ?? 0;
}

/** Poll (bounded) until `check` holds; a missed condition fails the test, no duration is asserted. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

async function outputTokens(d: TestDaemon, model: string): Promise<number> {
  const text = await (await fetch(`${d.baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("gen_ai_tokens_total{") && l.includes(`model="${model}"`) && l.includes('type="output"'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** A streamed text completion's text, and the usage of its last chunk that had one. */
async function readCompletionStream(stream: AsyncIterable<OpenAI.Completion>): Promise<{ text: string; usage?: OpenAI.CompletionUsage }> {
  let text = "";
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? "";
    usage = chunk.usage ?? usage;
  }
  return { text, usage };
}

describe("OpenAI API with the openai SDK (local engine)", () => {
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;

  before(async () => {
    d = await startTestDaemon();
    // A second connection to the daemon's database (WAL): models registered here are what a pull would leave.
    store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, MODEL);
    await addTestModel(store, FIM_MODEL, { infill: true });
    await addTestModel(store, SLOW_MODEL, SLOW_OPTIONS);
    await addCorruptModel(store, "corrupt-openai", "missing-head-count");
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
  });

  it("answers a chat completion with exact usage, stopping at max_tokens with finish_reason length", async () => {
    const c = await openai.chat.completions.create({ model: MODEL, messages: user("hello"), max_tokens: 8, seed: 1 });
    expect(c.object).to.equal("chat.completion");
    expect(c.model).to.equal(MODEL);
    expect(c.choices[0]!.finish_reason).to.equal("length");
    expect(c.choices[0]!.message.role).to.equal("assistant");
    expect(c.choices[0]!.message.content).to.be.a("string").and.not.equal("");
    expect(c.usage!.completion_tokens).to.equal(8);
    expect(c.usage!.prompt_tokens).to.be.greaterThan(0);
    expect(c.usage!.total_tokens).to.equal(c.usage!.prompt_tokens + 8);
  });

  it("streams chunks and a final usage chunk with stream_options.include_usage", async () => {
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: user("hello"),
      max_completion_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta.role).to.equal("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).to.not.equal("");
    expect(chunks.at(-2)!.choices[0]!.finish_reason).to.equal("length");
    const last = chunks.at(-1)!;
    expect(last.choices).to.deep.equal([]);
    expect(last.usage!.completion_tokens).to.equal(8);
    expect(last.usage!.total_tokens).to.equal(last.usage!.prompt_tokens + 8);
  });

  it("stops at a stop string with finish_reason stop", async () => {
    // Greedy decoding is repeatable: find a piece of the free answer, then ask again with it as the stop string.
    const params = { model: MODEL, messages: user("tell me"), max_tokens: 16, temperature: 0, seed: 3 };
    const free = (await openai.chat.completions.create(params)).choices[0]!.message.content!;
    const at = free.search(/\S{2}/g);
    const from = Math.max(at, 1);
    const stop = free.slice(from, from + 2);
    const cut = free.indexOf(stop);
    expect(cut, `a stop string inside ${JSON.stringify(free)}`).to.be.greaterThan(0);
    const stopped = await openai.chat.completions.create({ ...params, stop: [stop] });
    expect(stopped.choices[0]!.finish_reason).to.equal("stop");
    expect(stopped.choices[0]!.message.content).to.equal(free.slice(0, cut));
  });

  it("honours negative presence and frequency penalties (they favour tokens already generated), OpenAI's and Ollama's", async () => {
    // node-llama-cpp hands both to llama.cpp's penalties sampler unclamped, which takes `count * frequency + presence`
    // off the logit of every token among the last 64 generated: a negative value raises it. Greedy decoding makes the
    // answers repeatable, so a penalty that reached the sampler shows as a different answer.
    const params = { model: MODEL, messages: user("hello"), max_tokens: 48, temperature: 0, seed: 5 };
    const chat = async (extra: object) => (await openai.chat.completions.create({ ...params, ...extra })).choices[0]!.message.content!;
    const ollama = async (options: object) => {
      const res = await fetch(`${d.baseUrl}/api/chat`, { method: "POST", body: JSON.stringify({ model: MODEL, stream: false, messages: user("hello"), options: { num_predict: 48, temperature: 0, seed: 5, ...options } }) });
      return ((await res.json()) as { message: { content: string } }).message.content;
    };
    const free = await chat({});
    expect(await chat({ presence_penalty: 0, frequency_penalty: 0 }), "a penalty of 0 is none").to.equal(free);
    for (const penalty of [{ presence_penalty: -2 }, { frequency_penalty: -2 }]) {
      expect(await chat(penalty), JSON.stringify(penalty)).to.not.equal(free);
      expect(await ollama(penalty), `Ollama ${JSON.stringify(penalty)}`).to.not.equal(await ollama({}));
    }
  });

  it("gives back text held as a possible stop string when max_tokens ends the answer first", async () => {
    // The answer's last characters followed by more: a stop string the answer starts but never completes.
    const params = { model: MODEL, messages: user("tell me"), max_tokens: 16, temperature: 0, seed: 3 };
    const free = (await openai.chat.completions.create(params)).choices[0]!.message.content!;
    const stop = `${free.slice(-2)}\u0000zz`;
    const stopped = await openai.chat.completions.create({ ...params, stop: [stop] });
    expect([stopped.choices[0]!.finish_reason, stopped.choices[0]!.message.content]).to.deep.equal(["length", free]);
    const stream = await openai.chat.completions.create({ ...params, stop: [stop], stream: true });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? "";
    expect(streamed).to.equal(free);
    const prompt = { model: MODEL, prompt: "once upon", max_tokens: 16, temperature: 0, seed: 3 };
    const text = (await openai.completions.create(prompt)).choices[0]!.text;
    const completed = await openai.completions.create({ ...prompt, stop: [`${text.slice(-2)}\u0000zz`] });
    expect([completed.choices[0]!.finish_reason, completed.choices[0]!.text]).to.deep.equal(["length", text]);
  });

  it("returns JSON that parses and matches a json_schema response_format", async () => {
    const schema = {
      type: "object",
      properties: { ok: { type: "boolean" }, colour: { type: "string", enum: ["red", "green", "blue"] } },
      required: ["ok", "colour"],
      additionalProperties: false,
    };
    const c = await openai.chat.completions.create({
      model: MODEL,
      messages: user("answer in JSON"),
      max_tokens: 64,
      response_format: { type: "json_schema", json_schema: { name: "answer", schema, strict: true } },
    });
    expect(c.choices[0]!.finish_reason).to.equal("stop");
    const value = JSON.parse(c.choices[0]!.message.content!) as { ok: unknown; colour: unknown };
    expect(Object.keys(value).sort()).to.deep.equal(["colour", "ok"]);
    expect(value.ok).to.be.a("boolean");
    expect(["red", "green", "blue"]).to.include(value.colour);
  });

  it("makes a required tool call, streamed as OpenAI deltas, and answers the tool's result", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather in a city",
          parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo"] } }, required: ["city"] },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = user("What is the weather in Paris?");
    const stream = await openai.chat.completions.create({ model: MODEL, messages, tools, tool_choice: "required", max_tokens: 64, stream: true });
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks.push(chunk);
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).to.equal("tool_calls");
    // As OpenAI starts a tool-call turn: the role with no content, and the call, in one chunk; no content delta at all.
    expect(chunks[0]!.choices[0]!.delta).to.deep.equal({ role: "assistant", content: null, tool_calls: [deltas[0]] });
    expect(chunks.filter((c) => c.choices[0]?.delta.content !== undefined && c.choices[0]?.delta.content !== null)).to.deep.equal([]);
    expect(deltas[0]).to.deep.include({ index: 0, type: "function" });
    expect(deltas[0]!.id).to.be.a("string").and.not.equal("");
    expect(deltas[0]!.function).to.deep.equal({ name: "get_weather", arguments: "" });
    const args = JSON.parse(deltas.slice(1).map((t) => t.function?.arguments ?? "").join("")) as { city: string };
    expect(["Paris", "Oslo"]).to.include(args.city);

    messages.push({
      role: "assistant",
      content: null,
      tool_calls: [{ id: deltas[0]!.id!, type: "function", function: { name: "get_weather", arguments: JSON.stringify(args) } }],
    });
    messages.push({ role: "tool", tool_call_id: deltas[0]!.id!, content: "sunny, 21 °C" });
    const answer = await openai.chat.completions.create({ model: MODEL, messages, tools, tool_choice: "none", max_tokens: 8 });
    expect(answer.choices[0]!.finish_reason).to.equal("length");
    expect(answer.choices[0]!.message.content).to.be.a("string").and.not.equal("");
    expect(answer.choices[0]!.message.tool_calls ?? []).to.deep.equal([]);
  });

  it("never shows its tool-call wrapper as text when max_tokens cuts a required call short", async () => {
    const tool = (name: string): OpenAI.ChatCompletionTool => ({ type: "function", function: { name, parameters: { type: "object", properties: {} } } });
    const ask = (tools: OpenAI.ChatCompletionTool[]) =>
      openai.chat.completions.create({ model: MODEL, messages: user("weather?"), tools, tool_choice: "required", max_tokens: 3 });
    // One tool: the call is known before its name is written; it comes back with no arguments.
    const one = (await ask([tool("get_weather")])).choices[0]!;
    expect(one.finish_reason).to.equal("length");
    expect(one.message.content ?? "").to.equal("");
    expect(one.message.tool_calls?.map((c) => (c as OpenAI.ChatCompletionMessageFunctionToolCall).function.name)).to.deep.equal(["get_weather"]);
    // Two: which one is unknown; nothing is shown (before, the text was `{"name":"get_`).
    const two = (await ask([tool("get_weather"), tool("get_time")])).choices[0]!;
    expect(two.finish_reason).to.equal("length");
    expect(two.message.content ?? "").to.equal("");
  });

  it("serves a response format with auto tools (streamed too), with a forced call and with tool_choice none", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } }];
    const base = { model: MODEL, messages: user("weather?"), tools, max_tokens: 8, response_format: { type: "json_object" as const } };
    for (const stream of [false, true]) {
      // Before, a 400 naming response_format (and before that node-llama-cpp threw mid-generation: a 500). Now the
      // model calls the tool or answers (structured-output-tools.test.ts); 8 tokens end it inside mlxm's call wrapper,
      // of which nothing is shown.
      const names: string[] = [];
      let content = "";
      let finish: string | null = null;
      if (stream) {
        for await (const chunk of await openai.chat.completions.create({ ...base, stream: true })) {
          for (const call of chunk.choices[0]?.delta.tool_calls ?? []) if (call.function?.name) names.push(call.function.name);
          content += chunk.choices[0]?.delta.content ?? "";
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
      } else {
        const choice = (await openai.chat.completions.create(base)).choices[0]!;
        for (const call of choice.message.tool_calls ?? []) if (call.type === "function") names.push(call.function.name);
        content = choice.message.content ?? "";
        finish = choice.finish_reason;
      }
      expect({ names, content, finish }).to.deep.equal({ names: [], content: "", finish: "length" });
    }
    const forced = await openai.chat.completions.create({ ...base, tool_choice: "required" });
    expect(forced.choices[0]!.message.tool_calls?.length).to.equal(1);
    const none = await openai.chat.completions.create({ ...base, tool_choice: "none" });
    expect(none.choices[0]!.message.tool_calls ?? []).to.deep.equal([]);
  });

  it("serves /v1/completions, plain and streamed", async () => {
    const c = await openai.completions.create({ model: MODEL, prompt: "Once upon a time", max_tokens: 8 });
    expect(c.object).to.equal("text_completion");
    expect(c.choices[0]!.finish_reason).to.equal("length");
    expect(c.usage!.completion_tokens).to.equal(8);
    const { text, usage } = await readCompletionStream(
      await openai.completions.create({ model: MODEL, prompt: ["Once"], max_tokens: 8, stream: true, stream_options: { include_usage: true } }),
    );
    expect(text).to.not.equal("");
    expect(usage!.completion_tokens).to.equal(8);
  });

  it("fills in the middle on /v1/completions with suffix, plain and streamed; a model without infill tokens is a 400 naming suffix", async () => {
    const body = { model: FIM_MODEL, prompt: "def add(a, b):\n    return ", suffix: "\n\nprint(add(1, 2))\n", max_tokens: 4 };
    const promptTokens = async (prompt: string) => (await openai.completions.create({ model: FIM_MODEL, prompt, max_tokens: 1 })).usage!.prompt_tokens;
    const fim = await openai.completions.create(body);
    expect(fim.choices[0]!.finish_reason).to.equal("length");
    expect(fim.choices[0]!.text).to.not.equal("");
    // BOS, the three markers and each text's tokens (a plain prompt is BOS and its text's).
    expect(fim.usage!.prompt_tokens).to.equal((await promptTokens(body.prompt)) + (await promptTokens(body.suffix)) + 2);
    const { text, usage } = await readCompletionStream(await openai.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }));
    expect(text).to.not.equal("");
    expect(usage).to.deep.include({ prompt_tokens: fim.usage!.prompt_tokens, completion_tokens: 4 });
    for (const stream of [false, true]) {
      const refused = await openai.completions.create({ ...body, model: MODEL, stream }).then(
        () => expect.fail("should throw"),
        (err: unknown) => err,
      );
      expect(refused).to.be.instanceOf(OpenAI.BadRequestError);
      expect(refused).to.deep.include({ param: "suffix" });
      expect((refused as APIError).message).to.contain(`${MODEL} does not support insert`);
    }
  });

  it("returns embeddings as floats and as little-endian float32 base64", async () => {
    const floats = await openai.embeddings.create({ model: MODEL, input: ["hello", "world"], encoding_format: "float" });
    expect(floats.data).to.have.length(2);
    const vector = floats.data[0]!.embedding;
    expect(vector).to.have.length(64);
    expect(floats.usage.prompt_tokens).to.be.greaterThan(0);
    const raw = (await (
      await fetch(`${d.baseUrl}/v1/embeddings`, { method: "POST", body: JSON.stringify({ model: MODEL, input: "hello", encoding_format: "base64" }) })
    ).json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(raw.data[0]!.embedding, "base64");
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).to.deep.equal(vector.map((v) => Math.fround(v)));
    // The SDK's default is base64, decoded client-side.
    const viaSdk = await openai.embeddings.create({ model: MODEL, input: "hello" });
    expect(viaSdk.data[0]!.embedding).to.deep.equal(decoded);
  });

  it("refuses empty embedding inputs and, with OpenAI's code, inputs and prompts longer than the context", async () => {
    const refusal = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (err) {
        expect(err).to.be.instanceOf(OpenAI.BadRequestError);
        return [(err as APIError).param, (err as APIError).code];
      }
      return expect.fail("should throw");
    };
    expect(await refusal(() => openai.embeddings.create({ model: MODEL, input: "" }))).to.deep.equal(["input", null]);
    expect(await refusal(() => openai.embeddings.create({ model: MODEL, input: ["a", ""] }))).to.deep.equal(["input[1]", null]);
    const long = "word ".repeat(3000);
    expect(await refusal(() => openai.embeddings.create({ model: MODEL, input: long }))).to.deep.equal(["input", "context_length_exceeded"]);
    expect(await refusal(() => openai.chat.completions.create({ model: MODEL, messages: user(long), max_tokens: 4 }))).to.deep.equal([
      "messages",
      "context_length_exceeded",
    ]);
  });

  it("lists and retrieves models", async () => {
    const ids = (await openai.models.list()).data.map((m) => m.id);
    expect(ids).to.include.members([MODEL, "mlxm-tiny"]);
    expect(await openai.models.retrieve(MODEL)).to.deep.include({ id: MODEL, object: "model" });
  });

  it("raises NotFoundError for an unknown model and BadRequestError naming a bad parameter", async () => {
    for (const stream of [false, true]) {
      try {
        await openai.chat.completions.create({ model: "no-such-model", messages: user("hi"), stream });
        expect.fail("should throw");
      } catch (err) {
        expect(err).to.be.instanceOf(OpenAI.NotFoundError);
        expect((err as APIError).code).to.equal("model_not_found");
      }
    }
    for (const [extra, param] of [
      [{ n: 2 }, "n"],
      [{ logprobs: true }, "logprobs"],
      [{ top_p: 2 }, "top_p"],
    ] as const) {
      try {
        await openai.chat.completions.create({ model: MODEL, messages: user("hi"), max_tokens: 8, ...(extra as object) });
        expect.fail("should throw");
      } catch (err) {
        expect(err, param).to.be.instanceOf(OpenAI.BadRequestError);
        expect((err as APIError).param).to.equal(param);
      }
    }
  });

  it("completes 4 concurrent streams", async () => {
    const run = async (i: number) => {
      const stream = await openai.chat.completions.create({ model: MODEL, messages: user(`stream ${i}`), max_tokens: 12, stream: true, stream_options: { include_usage: true } });
      let usage: OpenAI.CompletionUsage | undefined;
      let finish: string | null = null;
      for await (const chunk of stream) {
        usage = chunk.usage ?? usage;
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      return { usage, finish };
    };
    const results = await Promise.all([0, 1, 2, 3].map(run));
    for (const r of results) {
      expect(r.finish).to.equal("length");
      expect(r.usage!.completion_tokens).to.equal(12);
    }
  });

  it("stops a generation at once when its client disconnects, freeing the sequence", async () => {
    const before = await outputTokens(d, SLOW_MODEL);
    const controller = new AbortController();
    const maxTokens = 2000;
    const stream = await openai.chat.completions.create(
      { model: SLOW_MODEL, messages: user("go on"), max_tokens: maxTokens, stream: true },
      { signal: controller.signal },
    );
    let n = 0;
    for await (const _ of stream) if (++n === 3) controller.abort();
    await eventually(async () => (await activeRequests(d, SLOW_MODEL)) === 0, "active_requests back to 0");
    await eventually(async () => (await outputTokens(d, SLOW_MODEL)) > before, "the aborted generation recorded");
    expect((await outputTokens(d, SLOW_MODEL)) - before).to.be.lessThan(maxTokens);
    // Its usage row says the caller went away (499) and still counts the prompt it read and the tokens it generated
    // up to the cancel: the same count the metrics got from the generation itself.
    const cancelled = () => store.db.selectFrom("requests").selectAll().where("model", "=", SLOW_MODEL).where("status_code", "=", 499).executeTakeFirst();
    await eventually(async () => (await cancelled()) !== undefined, "the cancelled request's row");
    const row = (await cancelled())!;
    expect(row.input_tokens).to.be.greaterThan(0);
    expect(row.output_tokens).to.equal((await outputTokens(d, SLOW_MODEL)) - before);
    expect(row.output_tokens).to.be.greaterThan(0);
    // The freed sequence serves the next request.
    const next = await openai.chat.completions.create({ model: SLOW_MODEL, messages: user("again"), max_tokens: 4 });
    expect(next.usage!.completion_tokens).to.equal(4);
  });

  it("reports a corrupt model file as a clear 422 and keeps serving", async () => {
    try {
      await openai.chat.completions.create({ model: "corrupt-openai", messages: user("hi"), max_tokens: 8 });
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.UnprocessableEntityError);
      expect((err as APIError).code).to.equal("invalid_model");
      expect((err as APIError).message).to.match(/head_count/);
    }
    const c = await openai.chat.completions.create({ model: MODEL, messages: user("still there?"), max_tokens: 4 });
    expect(c.usage!.completion_tokens).to.equal(4);
  });
});

describe("OpenAI API queue limits (local engine)", () => {
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;

  before(async () => {
    d = await startTestDaemon({ MLXM_NUM_PARALLEL: "1", MLXM_MAX_QUEUE: "1" });
    store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, SLOW_MODEL, SLOW_OPTIONS);
    await addTestModel(store, QUEUED_MODEL, SLOW_OPTIONS);
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
  });

  it("answers 429 RateLimitError with Retry-After once the one sequence and the one queue place are taken", async () => {
    const running = new AbortController();
    const queued = new AbortController();
    const first = await openai.chat.completions.create(
      { model: SLOW_MODEL, messages: user("long"), max_tokens: 2000, stream: true },
      { signal: running.signal },
    );
    const firstIt = first[Symbol.asyncIterator]();
    await firstIt.next(); // generating now
    // The second waits for the sequence: its response only starts once it runs, so it is not awaited here.
    const second = openai.chat.completions
      .create({ model: SLOW_MODEL, messages: user("queued"), max_tokens: 4 }, { signal: queued.signal })
      .catch((err: unknown) => err);
    await eventually(async () => (await d.client.ps()).models.find((m) => m.name === SLOW_MODEL)?.queued_requests === 1, "one request queued");

    const res = await fetch(`${d.baseUrl}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: SLOW_MODEL, messages: user("overflow"), max_tokens: 4 }) });
    expect(res.status).to.equal(429);
    expect(Number(res.headers.get("retry-after"))).to.be.greaterThan(0);
    expect(((await res.json()) as { error: { type: string; code: string } }).error).to.deep.include({ type: "requests", code: "rate_limit_exceeded" });
    try {
      await openai.chat.completions.create({ model: SLOW_MODEL, messages: user("overflow"), max_tokens: 4 });
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.RateLimitError);
    }

    running.abort();
    await firstIt.return?.();
    const answer = await second;
    expect((answer as OpenAI.ChatCompletion).usage?.completion_tokens, String(answer)).to.equal(4);
  });

  it("records a request its client cancelled while it waited in the queue: 499, its route and backend, no token counts", async () => {
    const running = new AbortController();
    const first = await openai.chat.completions.create(
      { model: QUEUED_MODEL, messages: user("long"), max_tokens: 2000, stream: true },
      { signal: running.signal },
    );
    const firstIt = first[Symbol.asyncIterator]();
    await firstIt.next(); // generating now: the next request waits for the one sequence
    const queued = async (route: string, body: Record<string, unknown>) => {
      const cancel = new AbortController();
      const sent = fetch(`${d.baseUrl}${route}`, { method: "POST", body: JSON.stringify(body), signal: cancel.signal }).catch(() => undefined);
      await eventually(async () => (await d.client.ps()).models.find((m) => m.name === QUEUED_MODEL)?.queued_requests === 1, `${route} queued`);
      cancel.abort();
      await sent;
      const row = () =>
        store.db.selectFrom("requests").selectAll().where("model", "=", QUEUED_MODEL).where("route", "=", route).where("status_code", "=", 499).executeTakeFirst();
      await eventually(async () => (await row()) !== undefined, `the cancelled ${route} request's row`);
      return (await row())!;
    };
    try {
      // Its own model: the rows of other tests' cancelled streams are written when those have stopped, at any time.
      for (const [route, body] of [
        ["/v1/chat/completions", { model: QUEUED_MODEL, messages: user("queued"), max_tokens: 4, stream: true }],
        ["/v1/responses", { model: QUEUED_MODEL, input: "queued", max_output_tokens: 16, stream: true }],
      ] as const) {
        const row = await queued(route, body);
        expect(row, route).to.deep.include({ model: QUEUED_MODEL, api: "openai", backend: "local", input_tokens: null, output_tokens: null });
      }
    } finally {
      running.abort();
      await firstIt.return?.();
    }
  });
});
