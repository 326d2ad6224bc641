/**
 * The span buffers that hold records in memory are bounded by count (soak: memory must not grow with requests):
 * spans that end before the store opens, and the backlog of a `trace --follow` that does not read.
 */
import { expect } from "chai";
import type { SpanRecord } from "../../src/protocol/traces.js";
import { LocalSpanExporter } from "../../src/observability/local-span-exporter.js";
import { fromSpanRecord } from "../../src/observability/span-record.js";
import { TraceFeed } from "../../src/daemon/traces/trace-feed.js";

function record(i: number): SpanRecord {
  const id = (i + 1).toString(16).padStart(16, "0");
  return { trace_id: id.padStart(32, "0"), span_id: id, parent_span_id: null, name: `s${i}`, service: "mlxm-daemon", kind: 0, start_ms: 1_000 + i, duration_ms: 1, status_code: 0, status_message: null, attributes: {}, events: [] };
}

describe("span buffer bounds", () => {
  it("keeps only the newest 10,000 spans that ended before the store opened", async () => {
    const exporter = new LocalSpanExporter();
    for (let i = 0; i < 10_050; i++) exporter.export([fromSpanRecord(record(i), {})], () => {});
    const written: SpanRecord[] = [];
    await exporter.attach({ insert: async (spans) => void written.push(...spans) });
    expect(written).to.have.length(10_000);
    expect(written[0]!.name).to.equal("s50");
    expect(written.at(-1)!.name).to.equal("s10049");
  });

  it("keeps only the newest 1,000 finished traces for a follower that does not read", async () => {
    const feed = new TraceFeed();
    const stop = new AbortController();
    const follow = feed.follow(stop.signal);
    const first = follow.next(); // the follower is listening from here on
    await new Promise((r) => setImmediate(r));
    feed.publish(Array.from({ length: 1_500 }, (_, i) => record(i)));
    const names = [((await first).value as SpanRecord).name];
    for (let i = 1; i < 1_000; i++) names.push(((await follow.next()).value as SpanRecord).name);
    expect(names[0]).to.equal("s500");
    expect(names.at(-1)).to.equal("s1499");
    stop.abort();
    expect((await follow.next()).done).to.equal(true);
  });
});
