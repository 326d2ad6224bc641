/**
 * The Ollama-shaped generation routes and MlxmClient's streaming over a scripted model service: NDJSON framing,
 * stream defaults, load/unload requests, statuses and in-band errors. The real engine: ollama-api.test.ts.
 */
import { expect } from "chai";
import { ApiError, BadRequestError, NotFoundError, UnavailableError } from "../../src/client/errors.js";
import { MlxmClient } from "../../src/client/mlxm-client.js";
import { FAKE_REPLY, startFakeApp, type FakeApp } from "../helpers/fake-models.js";

const post = (app: FakeApp, path: string, body: unknown, contentType = "application/json") =>
  fetch(`${app.baseUrl}${path}`, { method: "POST", headers: { "content-type": contentType }, body: JSON.stringify(body) });

describe("Ollama API routes (scripted model service)", () => {
  let app: FakeApp;
  let client: MlxmClient;
  before(async () => {
    app = await startFakeApp();
    client = new MlxmClient({ baseUrl: app.baseUrl });
  });
  after(async () => app.close());

  it("streams /api/chat as NDJSON by default, whatever the content type", async () => {
    const res = await post(app, "/api/chat", { model: "m", messages: [{ role: "user", content: "hi" }] }, "application/x-www-form-urlencoded");
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^application\/x-ndjson/);
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.message.content)).to.deep.equal([...FAKE_REPLY, ""]);
    expect(lines.at(-1)).to.deep.include({ done: true, done_reason: "stop", prompt_eval_count: 5, eval_count: 3, load_duration: 2_000_000 });
  });

  it("answers /api/chat with stream:false as one object", async () => {
    const res = await post(app, "/api/chat", { model: "m", messages: [{ role: "user", content: "hi" }], stream: false });
    const body = (await res.json()) as { message: { content: string }; done: boolean };
    expect(body.message.content).to.equal(FAKE_REPLY.join(""));
    expect(body.done).to.equal(true);
  });

  it("streams through MlxmClient.chat and throws typed errors", async () => {
    const lines = [];
    for await (const line of client.chat({ model: "m", messages: [{ role: "user", content: "hi" }] })) lines.push(line);
    expect(lines.at(-1)!.done).to.equal(true);
    const drain = async (model: string) => {
      for await (const _ of client.chat({ model, messages: [{ role: "user", content: "hi" }] }));
    };
    await drain("missing").then(() => expect.fail("should throw"), (err) => expect(err).to.be.instanceOf(NotFoundError));
    await drain("busy").then(() => expect.fail("should throw"), (err) => expect(err).to.be.instanceOf(UnavailableError));
    // After the first line the status is sent: the failure arrives as an {error, code} line.
    await drain("explode").then(
      () => expect.fail("should throw"),
      (err) => {
        expect(err).to.be.instanceOf(ApiError);
        expect((err as ApiError).code).to.equal("internal");
      },
    );
  });

  it("answers bad requests with 400 naming the problem", async () => {
    const res = await post(app, "/api/chat", { model: "m", messages: [{ role: "user", content: "x", images: ["aGk="] }] });
    expect(res.status).to.equal(400);
    expect(await res.json()).to.deep.include({ code: "bad_request" });
    const badJson = await fetch(`${app.baseUrl}/api/generate`, { method: "POST", body: "{" });
    expect(badJson.status).to.equal(400);
    expect(((await badJson.json()) as { code: string }).code).to.equal("invalid_json");
    await client.show("").then(() => expect.fail("should throw"), (err) => expect(err).to.be.instanceOf(BadRequestError));
  });

  it("reads null options as unset on /api/chat and /api/generate (it was a 400, where Ollama skips them)", async () => {
    // langchain_community's ChatOllama sends every option it knows, null when not set.
    const options = { mirostat: null, num_ctx: null, num_predict: null, repeat_penalty: null, stop: null, temperature: 0.3, top_k: null, top_p: null, seed: null };
    for (const [path, body] of [
      ["/api/chat", { model: "m", messages: [{ role: "user", content: "hi" }], options, stream: false }],
      ["/api/generate", { model: "m", prompt: "hi", raw: true, options, stream: false }],
    ] as const) {
      const res = await post(app, path, body);
      expect(res.status, path).to.equal(200);
      expect(app.models.requests.at(-1)!.sampling, path).to.deep.equal({ temperature: 0.3 });
    }
  });

  it("takes /api/generate and /api/chat as langchain_community's Ollama sends them: every field, null when unset (raw: null was a 400)", async () => {
    const unset = { format: null, system: null, template: null, keep_alive: null, raw: null, stream: null };
    const options = { mirostat: null, num_ctx: null, num_predict: null, stop: null, temperature: null, top_k: null };
    const gen = await post(app, "/api/generate", { prompt: "hi", images: [], model: "m", ...unset, options });
    expect(gen.status).to.equal(200);
    expect(gen.headers.get("content-type"), "stream: null streams, as absent does").to.match(/^application\/x-ndjson/);
    expect(app.models.requests.at(-1)).to.deep.include({ messages: [{ role: "user", content: "hi" }], sampling: {} });
    const chat = await post(app, "/api/chat", { messages: [{ role: "user", content: "hi" }], model: "m", ...unset, options });
    expect(chat.status).to.equal(200);
    await chat.text();
    const load = (await (await post(app, "/api/chat", { model: "m", messages: null, stream: false })).json()) as { done_reason: string };
    expect(load.done_reason).to.equal("load");
  });

  it("loads on an empty request and unloads with keep_alive 0", async () => {
    const load = (await (await post(app, "/api/generate", { model: "m" })).json()) as { done_reason: string; done: boolean };
    expect(load).to.deep.include({ done: true, done_reason: "load" });
    const chatLoad = (await (await post(app, "/api/chat", { model: "m", messages: [] })).json()) as { done_reason: string };
    expect(chatLoad.done_reason).to.equal("load");
    const stopped = await client.stop("m");
    expect(stopped.done_reason).to.equal("unload");
    expect(app.models.unloaded).to.include("m");
    await client.stop("missing").then(() => expect.fail("should throw"), (err) => expect(err).to.be.instanceOf(NotFoundError));
  });

  it("serves /api/generate streamed and raw", async () => {
    let text = "";
    for await (const line of client.generate({ model: "m", prompt: "hi", raw: true })) text += line.response;
    expect(text).to.equal(FAKE_REPLY.join(""));
    expect(app.models.requests.at(-1)).to.deep.include({ prompt: "hi" });
  });

  it("serves /api/embed, /api/embeddings and /api/show", async () => {
    const e = await client.embed({ model: "m", input: ["ab", "c"] });
    expect(e.embeddings).to.deep.equal([[2, 0, 0.5, -0.25], [1, 1, 0.5, -0.25]]);
    expect(e.prompt_eval_count).to.equal(4);
    const legacy = (await (await post(app, "/api/embeddings", { model: "m", prompt: "abc" })).json()) as { embedding: number[] };
    expect(legacy.embedding).to.deep.equal([3, 0, 0.5, -0.25]);
    const show = await client.show("m");
    expect(show.details.format).to.equal("gguf");
    expect(show.mlxm.notes).to.deep.equal(["fake"]);
    await client.show("missing").then(() => expect.fail("should throw"), (err) => expect(err).to.be.instanceOf(NotFoundError));
  });
});
