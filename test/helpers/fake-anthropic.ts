/**
 * A fake Anthropic upstream speaking the real Messages API wire format: JSON responses and the SSE event
 * sequence message_start, content_block_start, ping, content_block_delta…, content_block_stop, message_delta,
 * message_stop; a `tool_use` block when the request offers tools; scripted failures with `retry-after`;
 * `/v1/messages/count_tokens`; a stream held open after its first delta (`holdOpen`). A request that marks anything
 * `cache_control` reports prompt-cache usage, as Anthropic does.
 */
import type { FakeStep } from "./fake-openai.js";
import { sendJson, sendSse, startFakeServer, type FakeServer } from "./http-server.js";

export const FAKE_ANTHROPIC_REPLY = "Hello from the fake Anthropic upstream.";
export const FAKE_ANTHROPIC_USAGE = { input_tokens: 13, output_tokens: 9 };
export const FAKE_ANTHROPIC_TOOL_INPUT = { city: "Paris" };
/** Prompt-cache usage for a request with `cache_control`: tokens written to the cache, and read from it. */
export const FAKE_ANTHROPIC_CACHE_USAGE = { cache_creation_input_tokens: 1000, cache_read_input_tokens: 3000 };
/** What `/v1/messages/count_tokens` answers: a count no local tokenizer would give, so a test can tell who counted. */
export const FAKE_ANTHROPIC_COUNT = 4242;

export function startFakeAnthropic(options: { apiKey?: string; script?: FakeStep[] } = {}): Promise<FakeServer> {
  const script = options.script ?? [];
  return startFakeServer((req, res) => {
    // SDK 1.x sends the key as `Authorization: Bearer`; older clients and curl examples use `x-api-key`.
    const key = req.headers["x-api-key"] ?? req.headers.authorization?.replace(/^Bearer /, "");
    if (options.apiKey && key !== options.apiKey) {
      return sendJson(res, 401, { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } });
    }
    const path = req.url.replace(/\?.*$/, "");
    const counting = path.endsWith("/v1/messages/count_tokens");
    if (req.method !== "POST" || !(path.endsWith("/v1/messages") || counting)) {
      return sendJson(res, 404, { type: "error", error: { type: "not_found_error", message: `Not found: ${path}` } });
    }
    const step = script.shift();
    if (step && "status" in step) {
      return sendJson(
        res,
        step.status,
        { type: "error", error: { type: step.status === 429 ? "rate_limit_error" : "overloaded_error", message: step.message ?? `fake upstream error ${step.status}` } },
        step.retryAfter !== undefined ? { "retry-after": step.retryAfter } : {},
      );
    }
    const body = JSON.parse(req.body || "{}") as { model?: string; stream?: boolean; tools?: { name: string }[] };
    if (counting) return sendJson(res, 200, { input_tokens: FAKE_ANTHROPIC_COUNT });
    const model = body.model ?? "claude-fake";
    const id = `msg_fake${Date.now()}`;
    const tool = body.tools?.[0]?.name;
    const usage = { ...FAKE_ANTHROPIC_USAGE, ...(req.body.includes('"cache_control"') ? FAKE_ANTHROPIC_CACHE_USAGE : { cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }) };
    if (!body.stream) {
      return sendJson(res, 200, {
        id,
        type: "message",
        role: "assistant",
        model,
        content: tool
          ? [{ type: "tool_use", id: "toolu_fake1", name: tool, input: FAKE_ANTHROPIC_TOOL_INPUT }]
          : [{ type: "text", text: FAKE_ANTHROPIC_REPLY }],
        stop_reason: tool ? "tool_use" : "end_turn",
        stop_sequence: null,
        usage,
      });
    }
    const json = JSON.stringify(FAKE_ANTHROPIC_TOOL_INPUT);
    const blocks = tool
      ? [
          { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_fake1", name: tool, input: {} } } },
          ...[json.slice(0, 6), json.slice(6)].map((p) => ({ event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: p } } })),
        ]
      : [
          { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
          { event: "ping", data: { type: "ping" } },
          ...FAKE_ANTHROPIC_REPLY.split(/(?<= )/).map((w) => ({ event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: w } } })),
        ];
    const messageStart = {
      event: "message_start",
      data: {
        type: "message_start",
        message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null,
          usage: { ...usage, output_tokens: 1 } },
      },
    };
    if (step && "holdOpen" in step) {
      // The message's start and its first delta, then nothing until the client hangs up.
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const e of [messageStart, blocks[0]!, blocks.find((b) => b.event === "content_block_delta")!]) res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
      res.on("close", step.onClose);
      return;
    }
    sendSse(res, [
      messageStart,
      ...blocks,
      { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
      { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: tool ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: FAKE_ANTHROPIC_USAGE.output_tokens } } },
      { event: "message_stop", data: { type: "message_stop" } },
    ]);
  });
}
