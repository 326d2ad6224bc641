/**
 * A fake Anthropic upstream speaking the real Messages API wire format: JSON responses and the SSE event
 * sequence message_start, content_block_start, ping, content_block_delta…, content_block_stop, message_delta,
 * message_stop.
 */
import { sendJson, sendSse, startFakeServer, type FakeServer } from "./http-server.js";

export const FAKE_ANTHROPIC_REPLY = "Hello from the fake Anthropic upstream.";
export const FAKE_ANTHROPIC_USAGE = { input_tokens: 13, output_tokens: 9 };

export function startFakeAnthropic(options: { apiKey?: string } = {}): Promise<FakeServer> {
  return startFakeServer((req, res) => {
    // SDK 1.x sends the key as `Authorization: Bearer`; older clients and curl examples use `x-api-key`.
    const key = req.headers["x-api-key"] ?? req.headers.authorization?.replace(/^Bearer /, "");
    if (options.apiKey && key !== options.apiKey) {
      return sendJson(res, 401, { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } });
    }
    const path = req.url.replace(/\?.*$/, "");
    if (req.method !== "POST" || !path.endsWith("/v1/messages")) {
      return sendJson(res, 404, { type: "error", error: { type: "not_found_error", message: `Not found: ${path}` } });
    }
    const body = JSON.parse(req.body || "{}") as { model?: string; stream?: boolean };
    const model = body.model ?? "claude-fake";
    const id = `msg_fake${Date.now()}`;
    if (!body.stream) {
      return sendJson(res, 200, {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text: FAKE_ANTHROPIC_REPLY }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { ...FAKE_ANTHROPIC_USAGE, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    }
    const words = FAKE_ANTHROPIC_REPLY.split(/(?<= )/);
    sendSse(res, [
      {
        event: "message_start",
        data: {
          type: "message_start",
          message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null,
            usage: { input_tokens: FAKE_ANTHROPIC_USAGE.input_tokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
        },
      },
      { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
      { event: "ping", data: { type: "ping" } },
      ...words.map((w) => ({ event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: w } } })),
      { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
      { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: FAKE_ANTHROPIC_USAGE.output_tokens } } },
      { event: "message_stop", data: { type: "message_stop" } },
    ]);
  });
}
