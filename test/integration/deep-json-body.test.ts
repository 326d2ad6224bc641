/**
 * A request body nested thousands of levels deep, sent to a routed model on each generation API: JSON.parse takes
 * it, but serialising it again for the upstream ran out of stack, which read as the upstream's failure (502, retried,
 * then the fallback). Raw HTTP, since no SDK can serialise such a body either.
 */
import { expect } from "chai";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startFakeOpenAI } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";

/** A JSON Schema `levels` objects deep: twice as many levels of JSON. */
const deepSchema = (levels: number) => '{"type":"object","properties":{"a":'.repeat(levels) + '{"type":"string"}' + "}}".repeat(levels);
const MESSAGE = "the request body is nested more than 1000 levels deep";

describe("a request body nested too deeply", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let gpt: FakeServer;

  before(async () => {
    gpt = await startFakeOpenAI();
    d = await startTestDaemon();
    await d.admin.addRoute({ pattern: "gpt", provider: "openai", base_url: `${gpt.url}/v1`, model: "gpt-4o-mini", api_key: "sk-deep0json0test0key0123456789" });
  });
  after(async () => {
    await d?.stop();
    await gpt?.close();
  });

  const post = async (path: string, body: string) => {
    const res = await fetch(`${d.baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    return { status: res.status, body: (await res.json()) as unknown };
  };

  it("is a 400 in each API's error shape, and no upstream sees it", async () => {
    const schema = deepSchema(3000);
    const openaiTools = `[{"type":"function","function":{"name":"f","parameters":${schema}}}]`;
    const openaiError = { error: { message: MESSAGE, type: "invalid_request_error", param: null, code: null } };
    expect(await post("/v1/responses", `{"model":"gpt","input":"hi","tools":[{"type":"function","name":"f","parameters":${schema}}]}`)).to.deep.equal({ status: 400, body: openaiError });
    expect(await post("/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"hi"}],"tools":${openaiTools}}`)).to.deep.equal({ status: 400, body: openaiError });
    expect(await post("/v1/messages", `{"model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":${schema}}]}`)).to.deep.equal({
      status: 400,
      body: { type: "error", error: { type: "invalid_request_error", message: MESSAGE } },
    });
    const ollama = await post("/api/chat", `{"model":"gpt","stream":false,"messages":[{"role":"user","content":"hi"}],"tools":${openaiTools}}`);
    expect(ollama.status).to.equal(400);
    expect(ollama.body).to.deep.include({ error: MESSAGE });
    expect(gpt.requests).to.have.length(0);
  });

  it("still serves a body nested as deeply as real ones get", async () => {
    const res = await post("/v1/responses", `{"model":"gpt","input":"hi","tools":[{"type":"function","name":"f","parameters":${deepSchema(100)}}]}`);
    expect(res.status).to.equal(200);
  });
});
