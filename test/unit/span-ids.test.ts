import { expect } from "chai";
import { TimeOrderedIdGenerator } from "../../src/observability/span-ids.js";

describe("TimeOrderedIdGenerator", () => {
  it("makes W3C-valid ids: trace ids led by the millisecond clock, span ids random, none repeated", () => {
    const ids = new TimeOrderedIdGenerator();
    const before = Date.now();
    const traces = Array.from({ length: 2000 }, () => ids.generateTraceId());
    const spans = Array.from({ length: 2000 }, () => ids.generateSpanId());
    const after = Date.now();
    for (const t of traces) {
      expect(t).to.match(/^[0-9a-f]{32}$/);
      const ms = Number.parseInt(t.slice(0, 12), 16);
      expect(ms).to.be.within(before, after);
    }
    for (const s of spans) expect(s).to.match(/^[0-9a-f]{16}$/).and.not.equal("0".repeat(16));
    // More ids than one pool of random bytes holds: refills give new bytes, not the same ones again.
    expect(new Set(traces).size).to.equal(traces.length);
    expect(new Set(spans).size).to.equal(spans.length);
  });
});
