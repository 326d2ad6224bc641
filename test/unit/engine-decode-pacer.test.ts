import { expect } from "chai";
import { DecodePacer, type PacedPredictor } from "../../src/daemon/engine/decode-pacer.js";

/** Lets scheduled releases (setImmediate) and their promise callbacks run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A generating sequence: its first `predictTokens()` after `pushTokens()` makes it a member. */
function generating(pacer: DecodePacer, order: number): PacedPredictor {
  const p = pacer.predictor(order);
  p.reset();
  p.pushTokens();
  return p;
}

/**
 * Members join: each arrives once. The first runs free while it is alone, the others wait for it to come back,
 * so it arrives once more and all are released.
 */
async function join(members: PacedPredictor[]): Promise<void> {
  const arrivals = members.map((m) => m.predictTokens());
  arrivals.push(members[0]!.predictTokens());
  await tick();
  await Promise.all(arrivals);
}

/** Every member arrives once (in the given order); resolves with the order they were released in. */
async function step(members: PacedPredictor[]): Promise<number[]> {
  const released: number[] = [];
  const arrivals = members.map((m) => Promise.resolve(m.predictTokens()).then(() => released.push(m.order)));
  await tick();
  await Promise.all(arrivals);
  return released;
}

describe("DecodePacer", () => {
  let pacers: DecodePacer[] = [];
  const newPacer = (...args: ConstructorParameters<typeof DecodePacer>) => {
    const pacer = new DecodePacer(...args);
    pacers.push(pacer);
    return pacer;
  };
  afterEach(() => {
    // Every step was completed by its members, never by the safety net.
    for (const pacer of pacers) expect(pacer.stats.guardReleases).to.equal(0);
    pacers = [];
  });

  it("lets a lone generating sequence run without waiting", () => {
    const pacer = newPacer();
    const a = generating(pacer, 0);
    for (let i = 0; i < 5; i++) expect(a.predictTokens()).to.deep.equal([]);
    expect(pacer.mode).to.equal("free");
  });

  it("never holds back a prompt", () => {
    const pacer = newPacer();
    const [a, b] = [generating(pacer, 0), generating(pacer, 1)];
    void a.predictTokens();
    void b.predictTokens();
    const c = pacer.predictor(2);
    c.reset(); // a new evaluation: its first decode is the prompt
    expect(c.predictTokens()).to.deep.equal([]);
  });

  it("steps several sequences together, released in sequence-id order whatever order they arrived in", async () => {
    const pacer = newPacer();
    const members = [generating(pacer, 2), generating(pacer, 0), generating(pacer, 1)];
    await join(members);
    expect(pacer.mode).to.equal("lockstep");
    const waits = members.slice(0, 2).map((m) => m.predictTokens());
    expect(waits.every((w) => w instanceof Promise)).to.equal(true);
    let released = false;
    void Promise.all(waits).then(() => (released = true));
    await tick();
    expect(released, "released before the third member arrived").to.equal(false);
    expect(await step(members)).to.deep.equal([0, 1, 2]);
  });

  it("goes on without a member that leaves mid-step", async () => {
    const pacer = newPacer();
    const [a, b] = [generating(pacer, 0), generating(pacer, 1)];
    await join([a, b]);
    const waiting = a.predictTokens();
    b.leave();
    await tick();
    expect(await waiting).to.deep.equal([]);
    expect(pacer.mode).to.equal("free");
    expect(a.predictTokens()).to.deep.equal([]);
  });

  it("while something needs the context's lock, even a lone sequence stops between tokens", async () => {
    const pacer = newPacer();
    const a = generating(pacer, 0);
    expect(a.predictTokens()).to.deep.equal([]);
    const release = pacer.hold();
    const waiting = a.predictTokens();
    expect(waiting).to.be.instanceOf(Promise);
    await tick();
    expect(await waiting).to.deep.equal([]);
    release();
    expect(a.predictTokens()).to.deep.equal([]);
  });

  it("a sequence handed to a request holds the pacer until its prompt is queued", async () => {
    const pacer = newPacer();
    const a = generating(pacer, 0);
    expect(a.predictTokens()).to.deep.equal([]);
    const b = pacer.predictor(1);
    b.prepare();
    expect(a.predictTokens()).to.be.instanceOf(Promise);
    await tick();
    b.reset();
    expect(b.predictTokens()).to.deep.equal([]); // the prompt: queued now, the hold ends
    expect(a.predictTokens()).to.deep.equal([]);
  });

  it("measures lockstep and free running per member count and keeps the faster, re-checking now and then", async () => {
    let now = 0;
    const pacer = newPacer({ now: () => now, windowSteps: 2, recheckEvery: 4 });
    const members = [generating(pacer, 0), generating(pacer, 1)];
    await join(members);
    // Each window is 2 steps of 2 members; a token costs 2.5 ms in lockstep and 1.25 ms free (free is 2x faster).
    const modes = [pacer.mode];
    let windows = 0;
    const generate = async (member: PacedPredictor) => {
      for (let i = 0; i < 40; i++) {
        now += pacer.mode === "lockstep" ? 2.5 : 1.25;
        await member.predictTokens();
        const completed = pacer.rates().get(2)?.windows ?? 0;
        if (completed !== windows) {
          windows = completed;
          modes.push(pacer.mode);
        }
      }
      member.leave();
    };
    await Promise.all(members.map(generate));
    expect(modes).to.have.length(21);
    expect(modes.slice(0, 3)).to.deep.equal(["lockstep", "free", "free"]);
    // A 2x gap: the slower mode is measured again every 16 windows (4 x 4), not every 4.
    expect(modes.flatMap((m, i) => (m === "lockstep" ? [i] : []))).to.deep.equal([0, 16]);
    const rates = pacer.rates().get(2)!;
    expect(rates.free).to.be.greaterThan(rates.lockstep!);
  });
});
