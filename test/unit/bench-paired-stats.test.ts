import assert from "node:assert/strict";
import { bootstrapMedianInterval, signTestP } from "../../bench/paired-stats.js";
import { mulberry32 } from "../../src/daemon/engine/gguf/tiny-model.js";

describe("bench paired statistics", () => {
  it("sign test: exact two-sided binomial tails", () => {
    // Values from the binomial distribution B(n, 1/2): 2 * P(X <= k).
    assert.ok(Math.abs(signTestP(17, 40) - 0.4296) < 1e-4);
    assert.ok(Math.abs(signTestP(23, 40) - 0.4296) < 1e-4, "symmetric");
    assert.ok(Math.abs(signTestP(30, 40) - 0.002221) < 1e-5);
    assert.ok(Math.abs(signTestP(0, 10) - 2 / 1024) < 1e-12);
    assert.equal(signTestP(20, 40), 1, "an even split is capped at 1");
    assert.equal(signTestP(0, 0), 1);
    assert.throws(() => signTestP(5, 4), RangeError);
    assert.throws(() => signTestP(1.5, 4), RangeError);
  });

  it("bootstrap interval: repeatable, ordered, around the median, and exact for constant data", () => {
    const random = mulberry32(7);
    const ratios = Array.from({ length: 40 }, () => 0.9 + random() * 0.2);
    const a = bootstrapMedianInterval(ratios, { seed: 3 });
    assert.deepEqual(bootstrapMedianInterval(ratios, { seed: 3 }), a, "same seed, same interval");
    const sorted = [...ratios].sort((x, y) => x - y);
    const med = (sorted[19]! + sorted[20]!) / 2;
    assert.ok(a[0] <= med && med <= a[1], `${a} holds the median ${med}`);
    assert.ok(a[0] >= sorted[0]! && a[1] <= sorted[39]!, "inside the data's range");
    assert.ok(a[1] - a[0] < 0.2, "narrower than the data's spread");
    const wider = bootstrapMedianInterval(ratios, { seed: 3, level: 0.99 });
    assert.ok(wider[0] <= a[0] && wider[1] >= a[1], "a higher level is at least as wide");
    assert.deepEqual(bootstrapMedianInterval([1.02, 1.02, 1.02]), [1.02, 1.02]);
    assert.throws(() => bootstrapMedianInterval([]), RangeError);
  });
});
