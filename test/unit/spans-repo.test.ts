import { expect } from "chai";
import { Store } from "../../src/daemon/store/store.js";
import type { SpanRecord } from "../../src/protocol/traces.js";

const hex = (n: number, len: number) => n.toString(16).padStart(len, "0");

function span(trace: number, id: number, parent: number | null, patch: Partial<SpanRecord> = {}): SpanRecord {
  return {
    trace_id: hex(trace, 32),
    span_id: hex(id, 16),
    parent_span_id: parent === null ? null : hex(parent, 16),
    name: `span ${id}`,
    service: "mlxm-daemon",
    kind: 0,
    start_ms: 1_000_000 + trace * 1000 + id,
    duration_ms: 10,
    status_code: 0,
    status_message: null,
    attributes: {},
    events: [],
    ...patch,
  };
}

describe("spans repo", () => {
  let store: Store;
  beforeEach(async () => (store = await Store.open(":memory:")));
  afterEach(async () => store.close());

  it("finds trace ids by prefix, each once, up to the limit", async () => {
    await store.spans.insert([span(0xab1, 1, null), span(0xab1, 2, 1), span(0xab2, 1, null), span(0xcd, 1, null)]);
    const prefix = hex(0xab1, 32).slice(0, 30);
    expect(await store.spans.traceIdsWithPrefix(prefix, 5)).to.deep.equal([hex(0xab1, 32), hex(0xab2, 32)].sort());
    expect(await store.spans.traceIdsWithPrefix(hex(0xab1, 32), 5)).to.deep.equal([hex(0xab1, 32)]);
    expect(await store.spans.traceIdsWithPrefix(prefix, 1)).to.have.length(1);
    expect(await store.spans.traceIdsWithPrefix("ffff", 5)).to.deep.equal([]);
  });

  it("summarises traces: root name, status, model, token totals, newest first", async () => {
    await store.spans.insert([
      span(1, 1, null, { name: "mlxm run", service: "mlxm-cli", duration_ms: 500 }),
      span(1, 2, 1, { name: "POST /api/chat" }),
      span(1, 3, 2, { name: "chat", attributes: { "gen_ai.request.model": "mlxm-tiny", "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 8 } }),
      span(2, 1, null, { name: "GET /api/tags", status_code: 2, status_message: "boom" }),
    ]);
    const [newest, older] = await store.spans.summaries({ limit: 10 });
    expect(newest!.name).to.equal("GET /api/tags");
    expect(newest!.status).to.equal("error");
    expect(older).to.include({ name: "mlxm run", service: "mlxm-cli", model: "mlxm-tiny", input_tokens: 5, output_tokens: 8, span_count: 3, status: "ok" });
    expect(older!.duration_ms).to.equal(500);
    expect((await store.spans.summaries({ limit: 10, errorsOnly: true })).map((t) => t.name)).to.deep.equal(["GET /api/tags"]);
    expect(await store.spans.summaries({ limit: 10, excludeTraceId: hex(2, 32) })).to.have.length(1);
    expect((await store.spans.trace(hex(1, 32))).map((s) => s.name)).to.deep.equal(["mlxm run", "POST /api/chat", "chat"]);
  });

  it("counts a translated route's tokens once, though its span and the SDK's span beneath it both carry them", async () => {
    const usage = { "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 7 };
    await store.spans.insert([
      span(5, 1, null, { name: "POST /v1/messages" }),
      span(5, 2, 1, { name: "chat gpt-4o", attributes: usage }),
      span(5, 3, 2, { name: "chat gpt-4o", attributes: { ...usage, "gen_ai.system": "openai" } }),
      span(5, 4, 3, { name: "POST" }),
      // A second generation in the same trace (a CLI command making two calls) still adds up.
      span(5, 5, 1, { name: "chat mlxm-tiny", attributes: { "gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 2 } }),
    ]);
    expect((await store.spans.summaries({ limit: 1 }))[0]).to.include({ input_tokens: 14, output_tokens: 9 });
  });

  it("names a trace after its earliest span when the root was never received", async () => {
    await store.spans.insert([span(3, 5, 99, { name: "GET /api/ps" }), span(3, 6, 5, { name: "SELECT models" })]);
    expect((await store.spans.summaries({ limit: 1 }))[0]!.name).to.equal("GET /api/ps");
  });

  it("ignores a span delivered twice", async () => {
    await store.spans.insert([span(4, 1, null)]);
    await store.spans.insert([span(4, 1, null)]);
    expect(await store.spans.trace(hex(4, 32))).to.have.length(1);
  });

  it("prunes by age and by count", async () => {
    await store.spans.insert(Array.from({ length: 10 }, (_, i) => span(10 + i, 1, null)));
    expect(await store.spans.prune({ olderThanMs: 1_000_000 + 12 * 1000, maxSpans: 1000 })).to.equal(2);
    expect(await store.spans.prune({ olderThanMs: 0, maxSpans: 5 })).to.equal(3);
    // A retention of forever: nothing goes by age, the count still bounds the store.
    expect(await store.spans.prune({ olderThanMs: Number.NEGATIVE_INFINITY, maxSpans: 1000 })).to.equal(0);
    const left = await store.spans.summaries({ limit: 100 });
    expect(left).to.have.length(5);
    expect(left.at(-1)!.trace_id).to.equal(hex(15, 32));
  });
});
