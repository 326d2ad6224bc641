/**
 * The native generation endpoints in Ollama's shapes, with plain fetch as an Ollama client would, against a real
 * daemon and the local engine: NDJSON streams, one-object answers, load and unload, embeddings and show.
 */
import { expect } from "chai";
import path from "node:path";
import { NotFoundError } from "../../src/client/errors.js";
import { Store } from "../../src/daemon/store/store.js";
import { ChatResponse, EmbedResponse, GenerateResponse } from "../../src/protocol/chat.js";
import { ShowResponse } from "../../src/protocol/show.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";
import { until } from "../helpers/until.js";

const MODEL = "tiny-ollama";
/** A code model, as far as its vocabulary goes: it has fill-in-the-middle tokens. */
const FIM_MODEL = "tiny-ollama-fim";

describe("Ollama-shaped API (local engine)", () => {
  let d: TestDaemon;
  let store: Store;
  const post = (p: string, body: unknown) => fetch(`${d.baseUrl}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const lines = async (res: Response) => (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as unknown);

  before(async () => {
    d = await startTestDaemon();
    store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, MODEL);
    await addTestModel(store, FIM_MODEL, { infill: true });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
  });

  it("streams /api/chat as NDJSON lines ending with done, done_reason and metrics", async () => {
    const res = await post("/api/chat", { model: MODEL, messages: [{ role: "user", content: "hello" }], options: { num_predict: 8, seed: 1 } });
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/application\/x-ndjson/);
    const all = (await lines(res)).map((l) => ChatResponse.parse(l));
    const last = all.at(-1)!;
    expect(all.slice(0, -1).every((l) => !l.done && l.message.role === "assistant")).to.equal(true);
    expect(all.slice(0, -1).map((l) => l.message.content).join("")).to.not.equal("");
    expect(last).to.deep.include({ model: MODEL, done: true, done_reason: "length", eval_count: 8 });
    expect(last.prompt_eval_count).to.be.greaterThan(0);
    for (const k of ["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"] as const) {
      expect(Number.isInteger(last[k]), k).to.equal(true);
    }
    expect(last.total_duration).to.be.greaterThan(0);
    expect(Date.parse(last.created_at)).to.be.a("number").and.not.NaN;
  });

  it("answers /api/chat with stream false as one object, and honours format json", async () => {
    const res = await post("/api/chat", { model: MODEL, messages: [{ role: "user", content: "json please" }], stream: false, format: "json", options: { num_predict: 48 } });
    const body = ChatResponse.parse(await res.json());
    expect(body.done).to.equal(true);
    if (body.done_reason === "stop") expect(() => JSON.parse(body.message.content)).to.not.throw();
    const schema = { type: "object", properties: { yes: { type: "boolean" } }, required: ["yes"] };
    const structured = ChatResponse.parse(await (await post("/api/chat", { model: MODEL, messages: [{ role: "user", content: "?" }], stream: false, format: schema, options: { num_predict: 32 } })).json());
    expect(structured.done_reason).to.equal("stop");
    expect(JSON.parse(structured.message.content)).to.have.property("yes").that.is.a("boolean");
  });

  it("serves /api/generate streamed and not, and loads on an empty prompt", async () => {
    const streamed = (await lines(await post("/api/generate", { model: MODEL, prompt: "Once", options: { num_predict: 8 } }))).map((l) => GenerateResponse.parse(l));
    expect(streamed.at(-1)).to.deep.include({ done: true, done_reason: "length", eval_count: 8 });
    expect(streamed.slice(0, -1).map((l) => l.response).join("")).to.not.equal("");
    const raw = GenerateResponse.parse(await (await post("/api/generate", { model: MODEL, prompt: "Once", raw: true, stream: false, options: { num_predict: 8 } })).json());
    expect(raw).to.deep.include({ done: true, eval_count: 8 });
    const load = GenerateResponse.parse(await (await post("/api/generate", { model: MODEL })).json());
    expect(load).to.deep.include({ done: true, done_reason: "load", response: "" });
    expect((await d.client.ps()).models.map((m) => m.name)).to.include(MODEL);
  });

  it("fills in the middle with suffix, streamed and not: the prompt is BOS [FIM_PRE] prefix [FIM_SUF] suffix [FIM_MID]", async () => {
    const generate = async (body: Record<string, unknown>) => {
      const res = await post("/api/generate", { model: FIM_MODEL, stream: false, options: { num_predict: 1 }, ...body });
      expect(res.status, await res.clone().text()).to.equal(200);
      return GenerateResponse.parse(await res.json());
    };
    const prefix = "def add(a, b):\n    return ";
    const suffix = "\n\nprint(add(1, 2))\n";
    // Each raw prompt is BOS and its text's tokens, which the FIM prompt holds once each, with its three markers.
    const [before, after] = [await generate({ prompt: prefix, raw: true }), await generate({ prompt: suffix, raw: true })];
    const fim = await generate({ prompt: prefix, suffix, options: { num_predict: 4 } });
    expect(fim).to.deep.include({ done: true, done_reason: "length", eval_count: 4, prompt_eval_count: before.prompt_eval_count! + after.prompt_eval_count! + 2 });
    expect(fim.response).to.not.equal("");
    // The same request again finds the whole prompt but its last token in the sequence: what was evaluated is exactly
    // those tokens (a raw prompt's too, which node-llama-cpp once began with a second BOS).
    expect((await generate({ prompt: prefix, suffix })).prompt_eval_cached_count).to.equal(fim.prompt_eval_count! - 1);
    expect((await generate({ prompt: prefix, raw: true })).prompt_eval_cached_count).to.equal(before.prompt_eval_count! - 1);

    const streamed = (await lines(await post("/api/generate", { model: FIM_MODEL, prompt: prefix, suffix, options: { num_predict: 4 } }))).map((l) => GenerateResponse.parse(l));
    expect(streamed.at(-1)).to.deep.include({ done: true, done_reason: "length", eval_count: 4, prompt_eval_count: fim.prompt_eval_count });
    expect(streamed.slice(0, -1).map((l) => l.response).join("")).to.not.equal("");
  });

  it("evaluates a raw prompt that nearly fills the context in full (node-llama-cpp cut its start to keep a tenth free)", async () => {
    const generate = async () => {
      const res = await post("/api/generate", { model: MODEL, prompt: "word ".repeat(475), raw: true, stream: false, options: { num_predict: 1 } });
      expect(res.status, await res.clone().text()).to.equal(200);
      return GenerateResponse.parse(await res.json());
    };
    const first = await generate();
    expect(first.prompt_eval_count).to.be.within(1850, 2047);
    // Held in full, the prompt is found again in full (but its last token); a cut one shares only its BOS.
    expect((await generate()).prompt_eval_cached_count).to.equal(first.prompt_eval_count! - 1);
  });

  it("answers a suffix for a model without infill tokens with Ollama's 400, streamed or not", async () => {
    for (const stream of [true, false]) {
      const res = await post("/api/generate", { model: MODEL, prompt: "def f(", suffix: ")", stream });
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.match(new RegExp(`^${MODEL} does not support insert`));
    }
  });

  it("names the backend of a raw /api/generate in x-mlxm-backend and on its usage row, as a templated one does (neither did)", async () => {
    const res = await post("/api/generate", { model: MODEL, prompt: "raw backend", raw: true, stream: false, options: { num_predict: 2 } });
    expect(res.headers.get("x-mlxm-backend")).to.equal("local");
    await res.json();
    const rows = async () => (await store.requests.recent(50)).filter((r) => r.route === "/api/generate" && r.output_tokens === 2);
    await until(async () => (await rows()).length > 0, "the raw request's usage row");
    expect((await rows()).map((r) => r.backend)).to.deep.equal(["local"]);
  });

  it("applies options.repeat_last_n as the penalties' window: 0 turns them off; nonsense is a 400 naming it", async () => {
    const generate = async (options: Record<string, unknown>) => {
      const res = await post("/api/generate", { model: MODEL, prompt: "Once upon a time", raw: true, stream: false, options: { temperature: 0, num_predict: 48, ...options } });
      expect(res.status, await res.clone().text()).to.equal(200);
      return GenerateResponse.parse(await res.json()).response;
    };
    const plain = await generate({});
    const penalties = { repeat_penalty: 3, presence_penalty: 2, frequency_penalty: 2 };
    const penalized = await generate(penalties);
    expect(penalized, "the penalties change a greedy generation").to.not.equal(plain);
    expect(await generate({ ...penalties, repeat_last_n: 0 })).to.equal(plain);
    expect(await generate({ ...penalties, repeat_last_n: -1 })).to.be.a("string");
    for (const bad of [-2, 1.5, "64"]) {
      const res = await post("/api/generate", { model: MODEL, prompt: "x", stream: false, options: { repeat_last_n: bad } });
      expect(res.status, String(bad)).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.contain("options.repeat_last_n");
    }
  });

  it("unloads with keep_alive 0 (what mlxm stop sends), 404 for an unknown model", async () => {
    await post("/api/generate", { model: MODEL });
    const stopped = await d.client.stop(MODEL);
    expect(stopped.done_reason).to.equal("unload");
    expect((await d.client.ps()).models.map((m) => m.name)).to.not.include(MODEL);
    await d.client.stop("no-such-model").then(
      () => expect.fail("should throw"),
      (err) => expect(err).to.be.instanceOf(NotFoundError),
    );
  });

  it("embeds one or more inputs with /api/embed, reporting the load it waited for", async () => {
    expect((await post("/api/generate", { model: MODEL, prompt: "", keep_alive: 0, stream: false })).status).to.equal(200);
    const body = EmbedResponse.parse(await (await post("/api/embed", { model: MODEL, input: ["hello", "world"] })).json());
    expect(body.load_duration, "the model was unloaded: this request loaded it").to.be.greaterThan(0);
    expect(body.model).to.equal(MODEL);
    expect(body.embeddings).to.have.length(2);
    expect(body.embeddings[0]).to.have.length(64);
    expect(body.prompt_eval_count).to.be.greaterThan(0);
    const single = EmbedResponse.parse(await (await post("/api/embed", { model: MODEL, input: "hello" })).json());
    expect(single.embeddings[0]).to.deep.equal(body.embeddings[0]);
    expect(single.load_duration, "loaded already").to.equal(0);
  });

  it("truncates an /api/embed input longer than the context unless told not to, and loads on an empty input", async () => {
    const long = "word ".repeat(3000);
    const cut = EmbedResponse.parse(await (await post("/api/embed", { model: MODEL, input: long })).json());
    expect(cut.embeddings[0]).to.have.length(64);
    expect(cut.prompt_eval_count).to.be.within(1000, 2047);
    const refused = await post("/api/embed", { model: MODEL, input: long, truncate: false });
    expect(refused.status).to.equal(400);
    expect(((await refused.json()) as { error: string }).error).to.match(/context holds 2048/);
    // As Ollama: an empty string is no input (it only loads the model); an empty item in a list has no embedding.
    expect(EmbedResponse.parse(await (await post("/api/embed", { model: MODEL, input: "" })).json()).embeddings).to.deep.equal([]);
    expect((await post("/api/embed", { model: MODEL, input: ["a", ""] })).status).to.equal(400);
  });

  it("shows a model in Ollama's shape, with mlxm's facts and the built-in model's notes", async () => {
    const show = ShowResponse.parse(await (await post("/api/show", { model: MODEL })).json());
    expect(show.details).to.deep.include({ format: "gguf", family: "llama" });
    expect(show.model_info["general.architecture"]).to.equal("llama");
    expect(show.mlxm).to.deep.include({ name: MODEL, architecture: "llama", context_length: 2048, embedding_length: 64, has_chat_template: true });
    expect(show.mlxm.files).to.have.length(1);
    expect(show.template).to.contain("im_start");
    expect(show.capabilities).to.deep.equal(["completion", "tools"]);
    const fim = ShowResponse.parse(await (await post("/api/show", { model: FIM_MODEL })).json());
    expect(fim.capabilities, "its GGUF names infill tokens").to.deep.equal(["completion", "tools", "insert"]);
    const builtin = await d.client.show("mlxm-tiny");
    expect(builtin.mlxm.notes.join(" ")).to.match(/gibberish/);
    const missing = await post("/api/show", { model: "no-such-model" });
    expect(missing.status).to.equal(404);
    expect(await missing.json()).to.deep.include({ code: "model_not_found" });
  });

  it("streams through MlxmClient.chat, as mlxm run does", async () => {
    let text = "";
    let last: ChatResponse | undefined;
    for await (const line of d.client.chat({ model: MODEL, messages: [{ role: "user", content: "hi" }], options: { num_predict: 8 } })) {
      text += line.message.content;
      last = line;
    }
    expect(text).to.not.equal("");
    expect(last).to.deep.include({ done: true, eval_count: 8 });
  });
});
