/**
 * The pass-through's meter at the end of a call: what it writes on the request record and the GenAI span when the
 * upstream reported usage, and when it never did (an OpenAI stream its caller left before the last chunk).
 */
import { expect } from "chai";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ForwardMeter } from "../../src/daemon/routing/forward-meter.js";
import type { RequestRecord } from "../../src/daemon/routing/request-record.js";

describe("routing: forward meter", () => {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer("test");
  const pricing = { provider: "openai" as const, model: "gpt-4o-mini", baseUrl: null };

  let remote: Parameters<NonNullable<RequestRecord["onRemoteUsage"]>>[0][] = [];
  const ended = (report: (meter: ForwardMeter) => void, failure?: Error) => {
    exporter.reset();
    remote = [];
    const record: RequestRecord = { api: "openai", onRemoteUsage: (usage) => remote.push(usage) };
    const meter = new ForwardMeter(tracer.startSpan("chat"), record, pricing, performance.now());
    report(meter);
    meter.end(failure);
    return { record, attributes: exporter.getFinishedSpans()[0]!.attributes };
  };

  it("writes reported usage and its cost on the record and the span", () => {
    const { record, attributes } = ended((m) => m.usage(12, 5, 4));
    expect(record).to.deep.include({ inputTokens: 12, outputTokens: 5, cachedTokens: 4 });
    expect(record.costUsd).to.be.greaterThan(0);
    expect(attributes).to.deep.include({ "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 5, "gen_ai.usage.cache_read.input_tokens": 4 });
    expect(attributes["operation.cost"]).to.equal(record.costUsd);
  });

  it("leaves counts the upstream never sent unknown on the span as on the row, not 0", () => {
    const none = ended(() => {});
    expect(none.record).to.deep.include({ inputTokens: undefined, outputTokens: undefined, cachedTokens: undefined, costUsd: null });
    expect(none.attributes).not.to.have.any.keys("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "operation.cost");
    // The metrics get no 0 observation either.
    expect(remote).to.deep.equal([{ inputTokens: undefined, outputTokens: undefined, cachedInputTokens: undefined }]);
    // Anthropic's message_start gives the input before any output: that much is known.
    const inputOnly = ended((m) => m.usage(30, undefined));
    expect(inputOnly.record).to.deep.include({ inputTokens: 30, outputTokens: undefined });
    expect(inputOnly.attributes["gen_ai.usage.input_tokens"]).to.equal(30);
    expect(inputOnly.attributes).not.to.have.any.keys("gen_ai.usage.output_tokens");
  });

  it("gives a failure no time to first token, and its message to the row", () => {
    const { record, attributes } = ended(() => {}, new Error("upstream openai:gpt-4o-mini answered 503"));
    expect(record.ttftMs).to.equal(undefined);
    expect(record.error).to.contain("answered 503");
    expect(attributes).not.to.have.any.keys("gen_ai.server.time_to_first_token_ms");
    // A non-streamed answer has its first token when it ends.
    expect(ended((m) => m.usage(1, 1)).record.ttftMs).to.be.a("number");
  });
});
