/**
 * A shutdown whose grace runs out ends each stream still running with its protocol's error event (it used to cut
 * the connection mid-delta, so a client could not tell a finished answer from a killed one).
 */
import { expect } from "chai";
import path from "node:path";
import OpenAI from "openai";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";

const SLOW_MODEL = "slow-shutdown";
const SLOW_OPTIONS = { nEmbd: 384, nLayers: 6, nHead: 6, nFf: 1024 };

describe("shutdown with a stream still running", function () {
  this.timeout(120_000);
  let d: TestDaemon;

  before(async () => {
    d = await startTestDaemon({ MLXM_SHUTDOWN_GRACE: "1s" });
    const store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, SLOW_MODEL, SLOW_OPTIONS);
    await store.close();
  });
  after(async () => d?.stop());

  it("ends an OpenAI stream with an error event saying the daemon is shutting down", async () => {
    const openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: SLOW_MODEL, messages: [{ role: "user", content: "go on" }], max_tokens: 100_000, stream: true });
    let chunks = 0;
    let closing: Promise<void> | undefined;
    const err = await (async () => {
      for await (const _ of stream) if (++chunks === 3) closing = d.daemon.close();
    })().then(() => undefined, (e: unknown) => e as Error);
    await closing;
    expect(err, "the stream should fail in-band").to.be.instanceOf(OpenAI.APIError);
    expect(err!.message).to.contain("shutting down");
  });
});
