/**
 * Claude Code's kind of tool list (the shapes its built-in tools declare: draft-07 `$schema`, `additionalProperties:
 * false`, enums, dashed property names, nested arrays of objects, `format: "uri"` on WebFetch's url) through the
 * official @anthropic-ai/sdk against a real daemon and a local model: every request Claude Code would send is served,
 * counted and, when forced, answered with input its schema accepts.
 */
import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import { compileValidator } from "../../src/daemon/engine/grammar/schema-validator.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

const DRAFT_07 = "http://json-schema.org/draft-07/schema#";
const object = (properties: Record<string, unknown>, required: string[]) => ({ type: "object" as const, properties, required, additionalProperties: false, $schema: DRAFT_07 });

const tools: Anthropic.Tool[] = [
  { name: "Bash", description: "Run a command", input_schema: object({ command: { type: "string" }, timeout: { type: "number" }, run_in_background: { type: "boolean" } }, ["command"]) },
  {
    name: "Grep",
    description: "Search files",
    input_schema: object({ pattern: { type: "string" }, output_mode: { type: "string", enum: ["content", "files_with_matches", "count"] }, "-A": { type: "number" }, "-i": { type: "boolean" } }, ["pattern"]),
  },
  {
    name: "TodoWrite",
    description: "Track tasks",
    input_schema: object(
      {
        todos: {
          type: "array",
          items: { type: "object", properties: { content: { type: "string", minLength: 1 }, status: { type: "string", enum: ["pending", "in_progress", "completed"] } }, required: ["content", "status"], additionalProperties: false },
        },
      },
      ["todos"],
    ),
  },
  { name: "WebFetch", description: "Fetch a URL", input_schema: object({ url: { type: "string", format: "uri" }, prompt: { type: "string" } }, ["url", "prompt"]) },
];

describe("Anthropic API with Claude Code's kind of tool list (local model)", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let anthropic: Anthropic;

  before(async () => {
    d = await startTestDaemon();
    anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => d?.stop());

  it("serves and counts a request offering every tool, as Claude Code sends it (no tool_choice)", async () => {
    const params = { model: "mlxm-tiny", tools, system: [{ type: "text" as const, text: "You are a coding agent.", cache_control: { type: "ephemeral" as const } }], messages: [{ role: "user" as const, content: "hi" }] };
    const m = await anthropic.beta.messages.create({ ...params, max_tokens: 4, betas: ["claude-code-20250219"] });
    expect(m.type).to.equal("message");
    const { input_tokens } = await anthropic.beta.messages.countTokens(params);
    expect(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0)).to.equal(input_tokens);
  });

  it("forces WebFetch and streams a url that begins as a URI must, whole or cut short", async () => {
    const webFetch = { ...tools[3]!, input_schema: object({ url: { type: "string", format: "uri" } }, ["url"]) };
    const stream = anthropic.messages.stream({ model: "mlxm-tiny", max_tokens: 150, tools: [webFetch], tool_choice: { type: "tool", name: "WebFetch" }, messages: [{ role: "user", content: "fetch it" }] });
    let json = "";
    stream.on("inputJson", (delta) => (json += delta));
    const m = await stream.finalMessage();
    // The scheme is at most 16 characters, so even a random model cut short by max_tokens has written `scheme://h`.
    expect(json).to.match(/^\{ ?"url" ?: ?"[a-z][a-z0-9+.-]{0,15}:\/\/[a-zA-Z0-9]/);
    if (m.stop_reason === "tool_use") expect(compileValidator(webFetch.input_schema)(JSON.parse(json)).valid).to.equal(true);
  });
});
