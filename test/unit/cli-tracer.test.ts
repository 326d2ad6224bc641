import { expect } from "chai";
import fs from "node:fs";
import { Store } from "../../src/daemon/store/store.js";
import { SpanIngest } from "../../src/daemon/traces/span-ingest.js";
import { spoolPath } from "../../src/home/spool.js";
import { silentLogger } from "../../src/observability/logger.js";
import { CliTracer } from "../../src/observability/cli-tracer.js";
import { SpanRecord } from "../../src/protocol/traces.js";
import { renderWaterfall } from "../../src/cli/trace-view.js";
import { makeTempHome } from "../helpers/temp-home.js";

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

describe("CLI tracer spool", () => {
  let home: string;
  let cleanup: () => void;
  beforeEach(() => ({ home, cleanup } = makeTempHome()));
  afterEach(() => cleanup());

  /** A tracer for one finished `ls` whose hand-over to the daemon does what `send` does. */
  function tracer(send: (baseUrl: string, spans: SpanRecord[]) => Promise<void>, spoolMaxBytes?: number) {
    const t = new CliTracer({ send, spoolMaxBytes });
    t.setCommand({ id: "ls", flags: {}, baseUrl: "http://127.0.0.1:1", home });
    return t;
  }
  const spooled = () => fs.readFileSync(spoolPath(home), "utf8").trim().split("\n").map((l) => SpanRecord.parse(JSON.parse(l)));

  it("hands the span to the daemon when it was contacted, and spools nothing", async () => {
    const sent: SpanRecord[][] = [];
    const t = tracer(async (_url, spans) => void sent.push(spans));
    t.headers();
    await t.finish();
    expect(sent.map((spans) => spans.map((s) => s.name))).to.deep.equal([["mlxm ls"]]);
    expect(fs.existsSync(spoolPath(home))).to.equal(false);
  });

  it("spools the span when sending fails, and when no daemon was contacted at all", async () => {
    const failing = tracer(async () => {
      throw new Error("connection refused");
    });
    failing.headers();
    await failing.finish();
    const untouched = tracer(async () => expect.fail("must not send without a daemon"));
    await untouched.finish();
    expect(spooled().map((s) => s.trace_id)).to.deep.equal([failing.traceId, untouched.traceId]);
  });

  it("stops appending once the spool is over its size cap", async () => {
    const refuse = async () => {
      throw new Error("down");
    };
    await tracer(refuse, 1).finish();
    await tracer(refuse, 1).finish();
    // The first line fits (the spool was empty); the second finds it over 1 byte and is dropped.
    expect(spooled()).to.have.length(1);
  });

  it("is ingested by the daemon once, skipping malformed lines, and removed", async () => {
    const t = tracer(async () => {
      throw new Error("down");
    });
    await t.finish();
    fs.appendFileSync(spoolPath(home), "{ not a span\n");
    const store = await Store.open(":memory:");
    try {
      const ingest = new SpanIngest(store.spans, false, silentLogger());
      expect(await ingest.ingestSpool(home)).to.equal(1);
      expect(fs.existsSync(spoolPath(home))).to.equal(false);
      expect((await store.spans.trace(t.traceId)).map((s) => s.name)).to.deep.equal(["mlxm ls"]);
      expect(await ingest.ingestSpool(home)).to.equal(0);
    } finally {
      await store.close();
    }
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
