/**
 * The Responses API request translator on its own: a `/v1/responses` body → the core request and the fields the
 * response repeats, input items → core messages, and every refusal naming its parameter. Exact deep-equal throughout.
 */
import { expect } from "chai";
import { fromResponsesRequest } from "../../src/daemon/compat/openai-responses.js";
import { HttpError } from "../../src/daemon/errors.js";
import { PDF, PDF_PART, PNG_PART, URL_IMAGE_PART, pngDataUrl } from "../helpers/images.js";

const base = { model: "m", input: "hi" };
const weather = { type: "function", name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: true };

function refused(body: unknown): [string, string | undefined, number] {
  try {
    fromResponsesRequest(body);
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    const e = err as HttpError;
    return [e.message, e.param, e.status];
  }
  throw new Error("expected a 400");
}

describe("compat: OpenAI Responses requests", () => {
  it("takes a string input as one user message and repeats OpenAI's defaults", () => {
    const { request, stream, echo } = fromResponsesRequest(base);
    expect(stream).to.equal(false);
    expect(request).to.deep.equal({ model: "m", messages: [{ role: "user", content: "hi" }], messagesParam: "input", sampling: {} });
    expect(echo).to.deep.equal({
      instructions: null,
      max_output_tokens: null,
      metadata: {},
      parallel_tool_calls: true,
      reasoning: { effort: null, summary: null },
      temperature: null,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: [],
      top_p: null,
      truncation: "disabled",
    });
  });

  it("takes input_image (URL or data: URL, detail kept) and PDF input_file parts in user messages and function call outputs", () => {
    const call = { type: "function_call", call_id: "c", name: "shot", arguments: "{}" };
    const { request } = fromResponsesRequest({
      model: "m",
      input: [
        { role: "user", content: [{ type: "input_text", text: "see" }, { type: "input_image", image_url: pngDataUrl, detail: "auto" }, { type: "input_file", file_data: `data:application/pdf;base64,${PDF}`, filename: "a.pdf" }] },
        call,
        { type: "function_call_output", call_id: "c", output: [{ type: "input_image", image_url: "https://x/a.jpg", detail: "original" }] },
      ],
    });
    expect(request.messages).to.deep.equal([
      {
        role: "user",
        content: "see",
        parts: [
          { type: "text", text: "see" },
          { ...PNG_PART, detail: "auto" },
          PDF_PART,
        ],
      },
      { role: "assistant", content: "", toolCalls: [{ id: "c", name: "shot", arguments: "{}" }] },
      { role: "tool", content: "", parts: [{ ...URL_IMAGE_PART, detail: "high" }], toolCallId: "c", name: "shot" },
    ]);
  });

  it("translates instructions, message items, function calls and their outputs, dropping reasoning", () => {
    const { request } = fromResponsesRequest({
      model: "m",
      instructions: "Be brief.",
      input: [
        { role: "developer", content: "Use tools." },
        { type: "message", role: "user", content: [{ type: "input_text", text: "Weather" }, { type: "input_text", text: "in Paris?" }] },
        { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: "hmm" }] },
        {
          type: "message",
          id: "msg_1",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "Checking.", annotations: [], logprobs: [] }, { type: "refusal", refusal: "no" }],
        },
        { type: "function_call", id: "fc_1", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" },
        { type: "function_call", call_id: "call_2", name: "get_time", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
        { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "noon" }] },
        { type: "function_call", call_id: "call_3", name: "get_weather", arguments: '{"city":"Oslo"}' },
        { type: "function_call_output", call_id: "call_3", output: "snow" },
        { role: "user", content: "Thanks" },
      ],
    });
    expect(request.messages).to.deep.equal([
      { role: "system", content: "Be brief." },
      { role: "system", content: "Use tools." },
      { role: "user", content: "Weather\nin Paris?" },
      {
        role: "assistant",
        content: "Checking.",
        toolCalls: [
          { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
          { id: "call_2", name: "get_time", arguments: "{}" },
        ],
      },
      { role: "tool", content: "sunny", toolCallId: "call_1", name: "get_weather" },
      { role: "tool", content: "noon", toolCallId: "call_2", name: "get_time" },
      { role: "assistant", content: "", toolCalls: [{ id: "call_3", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
      { role: "tool", content: "snow", toolCallId: "call_3", name: "get_weather" },
      { role: "user", content: "Thanks" },
    ]);
  });

  it("translates tools, tool_choice, sampling, text.format and reasoning, and repeats them", () => {
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };
    const { request, stream, echo } = fromResponsesRequest({
      ...base,
      tools: [weather, { type: "function", name: "noop", parameters: null, strict: null }],
      tool_choice: { type: "function", name: "get_weather" },
      parallel_tool_calls: false,
      max_output_tokens: 32,
      temperature: 0.5,
      top_p: 0.9,
      text: { format: { type: "json_schema", name: "answer", schema, strict: true } },
      reasoning: { effort: "low", summary: "auto" },
      stream: true,
      stream_options: { include_obfuscation: false },
      store: true,
      metadata: { k: "v" },
      user: "u",
      safety_identifier: "s",
      prompt_cache_key: "c",
      service_tier: "auto",
      truncation: "disabled",
      include: ["reasoning.encrypted_content"],
      background: false,
    });
    expect(stream).to.equal(true);
    expect(request).to.deep.equal({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      messagesParam: "input",
      sampling: { temperature: 0.5, topP: 0.9, maxTokens: 32 },
      tools: [
        { name: "get_weather", description: "Weather by city", parameters: weather.parameters, parametersPath: "tools[0].parameters", strict: true },
        { name: "noop", parameters: { type: "object", properties: {} }, parametersPath: "tools[1].parameters", strict: true },
      ],
      toolChoice: { type: "tool", name: "get_weather" },
      parallelToolCalls: false,
      responseFormat: { type: "json_schema", name: "answer", schema, strict: true, param: "text.format.schema" },
      reasoning: { enabled: true, param: "reasoning.effort", hint: true, effort: "low" },
    });
    expect(echo).to.deep.equal({
      instructions: null,
      max_output_tokens: 32,
      metadata: { k: "v" },
      parallel_tool_calls: false,
      reasoning: { effort: "low", summary: "auto" },
      temperature: 0.5,
      text: { format: { type: "json_schema", name: "answer", schema, strict: true } },
      tool_choice: { type: "function", name: "get_weather" },
      tools: [
        { type: "function", name: "get_weather", description: "Weather by city", parameters: weather.parameters, strict: true },
        { type: "function", name: "noop", description: null, parameters: null, strict: null },
      ],
      top_p: 0.9,
      truncation: "disabled",
    });
  });

  it("maps tool_choice strings, json_object and reasoning effort none", () => {
    const choice = (tool_choice: unknown, tools: unknown[] = [weather]) => fromResponsesRequest({ ...base, tools, tool_choice }).request.toolChoice;
    expect(choice(undefined)).to.deep.equal({ type: "auto" });
    expect(choice("required")).to.deep.equal({ type: "required" });
    expect(choice("none")).to.deep.equal({ type: "none" });
    expect(choice("auto", [])).to.equal(undefined);
    expect(fromResponsesRequest({ ...base, text: { format: { type: "json_object" } } }).request.responseFormat).to.deep.equal({ type: "json_object" });
    expect(fromResponsesRequest({ ...base, text: { format: { type: "text" } } }).request.responseFormat).to.equal(undefined);
    expect(fromResponsesRequest({ ...base, reasoning: { effort: "none" } }).request.reasoning).to.deep.equal({ enabled: false, param: "reasoning.effort", hint: true });
    expect(fromResponsesRequest({ ...base, reasoning: { summary: "auto" } }).request.reasoning).to.equal(undefined);
  });

  it("accepts the hints and defaults clients send on their own: text.verbosity, top_logprobs 0, max_tool_calls", () => {
    // The Agents SDK and Codex send `text.verbosity` for every gpt-5 name; it is repeated, and changes nothing here.
    const verbose = fromResponsesRequest({ ...base, text: { format: { type: "text" }, verbosity: "low" }, top_logprobs: 0 });
    expect(verbose.echo.text).to.deep.equal({ format: { type: "text" }, verbosity: "low" });
    expect(verbose.request.responseFormat).to.equal(undefined);
    // One call in all is one call per turn; a larger cap leaves a turn's calls as they are.
    expect(fromResponsesRequest({ ...base, tools: [weather], max_tool_calls: 1 }).request.parallelToolCalls).to.equal(false);
    expect(fromResponsesRequest({ ...base, tools: [weather], max_tool_calls: 3 }).request.parallelToolCalls).to.equal(undefined);
  });

  it("refuses what mlxm cannot honour, naming the parameter", () => {
    const param = (body: Record<string, unknown>) => refused({ ...base, ...body }).slice(1);
    expect(refused({ ...base, previous_response_id: "resp_1" })).to.deep.equal([
      "previous_response_id is not supported: mlxm does not store responses: send the whole conversation in `input`",
      "previous_response_id",
      400,
    ]);
    expect(param({ conversation: "conv_1" })).to.deep.equal(["conversation", 400]);
    expect(param({ background: true })).to.deep.equal(["background", 400]);
    expect(param({ prompt: { id: "pmpt_1" } })).to.deep.equal(["prompt", 400]);
    expect(param({ top_logprobs: 2 })).to.deep.equal(["top_logprobs", 400]);
    expect(param({ truncation: "auto" })).to.deep.equal(["truncation", 400]);
    expect(param({ include: ["reasoning.encrypted_content", "message.output_text.logprobs"] })).to.deep.equal(["include[1]", 400]);
    expect(param({ text: { verbosity: "loud" } })).to.deep.equal(["text.verbosity", 400]);
    expect(param({ max_tool_calls: 0 })).to.deep.equal(["max_tool_calls", 400]);
    expect(param({ frequency_penalty: 1 })).to.deep.equal(["frequency_penalty", 400]);
    expect(param({ reasoning: { effort: "high", mode: "pro" } })).to.deep.equal(["reasoning.mode", 400]);
    expect(param({ input: [] })).to.deep.equal(["input", 400]);
    expect(param({ model: "" })).to.deep.equal(["model", 400]);
  });

  it("refuses built-in tools and tool choices, and function tools it cannot honour", () => {
    const param = (body: Record<string, unknown>) => refused({ ...base, ...body }).slice(1, 2)[0];
    for (const type of ["web_search", "file_search", "computer_use_preview", "code_interpreter", "mcp", "custom", "image_generation", "local_shell"]) {
      expect(refused({ ...base, tools: [weather, { type }] })).to.deep.equal([
        `tools of type "${type}" are not supported: mlxm runs no built-in tools itself; define function tools`,
        "tools[1].type",
        400,
      ]);
    }
    expect(param({ tools: [{ ...weather, defer_loading: true }] })).to.equal("tools[0].defer_loading");
    expect(param({ tools: [{ ...weather, output_schema: {} }] })).to.equal("tools[0].output_schema");
    expect(param({ tools: [{ ...weather, name: "has space" }] })).to.equal("tools[0].name");
    expect(param({ tools: [{ ...weather, extra: 1 }] })).to.equal("tools[0].extra");
    expect(param({ tools: [weather], tool_choice: { type: "web_search_preview" } })).to.equal("tool_choice.type");
    expect(param({ tools: [weather], tool_choice: { type: "allowed_tools", mode: "auto", tools: [] } })).to.equal("tool_choice.type");
    expect(param({ tools: [weather], tool_choice: { type: "function", name: "other" } })).to.equal("tool_choice.name");
    expect(param({ tool_choice: "required" })).to.equal("tool_choice");
    expect(param({ text: { format: { type: "json_schema", name: "a" } } })).to.equal("text.format.schema");
  });

  it("refuses input items and parts it cannot take, naming where they are", () => {
    const at = (input: unknown[]) => refused({ ...base, input }).slice(0, 2);
    expect(at([{ type: "item_reference", id: "msg_1" }])).to.deep.equal([
      "item references are not supported: mlxm does not store responses; send the items themselves (clients that send references when `store` is true, such as the Vercel AI SDK, need `store: false`)",
      "input[0].type",
    ]);
    expect(at([{ role: "user", content: "a" }, { type: "web_search_call", id: "ws_1" }])[1]).to.equal("input[1].type");
    expect(at([{ role: "user", content: [{ type: "input_text", text: "a" }, { type: "input_image", image_url: "x" }] }])).to.deep.equal([
      "an image URL must be an http(s) URL or a base64 data: URL",
      "input[0].content[1].image_url",
    ]);
    expect(at([{ role: "user", content: [{ type: "input_image", file_id: "file-1", detail: "auto" }] }])).to.deep.equal([
      "file_id is not supported: mlxm keeps no uploaded files; send the bytes as a base64 data: URL",
      "input[0].content[0].file_id",
    ]);
    expect(at([{ role: "user", content: [{ type: "input_file", file_id: "f" }] }])[1]).to.equal("input[0].content[0].file_id");
    expect(at([{ role: "system", content: [{ type: "input_image", image_url: "https://x/a.png" }] }])[1]).to.equal("input[0].content[0].type");
    expect(at([{ role: "user", content: [{ type: "input_text" }] }])[1]).to.equal("input[0].content[0].text");
    expect(at([{ role: "tool", content: "x" }])[1]).to.equal("input[0].role");
    expect(at([{ type: "function_call", name: "f", arguments: "{}" }])[1]).to.equal("input[0].call_id");
    const call = { type: "function_call", call_id: "c", name: "f", arguments: "{}" };
    expect(at([call, { type: "function_call_output", call_id: "c", output: [{ type: "input_image" }] }])[1]).to.equal("input[1].output[0].image_url");
    // An output must answer a call made before it in `input`, as OpenAI answers.
    expect(at([{ role: "user", content: "a" }, { type: "function_call_output", call_id: "c", output: "x" }])).to.deep.equal([
      "No tool call found for function call output with call_id c.",
      "input[1].call_id",
    ]);
    expect(at([call, { type: "function_call_output", call_id: "d", output: "x" }])[1]).to.equal("input[1].call_id");
    expect(at([{ type: "function_call_output", call_id: "c", output: "x" }, call])[1]).to.equal("input[0].call_id");
    // And a call must have its output, as OpenAI answers (the model would otherwise answer as if the tool never ran).
    expect(at([{ role: "user", content: "a" }, call])).to.deep.equal(["No tool output found for function call c.", "input[1]"]);
    expect(at([{ content: "no role or type" }])[1]).to.equal("input[0].type");
    expect(at(["text"])[1]).to.equal("input[0]");
  });
});
