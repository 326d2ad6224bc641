/**
 * Requests admitted together really run together: a request that lands on a context sequence used before (whose
 * cached tokens must be erased first) starts while others are generating, instead of waiting for them to finish.
 * Asserted by the order of events, never by durations.
 */
import { expect } from "chai";
import { resolveConfig } from "../../src/config/config.js";
import type { ChatEvent, ChatRequest } from "../../src/daemon/core/chat.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";
import { LocalModelService } from "../../src/daemon/engine/local-model-service.js";
import { Store } from "../../src/daemon/store/store.js";
import { silentLogger } from "../../src/observability/logger.js";
import { addTestModel } from "../helpers/models.js";

function chatRequest(text: string, maxTokens: number): ChatRequest {
  return {
    model: "tiny",
    messages: [
      { role: "system", content: "You are a test." },
      { role: "user", content: text },
    ],
    sampling: { maxTokens, temperature: 0.8, seed: 7 },
  };
}

describe("local engine concurrency (real node-llama-cpp)", function () {
  let store: Store;
  let hold: LlamaLease;
  let models: LocalModelService;
  /** `name:first` at a request's first text, `name:done` at its end, in the order they happened. */
  let log: string[] = [];

  /** Runs a chat to the end, logging its first text and its end; `onText` sees every text event. */
  async function run(name: string, request: ChatRequest, signal = new AbortController().signal, onText?: (count: number) => void): Promise<ChatEvent> {
    let texts = 0;
    let last: ChatEvent | undefined;
    for await (const event of models.chat(request, signal)) {
      last = event;
      if (event.type === "text") {
        if (texts++ === 0) log.push(`${name}:first`);
        onText?.(texts);
      }
    }
    log.push(`${name}:done`);
    return last!;
  }

  /** Resolves once `count` text events have been seen by the `onText` it hands out. */
  function textsSeen(count: number): { onText: (n: number) => void; reached: Promise<void> } {
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    return { onText: (n) => n >= count && reach(), reached };
  }

  before(async () => {
    hold = leaseLlama({ threads: 1 });
    await hold.llama();
    store = await Store.open(":memory:");
    await addTestModel(store, "tiny", { seed: 3 });
    const config = resolveConfig({}, { MLXM_HOME: "/tmp/unused", MLXM_CONTEXT_SIZE: "2048", MLXM_NUM_PARALLEL: "3" });
    models = new LocalModelService({ store, engine: config.engine, logger: silentLogger(), totalMemoryBytes: 8 * 2 ** 30 });
  });

  beforeEach(async () => {
    // Every sequence of the context used once: each now holds a prompt and a reply that the next request on it
    // must erase (under the context's lock) before its own prompt.
    await Promise.all(["one", "two", "three"].map((text) => run("warm", chatRequest(text, 8))));
    log = [];
  });

  after(async () => {
    await models?.dispose();
    await store?.close();
    await hold?.release();
  });

  it("starts a request on a used sequence while two others are generating, and finishes it first", async () => {
    const a = textsSeen(3);
    const b = textsSeen(3);
    const long = [run("a", chatRequest("tell a long story", 1800), undefined, a.onText), run("b", chatRequest("and another", 1800), undefined, b.onText)];
    await Promise.all([a.reached, b.reached]);
    expect(models.running()[0]!.activeRequests).to.equal(2);
    const c = await run("c", chatRequest("short", 4));
    await Promise.all(long);

    expect(c).to.deep.include({ type: "done", finishReason: "length" });
    expect(log.indexOf("c:first")).to.be.lessThan(log.indexOf("a:done"));
    expect(log.indexOf("c:done")).to.be.lessThan(log.indexOf("a:done"));
    expect(log.indexOf("c:done")).to.be.lessThan(log.indexOf("b:done"));
  });

  it("a cancelled request gives its slot back while others are generating", async () => {
    const a = textsSeen(3);
    const b = textsSeen(3);
    const c = textsSeen(3);
    const cancel = new AbortController();
    const long = [run("a", chatRequest("tell a long story", 1800), undefined, a.onText), run("b", chatRequest("and another", 1800), undefined, b.onText)];
    const cancelled = run("c", chatRequest("a third one", 1800), cancel.signal, c.onText);
    await Promise.all([a.reached, b.reached, c.reached]);
    cancel.abort();
    expect(await cancelled).to.deep.include({ type: "done", finishReason: "cancelled" });
    // All three slots were taken: this one runs only once the cancelled request's sequence is back.
    const d = await run("d", chatRequest("short", 4));
    await Promise.all(long);

    expect(d).to.deep.include({ type: "done", finishReason: "length" });
    expect(log.indexOf("d:done")).to.be.lessThan(log.indexOf("a:done"));
    expect(log.indexOf("d:done")).to.be.lessThan(log.indexOf("b:done"));
  });
});
