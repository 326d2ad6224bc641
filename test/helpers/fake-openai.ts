/**
 * A fake OpenAI upstream speaking the real wire format of `/v1/chat/completions` (JSON and SSE, with
 * `stream_options.include_usage`) and `/v1/models`, answering every prompt with a fixed reply and fixed usage.
 */
import { sendJson, sendSse, startFakeServer, type FakeServer } from "./http-server.js";

export const FAKE_OPENAI_REPLY = "Hello from the fake OpenAI upstream.";
export const FAKE_OPENAI_USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

export function startFakeOpenAI(options: { apiKey?: string } = {}): Promise<FakeServer> {
  return startFakeServer((req, res) => {
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: { message: "Incorrect API key provided", type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    }
    const path = req.url.replace(/\?.*$/, "");
    if (req.method === "GET" && path.endsWith("/models")) {
      return sendJson(res, 200, { object: "list", data: [{ id: "gpt-fake", object: "model", created: 1700000000, owned_by: "fake" }] });
    }
    if (req.method !== "POST" || !path.endsWith("/chat/completions")) {
      return sendJson(res, 404, { error: { message: `Unknown request URL: ${req.method} ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" } });
    }
    const body = JSON.parse(req.body || "{}") as { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
    const model = body.model ?? "gpt-fake";
    const id = `chatcmpl-fake${Date.now()}`;
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      return sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: FAKE_OPENAI_REPLY, refusal: null }, logprobs: null, finish_reason: "stop" }],
        usage: FAKE_OPENAI_USAGE,
        system_fingerprint: "fp_fake",
      });
    }
    const chunk = (delta: object, finish: string | null) => ({
      data: { id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] },
    });
    const words = FAKE_OPENAI_REPLY.split(/(?<= )/);
    const events = [chunk({ role: "assistant", content: "", refusal: null }, null), ...words.map((w) => chunk({ content: w }, null)), chunk({}, "stop")];
    if (body.stream_options?.include_usage) {
      events.push({ data: { id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake", choices: [], usage: FAKE_OPENAI_USAGE } as never });
    }
    sendSse(res, events, "data: [DONE]\n\n");
  });
}
