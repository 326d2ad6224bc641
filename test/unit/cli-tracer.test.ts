import { expect } from "chai";
import { CliTracer } from "../../src/observability/cli-tracer.js";
import { SpanRecord } from "../../src/protocol/traces.js";
import { renderWaterfall } from "../../src/cli/trace-view.js";

describe("CLI tracer", () => {
  it("propagates its root span as the W3C parent of daemon requests", () => {
    const t = new CliTracer();
    expect(t.headers().traceparent).to.equal(`00-${t.traceId}-${t.spanId}-01`);
  });

  it("records nothing when no command ran (--version, help)", () => {
    expect(new CliTracer().toRecord()).to.equal(undefined);
  });

  it("names the span after the command, keeps flags but not secret values, and marks failures", () => {
    const t = new CliTracer();
    t.setCommand({ id: "pull", flags: { json: true, "hf-token": "hf_abcdefghijklmnopqrstuv", revision: "main" }, baseUrl: "http://x", home: "/tmp" });
    t.recordFailure("not_found", "model x not found", 4);
    const r = SpanRecord.parse(t.toRecord());
    expect(r.name).to.equal("mlxm pull");
    expect(r.attributes["mlxm.flag.json"]).to.equal(true);
    expect(r.attributes["mlxm.flag.revision"]).to.equal("main");
    expect(JSON.stringify(r)).not.to.contain("hf_abcdefghijklmnopqrstuv");
    expect(r.status_code).to.equal(2);
    expect(r.attributes["process.exit.code"]).to.equal(4);
    expect(r.attributes["error.type"]).to.equal("not_found");
  });
});

describe("trace waterfall", () => {
  it("indents children under parents and marks errors", () => {
    const base = { trace_id: "a".repeat(32), service: "mlxm-daemon", kind: 0, status_message: null, attributes: {}, events: [] };
    const out = renderWaterfall(
      [
        { ...base, span_id: "1".repeat(16), parent_span_id: null, name: "mlxm ls", start_ms: 0, duration_ms: 100, status_code: 1 },
        { ...base, span_id: "2".repeat(16), parent_span_id: "1".repeat(16), name: "GET /api/tags", start_ms: 50, duration_ms: 10, status_code: 2, status_message: "boom" },
      ],
      { color: false, width: 120 },
    );
    const lines = out.split("\n");
    expect(lines[0]).to.match(/^mlxm ls/);
    expect(lines[1]).to.match(/^ {2}GET \/api\/tags/);
    expect(lines[1]).to.contain("✗ boom");
  });
});
