/**
 * A fake OpenAI upstream speaking the real wire format of `/v1/chat/completions` (JSON and SSE, with
 * `stream_options.include_usage`, tool calls), `/v1/embeddings` and `/v1/models`. It answers every prompt with a fixed
 * reply and fixed usage, or with a tool call when the request offers tools; `/v1/completions` (legacy text) too;
 * `script` makes the next requests fail (a status with `retry-after`, a stream cut after its first chunk, or one held
 * open until the client hangs up). Every request is recorded.
 */
import { sendJson, sendSse, startFakeServer, type FakeServer } from "./http-server.js";

export const FAKE_OPENAI_REPLY = "Hello from the fake OpenAI upstream.";
export const FAKE_OPENAI_USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
export const FAKE_OPENAI_TOOL_ARGS = '{"city":"Paris"}';

/** What the next request gets instead of a normal answer. */
export type FakeStep =
  | { status: number; retryAfter?: string; message?: string }
  | { cutAfterFirstChunk: true }
  /** A 200 that is not what was asked for: an HTML page from a wrong base URL, JSON to a stream request. */
  | { wrongAnswer: { contentType: string; body: string } }
  /** Headers and one chunk, then nothing until the client hangs up; `onClose` says when it did. */
  | { holdOpen: true; onClose: () => void };

export interface FakeOpenAIOptions {
  apiKey?: string;
  /** Consumed one per chat request, front first; when empty, requests succeed. */
  script?: FakeStep[];
}

export function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeServer> {
  const script = options.script ?? [];
  return startFakeServer((req, res) => {
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      // As OpenAI answers: the wrong key echoed, masked but for its first and last characters.
      const sent = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
      const message = `Incorrect API key provided: ${sent.slice(0, 8)}${"*".repeat(Math.max(0, sent.length - 12))}${sent.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`;
      return sendJson(res, 401, { error: { message, type: "invalid_request_error", param: null, code: "invalid_api_key" } });
    }
    const path = req.url.replace(/\?.*$/, "");
    if (req.method === "GET" && path.endsWith("/models")) {
      return sendJson(res, 200, { object: "list", data: [{ id: "gpt-fake", object: "model", created: 1700000000, owned_by: "fake" }] });
    }
    if (req.method === "POST" && path.endsWith("/embeddings")) {
      const body = JSON.parse(req.body || "{}") as { input: string | string[]; model: string };
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return sendJson(res, 200, {
        object: "list",
        data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.25, -0.5, index] })),
        model: body.model,
        usage: { prompt_tokens: 3 * inputs.length, total_tokens: 3 * inputs.length },
      });
    }
    if (req.method === "POST" && path.endsWith("/v1/completions")) return sendTextCompletion(req.body, res);
    if (req.method !== "POST" || !path.endsWith("/chat/completions")) {
      return sendJson(res, 404, { error: { message: `Unknown request URL: ${req.method} ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" } });
    }
    const step = script.shift();
    if (step && "wrongAnswer" in step) {
      res.writeHead(200, { "content-type": step.wrongAnswer.contentType });
      res.end(step.wrongAnswer.body);
      return;
    }
    if (step && "status" in step) {
      return sendJson(
        res,
        step.status,
        { error: { message: step.message ?? `fake upstream error ${step.status}`, type: step.status === 429 ? "rate_limit_error" : "server_error", param: null, code: null } },
        step.retryAfter !== undefined ? { "retry-after": step.retryAfter } : {},
      );
    }
    const body = JSON.parse(req.body || "{}") as { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean }; tools?: { function: { name: string } }[] };
    const model = body.model ?? "gpt-fake";
    const id = `chatcmpl-fake${Date.now()}`;
    const created = Math.floor(Date.now() / 1000);
    const tool = body.tools?.[0]?.function.name;
    if (!body.stream) {
      const message = tool
        ? { role: "assistant", content: null, refusal: null, tool_calls: [{ id: "call_fake1", type: "function", function: { name: tool, arguments: FAKE_OPENAI_TOOL_ARGS } }] }
        : { role: "assistant", content: FAKE_OPENAI_REPLY, refusal: null };
      return sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: tool ? "tool_calls" : "stop" }],
        usage: FAKE_OPENAI_USAGE,
        system_fingerprint: "fp_fake",
      });
    }
    // As OpenAI does: once usage is asked for, every chunk carries `"usage":null` until the usage chunk.
    const usageNull = body.stream_options?.include_usage ? { usage: null } : {};
    const chunk = (delta: object, finish: string | null) => ({
      data: { id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...usageNull },
    });
    const events = tool
      ? [
          chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_fake1", type: "function", function: { name: tool, arguments: "" } }] }, null),
          ...[FAKE_OPENAI_TOOL_ARGS.slice(0, 8), FAKE_OPENAI_TOOL_ARGS.slice(8)].map((a) => chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] }, null)),
          chunk({}, "tool_calls"),
        ]
      : [chunk({ role: "assistant", content: "", refusal: null }, null), ...FAKE_OPENAI_REPLY.split(/(?<= )/).map((w) => chunk({ content: w }, null)), chunk({}, "stop")];
    if (step && "holdOpen" in step) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify(events[1]!.data)}\n\n`);
      res.on("close", step.onClose);
      return;
    }
    if (step && "cutAfterFirstChunk" in step) {
      // Headers and one content chunk, then the connection dies: the client has seen bytes.
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify(events[1]!.data)}\n\n`, () => res.socket?.end());
      return;
    }
    if (body.stream_options?.include_usage) {
      events.push({ data: { id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_fake", choices: [], usage: FAKE_OPENAI_USAGE } as never });
    }
    sendSse(res, events, "data: [DONE]\n\n");
  });
}

/** Legacy `/v1/completions`: the reply as text, JSON or SSE (with the usage chunk when asked). */
function sendTextCompletion(raw: string, res: Parameters<typeof sendJson>[0]): void {
  const body = JSON.parse(raw || "{}") as { model?: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
  const base = { id: `cmpl-fake${Date.now()}`, object: "text_completion", created: Math.floor(Date.now() / 1000), model: body.model ?? "gpt-fake" };
  if (!body.stream) {
    return sendJson(res, 200, { ...base, choices: [{ index: 0, text: FAKE_OPENAI_REPLY, logprobs: null, finish_reason: "stop" }], usage: FAKE_OPENAI_USAGE });
  }
  const events = [
    ...FAKE_OPENAI_REPLY.split(/(?<= )/).map((w) => ({ data: { ...base, choices: [{ index: 0, text: w, logprobs: null, finish_reason: null }] } })),
    { data: { ...base, choices: [{ index: 0, text: "", logprobs: null, finish_reason: "stop" }] } },
    ...(body.stream_options?.include_usage ? [{ data: { ...base, choices: [], usage: FAKE_OPENAI_USAGE } }] : []),
  ];
  sendSse(res, events, "data: [DONE]\n\n");
}
