import { expect } from "chai";
import { Rate } from "../../src/cli/pull-progress.js";

describe("pull progress speed", () => {
  const realNow = Date.now;
  let now = 0;
  beforeEach(() => {
    now = 1_000_000;
    Date.now = () => now;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  it("does not count the bytes a resumed pull already had as speed", () => {
    const rate = new Rate();
    rate.add(0);
    now += 5;
    rate.add(25_000_000); // what was on disk, reported at once
    now += 1000;
    rate.add(27_000_000);
    expect(rate.bytesPerSecond()).to.equal(2_000_000);
  });

  it("measures a fresh download from its first bytes", () => {
    const rate = new Rate();
    rate.add(0);
    now += 500;
    rate.add(1_000_000);
    now += 500;
    rate.add(2_000_000);
    expect(rate.bytesPerSecond()).to.equal(2_000_000);
  });
});
