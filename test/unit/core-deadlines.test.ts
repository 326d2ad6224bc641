import { expect } from "chai";
import { collectChat, type ChatEvent } from "../../src/daemon/core/chat.js";
import { withDeadlines } from "../../src/daemon/core/deadlines.js";
import type { ModelService } from "../../src/daemon/core/model-service.js";
import { HttpError } from "../../src/daemon/errors.js";

/** A service whose chat sends one token, then stalls until aborted (as a stuck backend would), recording the abort. */
function stallingService() {
  const seen: { aborted?: boolean } = {};
  const service = {
    extra: () => "passed through",
    async *chat(_req: unknown, signal: AbortSignal): AsyncGenerator<ChatEvent> {
      yield { type: "text", text: "a" };
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      seen.aborted = true;
      yield { type: "done", finishReason: "cancelled" as never, usage: { inputTokens: 1, outputTokens: 1 } as never };
    },
  };
  return { service: service as unknown as ModelService & { extra(): string }, seen };
}

describe("generation deadlines", () => {
  it("aborts a generation that goes silent and reports 504 timeout", async () => {
    const { service, seen } = stallingService();
    const guarded = withDeadlines(service, { requestMs: 0, tokenMs: 30 });
    const err = await collectChat(guarded.chat({} as never, new AbortController().signal)).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(HttpError);
    expect((err as HttpError).code).to.equal("timeout");
    expect((err as HttpError).status).to.equal(504);
    expect((err as HttpError).message).to.contain("MLXM_TOKEN_TIMEOUT");
    expect(seen.aborted).to.equal(true);
  });

  it("stops a request that outlives the whole-request limit", async () => {
    const { service } = stallingService();
    const guarded = withDeadlines(service, { requestMs: 30, tokenMs: 0 });
    const err = await collectChat(guarded.chat({} as never, new AbortController().signal)).then(() => undefined, (e: unknown) => e);
    expect((err as HttpError).message).to.contain("MLXM_REQUEST_TIMEOUT");
  });

  it("leaves a caller's own abort a cancellation, not a timeout, and passes other members through", async () => {
    const { service } = stallingService();
    const guarded = withDeadlines(service, { requestMs: 60_000, tokenMs: 60_000 });
    const caller = new AbortController();
    const events: ChatEvent[] = [];
    for await (const ev of guarded.chat({} as never, caller.signal)) {
      events.push(ev);
      if (ev.type === "text") caller.abort();
    }
    expect(events.map((e) => e.type)).to.deep.equal(["text", "done"]);
    expect(guarded.extra()).to.equal("passed through");
  });
});
