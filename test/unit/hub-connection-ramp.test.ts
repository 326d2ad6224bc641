import { expect } from "chai";
import { ConnectionRamp, MIN_GAIN } from "../../src/daemon/hub/download/connection-ramp.js";

const WINDOW = 250;

/** Run windows of `WINDOW` ms in which the connections receive `rateFor(wanted)` bytes per ms; the counts seen. */
function ramp(max: number, rateFor: (connections: number) => number, windows: number): number[] {
  const r = new ConnectionRamp(max, 0);
  const seen = [r.wanted];
  for (let i = 1; i <= windows; i++) {
    r.received(rateFor(r.wanted) * WINDOW);
    seen.push(r.endWindow(i * WINDOW));
  }
  return seen;
}

describe("hub connection ramp", () => {
  it("opens connections one at a time, each measured a window after the one it opened in, while each raises the rate", () => {
    // Each connection capped (a CDN's per-connection limit): every one added pays.
    expect(ramp(4, (n) => n * 1000, 10)).to.deep.equal([1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4]);
  });

  it("lets a probe go, for good, when the rate did not rise by MIN_GAIN", () => {
    // The disk is the limit: a second connection brings nothing (a little less).
    expect(ramp(4, (n) => (n === 1 ? 1000 : 950), 10)).to.deep.equal([1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1]);
    // Up to three pay, the fourth does not.
    const seen = ramp(4, (n) => Math.min(n, 3) * 1000, 12);
    expect(seen.at(-1)).to.equal(3);
    expect(seen).to.include(4);
    // Just under the gain is not enough; the gain itself is.
    expect(ramp(2, (n) => (n === 1 ? 1000 : 1000 * MIN_GAIN * 0.99), 6).at(-1)).to.equal(1);
    expect(ramp(2, (n) => (n === 1 ? 1000 : 1000 * MIN_GAIN), 6).at(-1)).to.equal(2);
  });

  it("settles at once with a maximum of one, and after the last probe at the maximum", () => {
    const one = new ConnectionRamp(1, 0);
    expect(one.settled).to.equal(true);
    expect(one.endWindow(WINDOW)).to.equal(1);
    const two = new ConnectionRamp(2, 0);
    for (let i = 1; i <= 4; i++) {
      two.received(two.wanted * 1000 * WINDOW);
      two.endWindow(i * WINDOW);
    }
    expect(two.wanted).to.equal(2);
    expect(two.settled).to.equal(true);
  });
});
