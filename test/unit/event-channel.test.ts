import { expect } from "chai";
import { EventChannel } from "../../src/daemon/engine/event-channel.js";

describe("event channel", () => {
  async function order(wakeLate: boolean): Promise<string[]> {
    const channel = new EventChannel<string>({ wakeLate });
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const item of channel) seen.push(item);
    })();
    await new Promise((r) => setImmediate(r)); // the consumer is waiting
    channel.push("a");
    // What node-llama-cpp does right after reporting a token: queue the next decode from a setImmediate, scheduled
    // from a promise continuation.
    void Promise.resolve().then(() => setImmediate(() => seen.push("next decode queued")));
    channel.push("b");
    channel.end();
    await consumer;
    await new Promise((r) => setImmediate(r));
    return seen;
  }

  it("wakes a waiting consumer at once by default", async () => {
    expect(await order(false)).to.deep.equal(["a", "b", "next decode queued"]);
  });

  it("with wakeLate, wakes it only after an immediate queued in the same turn, keeping every item in order", async () => {
    expect(await order(true)).to.deep.equal(["next decode queued", "a", "b"]);
  });

  it("with wakeLate, still ends with the error after the items", async () => {
    const channel = new EventChannel<number>({ wakeLate: true });
    const seen: number[] = [];
    const consumed = (async () => {
      for await (const n of channel) seen.push(n);
    })();
    channel.push(1);
    channel.fail(new Error("boom"));
    let error: unknown;
    await consumed.catch((err: unknown) => (error = err));
    expect(seen).to.deep.equal([1]);
    expect((error as Error).message).to.equal("boom");
  });
});
