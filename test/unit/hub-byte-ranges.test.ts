import { expect } from "chai";
import { RangeSet, splitRanges, splitWithFinerTail } from "../../src/daemon/hub/download/byte-ranges.js";
import { Fanout } from "../../src/daemon/hub/pull/progress-fanout.js";
import { backoffMs } from "../../src/daemon/hub/hf-client.js";

describe("hub byte ranges", () => {
  it("merges touching and overlapping ranges and reports gaps", () => {
    const r = new RangeSet();
    r.add(10, 20);
    r.add(30, 40);
    r.add(20, 25);
    r.add(35, 50);
    r.add(0, 0);
    expect(r.toJSON()).to.deep.equal([[10, 25], [30, 50]]);
    expect(r.total).to.equal(35);
    expect(r.contiguousEnd(0)).to.equal(0);
    r.add(0, 10);
    expect(r.contiguousEnd(0)).to.equal(25);
    expect(r.missing(60)).to.deep.equal([[25, 30], [50, 60]]);
    r.add(5, 55);
    expect(r.toJSON()).to.deep.equal([[0, 55]]);
  });

  it("splits ranges into chunks", () => {
    expect(splitRanges([[0, 10], [20, 25]], 4)).to.deep.equal([[0, 4], [4, 8], [8, 10], [20, 24], [24, 25]]);
  });

  it("cuts the last bytes of a download into finer chunks, from an aligned offset", () => {
    // 100 bytes in chunks of 16, the last 40 (from offset 60, rounded down to 56) in pieces of 4.
    const tail = { bytes: 40, maxSize: 4, align: 8 };
    const chunks = splitWithFinerTail([[0, 100]], 16, tail);
    expect(chunks.slice(0, 5)).to.deep.equal([[0, 16], [16, 32], [32, 48], [48, 56], [56, 60]]);
    expect(chunks.at(-1)).to.deep.equal([96, 100]);
    expect(chunks.filter(([s]) => s >= 56).every(([s, e]) => e - s <= 4)).to.equal(true);
    // What is left of a resumed download: the tail counts missing bytes only, across gaps.
    expect(splitWithFinerTail([[0, 32], [64, 72], [90, 100]], 16, { bytes: 20, maxSize: 4, align: 1 })).to.deep.equal([
      [0, 16], [16, 30], [30, 32], [64, 68], [68, 72], [90, 94], [94, 98], [98, 100],
    ]);
    // Chunks cover exactly the ranges, in order, whatever the tail.
    for (const bytes of [0, 1, 39, 100, 1000]) {
      const got = splitWithFinerTail([[3, 50], [61, 99]], 16, { bytes, maxSize: 5, align: 8 });
      const merged = new RangeSet();
      for (const [s, e] of got) merged.add(s, e);
      expect(merged.toJSON(), `tail ${bytes}`).to.deep.equal([[3, 50], [61, 99]]);
      expect(got.reduce((n, [s, e]) => n + e - s, 0)).to.equal(85);
      expect(got.every(([s, e], i) => e > s && (i === 0 || s >= got[i - 1]![1]))).to.equal(true);
    }
  });

  it("backs off exponentially with bounded jitter", () => {
    expect(backoffMs(1, 100, 10_000, () => 0)).to.equal(50);
    expect(backoffMs(1, 100, 10_000, () => 1)).to.equal(100);
    expect(backoffMs(4, 100, 10_000, () => 1)).to.equal(800);
    expect(backoffMs(20, 100, 10_000, () => 1)).to.equal(10_000);
  });
});

describe("hub progress fan-out", () => {
  it("replays to late subscribers, coalesces a slow one's queue, and lets a subscriber detach", async () => {
    const f = new Fanout<{ k: string; v: number }>((e) => e.k);
    f.publish({ k: "a", v: 1 });
    const slow = f.subscribe();
    f.publish({ k: "b", v: 1 });
    f.publish({ k: "a", v: 2 });
    f.publish({ k: "a", v: 3 });
    const late = f.subscribe();
    const ac = new AbortController();
    const leaver = f.subscribe(ac.signal);
    ac.abort();
    expect(f.size).to.equal(2);
    f.close();
    const all = async (it: AsyncIterable<{ k: string; v: number }>) => {
      const out: string[] = [];
      for await (const e of it) out.push(`${e.k}${e.v}`);
      return out;
    };
    expect(await all(slow)).to.deep.equal(["a3", "b1"]);
    expect(await all(late)).to.deep.equal(["a3", "b1"]);
    let thrown: unknown;
    try {
      await leaver.next();
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).name).to.equal("AbortError");
  });

  it("delivers queued events before the error", async () => {
    const f = new Fanout<number>();
    const sub = f.subscribe();
    f.publish(1);
    f.close(new Error("boom"));
    expect(await sub.next()).to.deep.equal({ value: 1, done: false });
    let thrown: unknown;
    try {
      await sub.next();
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).message).to.equal("boom");
  });
});
