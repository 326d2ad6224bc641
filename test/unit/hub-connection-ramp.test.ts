import { expect } from "chai";
import { ConnectionRamp, FIRST_BACKOFF_WINDOWS, MAX_DROP, MAX_LOCAL_WAIT } from "../../src/daemon/hub/download/connection-ramp.js";

const WINDOW = 250;
/** Under connection-ramp.ts's MIN_JUDGED_MS: too little of a window to judge by. */
const MIN_JUDGED = 40;

/**
 * Drive a ramp for `windows` windows. `perConnection(open, age, window)` is what each open connection receives per
 * ms, given how many are open, how many windows ago it opened (0: the window it opened in) and the window's number. A connection is opened
 * whenever the ramp wants more, and the newest is closed when it wants fewer. Returns the count wanted after each.
 */
function drive(max: number, windows: number, perConnection: (open: number, age: number, window: number) => number): number[] {
  const ramp = new ConnectionRamp(max, 0);
  const openedAt: number[] = [0];
  ramp.opened(0);
  const seen: number[] = [];
  for (let w = 0; w < windows; w++) {
    openedAt.forEach((at, id) => {
      if (at >= 0) ramp.received(id, perConnection(openedAt.filter((a) => a >= 0).length, w - at, w) * WINDOW);
    });
    const wanted = ramp.endWindow((w + 1) * WINDOW);
    while (openedAt.filter((a) => a >= 0).length < wanted) {
      ramp.opened(openedAt.length);
      openedAt.push(w + 1);
    }
    while (openedAt.filter((a) => a >= 0).length > wanted) {
      const newest = openedAt.findLastIndex((a) => a >= 0);
      openedAt[newest] = -1;
      ramp.closed(newest);
    }
    seen.push(wanted);
  }
  return seen;
}

/** TCP-like start: nothing in the window a connection opens in, a third of its rate in the next. */
const slowStart = (rate: number) => (age: number) => (age === 0 ? 0 : age === 1 ? rate / 3 : rate);

describe("hub connection ramp", () => {
  it("opens connections one at a time while the ones open keep their rate, as against a CDN capping each one", () => {
    const seen = drive(4, 16, (_open, age) => slowStart(1000)(age));
    expect(seen.at(-1)).to.equal(4);
    // One at a time, never back.
    for (let i = 1; i < seen.length; i++) expect(seen[i] - seen[i - 1]).to.be.oneOf([0, 1]);
  });

  it("judges a probe by the connections already open, not by its own slow start", () => {
    // A probe that delivers nothing for three windows, then little, is not let go for it.
    const seen = drive(2, 12, (_open, age) => (age < 3 ? 0 : 1000));
    expect(seen.at(-1)).to.equal(2);
  });

  it("lets a probe go when it takes its bytes from the connections already open, and tries again after a doubling wait", () => {
    // A shared limit (the disk and the hash, or the link): the total stays, split over those open.
    const seen = drive(4, 40, (open) => 1000 / open);
    expect(Math.max(...seen)).to.equal(2);
    const probes = seen.flatMap((n, i) => (n === 2 && (seen[i - 1] ?? 1) === 1 ? [i] : []));
    expect(probes.length).to.equal(3);
    expect(probes[1] - probes[0]).to.be.greaterThan(FIRST_BACKOFF_WINDOWS);
    expect(probes[2] - probes[1]).to.be.greaterThan(2 * FIRST_BACKOFF_WINDOWS);
    expect(seen.at(-1)).to.equal(1);
  });

  it("reaches the maximum after all when a probe let go would pay later (the network changed)", () => {
    const seen = drive(4, 40, (open, _age, window) => (window < 8 ? 1000 / open : 1000));
    expect(seen.slice(0, 6)).to.include(2);
    expect(seen.at(-1)).to.equal(4);
  });

  it("draws the line at MAX_DROP of the others' rate", () => {
    const withDrop = (drop: number) => drive(2, 10, (open) => (open === 1 ? 1000 : 1000 * (1 - drop))).at(-1);
    expect(withDrop(MAX_DROP * 0.9)).to.equal(2);
    expect(withDrop(MAX_DROP * 1.1)).to.equal(1);
  });

  it("settles at once with a maximum of one, and at the maximum once the last probe was kept", () => {
    const one = new ConnectionRamp(1, 0);
    expect(one.settled).to.equal(true);
    expect(one.endWindow(WINDOW)).to.equal(1);
    expect(drive(2, 10, () => 1000).at(-1)).to.equal(2);
  });

  it("opens no probe while the connection waits on its own side (a full write ring), and one once it stops waiting", () => {
    const ramp = new ConnectionRamp(4, 0);
    ramp.opened(0);
    const window = (w: number, waitShare: number) => {
      ramp.received(0, 1000 * WINDOW);
      ramp.waitingForWrites(0, w * WINDOW + 10);
      ramp.reading(0, w * WINDOW + 10 + waitShare * WINDOW);
      return ramp.endWindow((w + 1) * WINDOW);
    };
    for (let w = 0; w < 12; w++) expect(window(w, MAX_LOCAL_WAIT * 1.5)).to.equal(1);
    // Asked again every window, at no cost: no backoff.
    expect(window(12, MAX_LOCAL_WAIT * 0.5)).to.equal(2);
  });

  it("counts a wait in every window it spans, and one still going up to now", () => {
    const ramp = new ConnectionRamp(4, 0);
    ramp.opened(0);
    // Too little of a window to judge, and no whole window yet.
    ramp.waitingForWrites(0, 0);
    expect(ramp.heldBackLocally(MIN_JUDGED)).to.equal(false);
    expect(ramp.heldBackLocally(100)).to.equal(true);
    ramp.endWindow(WINDOW);
    // The wait goes on into the next window: a young window is judged by the last whole one (all waiting).
    expect(ramp.heldBackLocally(WINDOW + 10)).to.equal(true);
    ramp.reading(0, WINDOW + 20);
    // 20 ms of 250 waited in this window: 0.08, under MAX_LOCAL_WAIT.
    expect(ramp.heldBackLocally(2 * WINDOW)).to.equal(false);
    ramp.endWindow(2 * WINDOW);
    // A wait of a connection that closes is dropped with it.
    ramp.waitingForWrites(0, 2 * WINDOW);
    ramp.closed(0);
    ramp.opened(1);
    expect(ramp.heldBackLocally(3 * WINDOW)).to.equal(false);
  });
});
