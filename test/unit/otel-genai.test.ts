import { expect } from "chai";
import { hrTimeToMilliseconds } from "@opentelemetry/core";
import { createMetrics } from "../../src/observability/metrics.js";
import { OTEL_GENAI_METRICS, PromGenAiProducer, toHistogramData, type PromValue } from "../../src/observability/otel-metrics.js";
import { OutputRecorder, toInputContent, toOutputContent } from "../../src/observability/genai-content.js";

describe("GenAI metrics as OpenTelemetry metrics", () => {
  it("turns prom-client's cumulative buckets into OTel's per-bucket counts, labels into semconv attributes", () => {
    const mapping = OTEL_GENAI_METRICS.find((m) => m.name === "gen_ai.server.time_to_first_token")!;
    const values: PromValue[] = [
      { labels: { model: "tiny", le: 0.1 }, value: 1, metricName: "x_bucket" },
      { labels: { model: "tiny", le: 1 }, value: 3, metricName: "x_bucket" },
      { labels: { model: "tiny", le: "+Inf" }, value: 4, metricName: "x_bucket" },
      { labels: { model: "tiny" }, value: 6.5, metricName: "x_sum" },
      { labels: { model: "tiny" }, value: 4, metricName: "x_count" },
    ];
    const data = toHistogramData(mapping, values, 1_000, 2_000);
    expect(data.descriptor).to.deep.equal({ name: "gen_ai.server.time_to_first_token", description: mapping.description, unit: "s", valueType: 1 });
    expect(data.dataPoints.map((p) => ({ ...p, startTime: hrTimeToMilliseconds(p.startTime), endTime: hrTimeToMilliseconds(p.endTime) }))).to.deep.equal([
      {
        startTime: 1_000,
        endTime: 2_000,
        attributes: { "gen_ai.provider.name": "mlxm", "gen_ai.response.model": "tiny" },
        value: { buckets: { boundaries: [0.1, 1], counts: [1, 2, 1] }, sum: 6.5, count: 4 },
      },
    ]);
  });

  it("reads the same histograms /metrics serves, under the four semconv names", async () => {
    const metrics = createMetrics();
    const producer = new PromGenAiProducer();
    expect((await producer.collect()).resourceMetrics.scopeMetrics).to.deep.equal([]);
    producer.attach(metrics);
    metrics.tokenUsage.observe({ model: "tiny", type: "input" }, 12);
    metrics.tokenUsage.observe({ model: "tiny", type: "output" }, 4);
    metrics.timeToFirstToken.observe({ model: "tiny" }, 0.05);
    metrics.timePerOutputToken.observe({ model: "tiny" }, 0.01);
    metrics.requestDuration.observe({ model: "tiny" }, 0.2);
    const { resourceMetrics } = await producer.collect();
    const exported = resourceMetrics.scopeMetrics[0]!.metrics;
    expect(exported.map((m) => m.descriptor.name)).to.deep.equal([
      "gen_ai.client.token.usage",
      "gen_ai.server.time_to_first_token",
      "gen_ai.server.time_per_output_token",
      "gen_ai.server.request.duration",
    ]);
    const usage = exported[0]!.dataPoints as { attributes: Record<string, unknown>; value: { sum: number; count: number } }[];
    expect(usage.map((p) => [p.attributes["gen_ai.token.type"], p.value.sum, p.value.count])).to.deep.equal([
      ["input", 12, 1],
      ["output", 4, 1],
    ]);
    expect(await metrics.registry.getSingleMetricAsString("gen_ai_client_token_usage")).to.contain('gen_ai_client_token_usage_sum{model="tiny",type="input"} 12');
  });
});

describe("GenAI content attributes", () => {
  it("puts system turns in gen_ai.system_instructions and the rest in gen_ai.input.messages", () => {
    const attrs = toInputContent({
      model: "m",
      sampling: {},
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "weather?" },
        { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
        { role: "tool", content: "rain", toolCallId: "call_1", name: "get_weather" },
      ],
    });
    expect(JSON.parse(attrs["gen_ai.system_instructions"]!)).to.deep.equal([{ type: "text", content: "be brief" }]);
    expect(JSON.parse(attrs["gen_ai.input.messages"]!)).to.deep.equal([
      { role: "user", parts: [{ type: "text", content: "weather?" }] },
      { role: "assistant", parts: [{ type: "tool_call", id: "call_1", name: "get_weather", arguments: { city: "Oslo" } }] },
      { role: "tool", parts: [{ type: "tool_call_response", id: "call_1", response: "rain" }], name: "get_weather" },
    ]);
  });

  it("records images and documents as placeholders (media type, size or URL), never their bytes", () => {
    const bytes = { kind: "base64" as const, mediaType: "image/png", data: "A".repeat(4000) };
    const attrs = toInputContent({
      model: "m",
      sampling: {},
      messages: [
        { role: "user", content: "what?", parts: [{ type: "image", source: bytes }, { type: "image", source: { kind: "url", url: "https://x/a.jpg" } }, { type: "text", text: "what?" }] },
        { role: "tool", content: "ok", parts: [{ type: "text", text: "ok" }, { type: "document", source: { ...bytes, mediaType: "application/pdf" }, name: "a.pdf" }], toolCallId: "c1" },
      ],
    });
    expect(JSON.parse(attrs["gen_ai.input.messages"]!)).to.deep.equal([
      { role: "user", parts: [{ type: "image", mime_type: "image/png", size_bytes: 3000 }, { type: "uri", modality: "image", uri: "https://x/a.jpg" }, { type: "text", content: "what?" }] },
      { role: "tool", parts: [{ type: "tool_call_response", id: "c1", response: "ok" }, { type: "document", mime_type: "application/pdf", size_bytes: 3000, name: "a.pdf" }] },
    ]);
  });

  it("records a raw prompt as one user message", () => {
    expect(toInputContent({ model: "m", prompt: "once upon", sampling: {} })).to.deep.equal({
      "gen_ai.input.messages": JSON.stringify([{ role: "user", parts: [{ type: "text", content: "once upon" }] }]),
    });
  });

  it("records a fill-in-the-middle suffix as its own part after the prompt", () => {
    expect(toInputContent({ model: "m", prompt: "def f(", suffix: ")", sampling: {} })).to.deep.equal({
      "gen_ai.input.messages": JSON.stringify([{ role: "user", parts: [{ type: "text", content: "def f(" }, { type: "suffix", content: ")" }] }]),
    });
  });

  it("accumulates streamed text and tool calls into gen_ai.output.messages", () => {
    const recorder = new OutputRecorder();
    recorder.add({ type: "text", text: "Hel" });
    recorder.add({ type: "text", text: "lo" });
    recorder.add({ type: "tool_call_start", index: 0, id: "call_9", name: "f" });
    recorder.add({ type: "tool_call_delta", index: 0, argumentsDelta: '{"a":' });
    recorder.add({ type: "tool_call_delta", index: 0, argumentsDelta: "1}" });
    expect(JSON.parse(recorder.attributes("tool_calls")["gen_ai.output.messages"]!)).to.deep.equal([
      { role: "assistant", parts: [{ type: "text", content: "Hello" }, { type: "tool_call", id: "call_9", name: "f", arguments: { a: 1 } }], finish_reason: "tool_calls" },
    ]);
    expect(JSON.parse(toOutputContent("", [{ id: "c", name: "g", arguments: "{broken" }], "stop")["gen_ai.output.messages"]!)).to.deep.equal([
      { role: "assistant", parts: [{ type: "tool_call", id: "c", name: "g", arguments: "{broken" }], finish_reason: "stop" },
    ]);
  });
});
