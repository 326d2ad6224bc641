/**
 * Reused prompt tokens are reported on every protocol: OpenAI's `usage.prompt_tokens_details.cached_tokens`
 * (streaming and not, read by the official openai SDK), Ollama's `prompt_eval_cached_count` (official ollama
 * client) and the `mlxm_cached_input_tokens_total` counter on /metrics.
 */
import { expect } from "chai";
import path from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";

const MODEL = "tiny-reuse";
const SYSTEM = "You are the test's assistant. " + "Keep every rule of this long system prompt in mind. ".repeat(6);

async function cachedCounter(d: TestDaemon): Promise<number> {
  const text = await (await fetch(`${d.baseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("mlxm_cached_input_tokens_total{") && l.includes(`model="${MODEL}"`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("cached prompt tokens on the APIs", () => {
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;

  before(async () => {
    d = await startTestDaemon();
    store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, MODEL);
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
  });

  it("reports OpenAI cached_tokens for a conversation's second turn, streaming and not, and counts them", async () => {
    const first = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: "system", content: SYSTEM }, { role: "user", content: "first" }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(first.usage!.prompt_tokens_details!.cached_tokens).to.be.lessThan(first.usage!.prompt_tokens);
    const before = await cachedCounter(d);
    const messages = [
      { role: "system" as const, content: SYSTEM },
      { role: "user" as const, content: "first" },
      { role: "assistant" as const, content: first.choices[0]!.message.content ?? "" },
      { role: "user" as const, content: "second" },
    ];
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 4,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) usage ??= chunk.usage ?? undefined;
    const cached = usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).to.be.at.least(first.usage!.prompt_tokens);
    expect(cached).to.be.lessThan(usage!.prompt_tokens);
    expect(await cachedCounter(d)).to.equal(before + cached);

    const again = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 4, temperature: 0 });
    expect(again.usage!.prompt_tokens_details!.cached_tokens).to.equal(again.usage!.prompt_tokens - 1);
  });

  it("reports Ollama prompt_eval_cached_count, with prompt_eval_count still the whole prompt", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    const messages = [{ role: "system", content: SYSTEM }, { role: "user", content: "ollama turn" }];
    const first = await ollama.chat({ model: MODEL, messages, options: { num_predict: 4, temperature: 0 } });
    const second = await ollama.chat({ model: MODEL, messages, options: { num_predict: 4, temperature: 0 } });
    const count = (r: object) => (r as { prompt_eval_cached_count?: number }).prompt_eval_cached_count;
    expect(second.prompt_eval_count).to.equal(first.prompt_eval_count);
    expect(count(second)).to.equal(second.prompt_eval_count - 1);
    expect(count(first)).to.be.lessThan(first.prompt_eval_count);
  });
});
