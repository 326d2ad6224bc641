import { expect } from "chai";
import { ringBatches } from "../../src/daemon/hub/download/download-types.js";

describe("hub download: write rings", () => {
  it("gives one connection every batch and splits them between more, never below two each", () => {
    expect([1, 2, 3, 4].map((n) => ringBatches(4, n))).to.deep.equal([4, 2, 2, 2]);
    expect([1, 2, 3, 4, 8].map((n) => ringBatches(16, n))).to.deep.equal([16, 8, 5, 4, 2]);
    // What a kill can lose in the rings stays within the shared budget until each ring is down to its floor.
    for (const n of [1, 2, 4]) expect(n * ringBatches(8, n)).to.be.at.most(8);
    expect(ringBatches(2, 1)).to.equal(2);
    expect(ringBatches(4, 0)).to.equal(4);
  });
});
