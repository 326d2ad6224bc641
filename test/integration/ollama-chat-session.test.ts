/** `mlxm run`'s interactive loop over MlxmClient.chat, driven through streams instead of a terminal. */
import { expect } from "chai";
import { PassThrough } from "node:stream";
import { chatInteractively } from "../../src/cli/chat-session.js";
import { MlxmClient } from "../../src/client/mlxm-client.js";
import type { ChatRequest } from "../../src/daemon/core/chat.js";
import { FAKE_REPLY, startFakeApp, type FakeApp } from "../helpers/fake-models.js";

describe("interactive chat session (scripted model service)", () => {
  let app: FakeApp;
  before(async () => (app = await startFakeApp()));
  after(async () => app.close());

  it("keeps history across turns and ends on /bye", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = "";
    output.on("data", (d: Buffer) => (printed += d.toString()));
    const session = chatInteractively({
      client: new MlxmClient({ baseUrl: app.baseUrl }),
      settings: { model: "m", options: { num_predict: 8 } },
      system: "be brief",
      input,
      output,
    });
    const before = app.models.requests.length;
    input.write("first\n");
    input.write("/?\n");
    input.write("/clera\n");
    input.write("second\n");
    input.write("/bye\n");
    await session;
    const sent = app.models.requests.slice(before) as ChatRequest[];
    expect(sent).to.have.length(2);
    expect(sent[1]!.messages).to.deep.equal([
      { role: "system", content: "be brief" },
      { role: "user", content: "first" },
      { role: "assistant", content: FAKE_REPLY.join("") },
      { role: "user", content: "second" },
    ]);
    expect(sent[1]!.sampling).to.deep.equal({ maxTokens: 8 });
    expect(printed.split(FAKE_REPLY.join("")).length - 1).to.equal(2);
    expect(printed).to.contain("/bye").and.contain("Unknown command '/clera'");
  });

  it("ends on end of input (Ctrl-D)", async () => {
    const input = new PassThrough();
    const session = chatInteractively({ client: new MlxmClient({ baseUrl: app.baseUrl }), settings: { model: "m" }, input, output: new PassThrough() });
    input.end();
    await session;
  });
});
