/**
 * tool_result blocks that answer no tool_use, and tool_use blocks left without a tool_result, through the official
 * @anthropic-ai/sdk against a real daemon: Anthropic answers both with a 400 naming the ids, and so must mlxm for a
 * local model and for a translated OpenAI route (whose upstream would otherwise get a `tool` message answering no
 * call, or a call never answered), before any upstream call.
 */
import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startFakeOpenAI } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";

const tools: Anthropic.Tool[] = [{ name: "Bash", input_schema: { type: "object", properties: { command: { type: "string" } } } }];

/** A conversation whose last turn answers `resultId` after the assistant called `toolu_01`. */
const conversation = (resultId: string): Anthropic.MessageParam[] => [
  { role: "user", content: "list files" },
  { role: "assistant", content: [{ type: "tool_use", id: "toolu_01", name: "Bash", input: { command: "ls" } }] },
  { role: "user", content: [{ type: "tool_result", tool_use_id: resultId, content: "a\nb" }] },
];

describe("Anthropic API: tool_use and tool_result blocks must pair up", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let upstream: FakeServer;
  let anthropic: Anthropic;

  before(async () => {
    upstream = await startFakeOpenAI();
    d = await startTestDaemon();
    await d.admin.addRoute({ pattern: "gpt-*", provider: "openai-compatible", base_url: `${upstream.url}/v1` });
    anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await d?.stop();
    await upstream?.close();
  });

  for (const model of ["mlxm-tiny", "gpt-4o"]) {
    it(`answers an unknown tool_use_id with Anthropic's 400, before any upstream call (${model})`, async () => {
      const sent = upstream.requests.length;
      const unknown = await anthropic.messages.create({ model, max_tokens: 4, tools, messages: conversation("toolu_XX") }).catch((e: unknown) => e);
      expect(unknown).to.be.instanceOf(Anthropic.BadRequestError);
      const error = (unknown as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { type: string; message: string } };
      expect(error.error.type).to.equal("invalid_request_error");
      expect(error.error.message).to.equal(
        "messages[2].content[0].tool_use_id: unexpected `tool_use_id` found in `tool_result` blocks: toolu_XX. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
      );
      // A result before any call, and one answering a call two turns back, are as orphaned.
      const first = await anthropic.messages
        .create({ model, max_tokens: 4, messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "x" }] }] })
        .catch((e: unknown) => e);
      expect(first).to.be.instanceOf(Anthropic.BadRequestError);
      const stale = await anthropic.messages
        .create({ model, max_tokens: 4, tools, messages: [...conversation("toolu_01"), { role: "assistant", content: "done" }, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "again" }] }] })
        .catch((e: unknown) => e);
      expect(stale).to.be.instanceOf(Anthropic.BadRequestError);
      expect(upstream.requests.length).to.equal(sent);

      const answered = await anthropic.messages.create({ model, max_tokens: 4, tools, messages: conversation("toolu_01") });
      expect(answered.type).to.equal("message");
    });
  }

  for (const model of ["mlxm-tiny", "gpt-4o"]) {
    it(`answers a tool_use left without a tool_result with Anthropic's 400, before any upstream call (${model})`, async () => {
      const sent = upstream.requests.length;
      const unanswered = await anthropic.messages
        .create({ model, max_tokens: 4, tools, messages: [...conversation("toolu_01").slice(0, 2), { role: "user", content: "never mind" }] })
        .catch((e: unknown) => e);
      expect(unanswered).to.be.instanceOf(Anthropic.BadRequestError);
      expect(((unanswered as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { message: string } }).error.message).to.equal(
        "messages[1]: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
      );
      expect(upstream.requests.length).to.equal(sent);
    });
  }

  it("refuses the same orphaned result when counting tokens", async () => {
    const counted = await anthropic.messages.countTokens({ model: "mlxm-tiny", tools, messages: conversation("toolu_XX") }).catch((e: unknown) => e);
    expect(counted).to.be.instanceOf(Anthropic.BadRequestError);
  });
});
