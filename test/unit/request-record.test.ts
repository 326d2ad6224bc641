/**
 * The request record rides in OpenTelemetry's context where a context manager is registered (the daemon), and in a
 * private store where none is (an app mounted without the SDK); either way every await and span under the request
 * sees it, and nothing outside does.
 */
import { expect } from "chai";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { currentRecord, runWithRecord, type RequestRecord } from "../../src/daemon/routing/request-record.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

async function seenUnderRequest(record: RequestRecord): Promise<(RequestRecord | undefined)[]> {
  const tracer = new BasicTracerProvider().getTracer("test");
  return runWithRecord(record, async () => {
    const seen = [currentRecord()];
    await tick();
    seen.push(currentRecord());
    // A span's context is derived from the active one: the record stays.
    const span = tracer.startSpan("chat");
    await context.with(trace.setSpan(context.active(), span), async () => {
      await tick();
      seen.push(currentRecord());
    });
    span.end();
    return seen;
  });
}

describe("request record", () => {
  afterEach(() => context.disable());

  it("reaches every await and span of its request through OpenTelemetry's context", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const a: RequestRecord = { api: "openai" };
    const b: RequestRecord = { api: "anthropic" };
    // Two requests at once do not see each other's record.
    const [seenA, seenB] = await Promise.all([seenUnderRequest(a), seenUnderRequest(b)]);
    expect(seenA).to.deep.equal([a, a, a]);
    expect(seenB.every((r) => r === b)).to.equal(true);
    expect(currentRecord()).to.equal(undefined);
  });

  it("still reaches them where no context manager is registered", async () => {
    const a: RequestRecord = { api: "ollama" };
    expect((await seenUnderRequest(a)).every((r) => r === a)).to.equal(true);
    expect(currentRecord()).to.equal(undefined);
  });
});
