/**
 * The pass-through's pure parts: the body sent upstream, and the OpenAI and Anthropic rewriters that relay events
 * unchanged but for `model` (and usage the caller did not ask for) while reporting usage, finish reasons and the first
 * output. Deep-equal on frames, as the wire carries them.
 */
import { expect } from "chai";
import { AnthropicForwardRewriter } from "../../src/daemon/routing/forward-anthropic.js";
import type { WireCall } from "../../src/daemon/routing/forward-call.js";
import { forwards } from "../../src/daemon/routing/forward-call.js";
import type { UsageSink } from "../../src/daemon/routing/forward-meter.js";
import { OpenAIForwardRewriter } from "../../src/daemon/routing/forward-openai.js";
import { sseFrame } from "../../src/daemon/routing/forward-sse.js";
import { upstreamBody } from "../../src/daemon/routing/forward-transport.js";

class Sink implements UsageSink {
  outputs = 0;
  usageSeen: [number | undefined, number | undefined, number | undefined, number | undefined][] = [];
  finish: string[] = [];
  models: string[] = [];
  errors: string[] = [];
  output() {
    this.outputs++;
  }
  usage(i: number | undefined, o: number | undefined, c?: number, w?: number) {
    this.usageSeen.push([i, o, c, w]);
  }
  finishReason(r: string) {
    this.finish.push(r);
  }
  responseModel(m: string) {
    this.models.push(m);
  }
  failed(m: string) {
    this.errors.push(m);
  }
}

const ev = (data: unknown, event?: string) => ({ data: typeof data === "string" ? data : JSON.stringify(data), event, id: undefined });
const noScrub = (t: string) => t;

describe("routing: pass-through", () => {
  const call: WireCall = { api: "openai", endpoint: "chat/completions", body: { model: "mine", messages: [], stream: true, logprobs: true }, model: "mine", stream: true, includeUsage: false };

  it("sends the caller's body with the upstream model, asking for usage on OpenAI streams only", () => {
    expect(upstreamBody(call, "up")).to.deep.equal({ model: "up", messages: [], stream: true, logprobs: true, stream_options: { include_usage: true } });
    expect(upstreamBody({ ...call, stream: false, body: { model: "mine", messages: [] } }, "up")).to.deep.equal({ model: "up", messages: [] });
    expect(upstreamBody({ ...call, api: "anthropic", endpoint: "messages", body: { model: "mine", max_tokens: 5 } }, "up")).to.deep.equal({ model: "up", max_tokens: 5 });
    expect(call.body.model, "the caller's body is not modified").to.equal("mine");
  });

  it("forwards only to upstreams that speak the caller's protocol", () => {
    expect(["openai", "openai-compatible", "mlxm", "anthropic"].map((p) => forwards({ api: "openai", endpoint: "chat/completions" }, p as never))).to.deep.equal([true, true, true, false]);
    expect(["openai", "anthropic"].map((p) => forwards({ api: "anthropic", endpoint: "messages" }, p as never))).to.deep.equal([false, true]);
  });

  it("relays OpenAI chunks with the caller's model, strips usage it added, and reports what went by", () => {
    const sink = new Sink();
    const r = new OpenAIForwardRewriter("mine", true, sink, noScrub);
    const base = { id: "c1", object: "chat.completion.chunk", created: 1, model: "up-2025" };
    const role = { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }], usage: null };
    const text = { ...base, choices: [{ index: 0, delta: { content: "Hi" }, logprobs: { content: [] }, finish_reason: null }], usage: null };
    const stop = { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: null };
    const usage = { ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 3 } } };
    const strip = (o: Record<string, unknown>) => {
      const { usage: _u, ...rest } = o;
      return { ...rest, model: "mine" };
    };
    expect(r.frame(ev(role))).to.equal(sseFrame({}, JSON.stringify(strip(role))));
    expect(sink.outputs, "the role chunk is not output").to.equal(0);
    expect(r.frame(ev(text))).to.equal(sseFrame({}, JSON.stringify(strip(text))));
    expect(r.frame(ev(stop))).to.equal(sseFrame({}, JSON.stringify(strip(stop))));
    expect(r.frame(ev(usage))).to.equal("");
    expect(r.frame(ev("[DONE]"))).to.equal("data: [DONE]\n\n");
    expect(sink).to.deep.include({ outputs: 1, finish: ["stop"], usageSeen: [[5, 2, 3, undefined]] });
    expect(sink.models[0]).to.equal("up-2025");
  });

  it("relays an OpenAI chunk byte for byte when nothing needs rewriting, and scrubs in-band errors", () => {
    const sink = new Sink();
    const r = new OpenAIForwardRewriter("same", false, sink, (t) => t.split("sk-secret").join("[redacted]"));
    const data = '{"id":"x","model":"same","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"extra":{"keep":true}}';
    expect(r.frame(ev(data))).to.equal(`data: ${data}\n\n`);
    expect(r.frame(ev({ error: { message: "bad key sk-secret" } }))).to.equal(`data: ${JSON.stringify({ error: { message: "bad key [redacted]" } })}\n\n`);
    expect(sink.errors).to.deep.equal(["bad key [redacted]"]);
  });

  it("rewrites ordinary chunks at string level exactly as parsing would, and parses whatever it can't rule out", () => {
    const sink = new Sink();
    const r = new OpenAIForwardRewriter("mine", true, sink, noScrub);
    const base = { id: "c1", object: "chat.completion.chunk", created: 1, model: "up" };
    const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ...base, choices: [{ index: 0, finish_reason: null, ...choice }], ...extra });
    // What the slow path gives: parsed, renamed, the usage the caller did not ask for removed, re-serialised.
    const renamed = (o: Record<string, unknown>) => {
      const { usage: _u, ...rest } = o;
      return sseFrame({}, JSON.stringify({ ...rest, model: "mine" }));
    };
    const sequence = [
      chunk({ delta: { role: "assistant", content: "" } }),
      chunk({ delta: { content: "Hi" } }),
      // Text that mentions the keys the check looks for is escaped inside a JSON string: still fast, still exact.
      chunk({ delta: { content: 'say "usage" and "model":"x", "finish_reason":"stop" \\"' } }),
      // OpenAI's `"usage":null` in every chunk once usage is requested: cut out at string level, wherever it stands.
      chunk({ delta: { content: "u" } }, { usage: null }),
      chunk({ delta: { content: "v" } }, { usage: null, obfuscation: "a]b}" }),
      chunk({ delta: { content: "!" } }, { created: 2 }),
      chunk({ delta: { tool_calls: [{ index: 0, function: { arguments: "{}" } }] } }),
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }, { index: 1, delta: {}, finish_reason: null }] },
    ];
    for (const c of sequence) expect(r.frame(ev(c))).to.equal(renamed(c));
    expect(sink).to.deep.include({ outputs: 1, finish: ["tool_calls"] });
    // Parsed (each parse reports the model): the role chunk, the first output, the changed head, the finish reason.
    expect(sink.models, "the text and tool-call chunks went the string way").to.have.length(4);
    // A `"usage":null` that is not a top-level member is left to the parser, which keeps it.
    const inner = chunk({ delta: { content: "w", usage: null } });
    expect(r.frame(ev(inner))).to.equal(renamed(inner));
    expect(sink.models).to.have.length(5);
    // A different head (another id, members in another order, a nested object first) is parsed, and renamed right.
    const nested = { meta: { model: "up" }, ...base, choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }] };
    expect(r.frame(ev(nested))).to.equal(renamed(nested));
    // A usage chunk the caller did not ask for is still dropped; an error is still reported.
    expect(r.frame(ev({ ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } }))).to.equal("");
    expect(sink.usageSeen).to.deep.equal([[1, 2, undefined, undefined]]);
    r.frame(ev({ ...base, error: { message: "boom" } }));
    expect(sink.errors).to.deep.equal(["boom"]);
  });

  it("relays ordinary chunks untouched when the names agree", () => {
    const r = new OpenAIForwardRewriter("same", false, new Sink(), noScrub);
    const data = ['{"id":"x","created":1,"model":"same","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}', '{"id":"x","created":1,"model":"same","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null}]}'];
    for (const d of data) expect(r.frame(ev(d))).to.equal(`data: ${d}\n\n`);
    // Usage the caller asked for passes untouched: null in every chunk.
    const asked = new OpenAIForwardRewriter("same", false, new Sink(), noScrub);
    const withUsage = data.map((d) => d.replace(/}$/, ',"usage":null}'));
    for (const d of withUsage) expect(asked.frame(ev(d))).to.equal(`data: ${d}\n\n`);
  });

  it("renames the model of a non-streamed OpenAI answer and reads its usage", () => {
    const sink = new Sink();
    const body = new OpenAIForwardRewriter("mine", false, sink, noScrub).body({ model: "up", choices: [{ index: 0, finish_reason: "length", message: {} }], usage: { prompt_tokens: 1, completion_tokens: 2 } });
    expect(body).to.deep.include({ model: "mine" });
    expect(sink).to.deep.include({ finish: ["length"], usageSeen: [[1, 2, undefined, undefined]] });
  });

  it("relays Anthropic events unchanged but for message_start's model, counting cached input in the prompt", () => {
    const sink = new Sink();
    const r = new AnthropicForwardRewriter("mine", sink, noScrub);
    const start = { type: "message_start", message: { id: "m", model: "claude-up", usage: { input_tokens: 4, cache_read_input_tokens: 10, cache_creation_input_tokens: 2, output_tokens: 1 } } };
    const delta = { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } };
    const end = { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 7 } };
    expect(r.frame(ev(start, "message_start"))).to.equal(sseFrame({ event: "message_start" }, JSON.stringify({ ...start, message: { ...start.message, model: "mine" } })));
    expect(r.frame(ev(delta, "content_block_delta"))).to.equal(sseFrame({ event: "content_block_delta" }, JSON.stringify(delta)));
    expect(r.frame(ev(end, "message_delta"))).to.equal(sseFrame({ event: "message_delta" }, JSON.stringify(end)));
    expect(r.frame(ev({ type: "ping" }, "ping"))).to.equal('event: ping\ndata: {"type":"ping"}\n\n');
    expect(sink).to.deep.include({ outputs: 1, finish: ["end_turn"], models: ["claude-up"] });
    expect(sink.usageSeen).to.deep.equal([
      [16, 1, 10, 2],
      [16, 7, 10, 2],
    ]);
  });
});
