/**
 * Sampling chained behind decoding (engine/direct-decode.ts): while libuv's pool runs one job at a time (a single
 * thread, or the others parked: engine/pool-parking.ts) the lean loop queues each token's sample while its decode still
 * runs. libuv sizes the pool once per process, so each pool size runs in a child process
 * (test/helpers/direct-decode-child.ts). Whatever the pool, the tokens must be node-llama-cpp's own, greedy, seeded with
 * penalties (the sampler's configuration changes every token) and under a JSON grammar (the sampler's grammar state
 * advances with every token).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import type { DirectDecodeChildResult } from "../helpers/direct-decode-child.js";

const CHILD = fileURLToPath(new URL("../helpers/direct-decode-child.ts", import.meta.url));

async function runChild(poolThreads: string, env: Record<string, string> = {}): Promise<DirectDecodeChildResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, UV_THREADPOOL_SIZE: poolThreads, ...env },
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as DirectDecodeChildResult;
}

describe("direct decode: sampling chained behind decoding (real node-llama-cpp, child processes)", function () {
  this.timeout(180_000);

  it("chains every sample after the first on a single-thread pool, and the tokens are node-llama-cpp's", async () => {
    const result = await runChild("1");
    expect(result.cases.map((c) => c.name)).to.deep.equal(["greedy", "seeded with penalties", "json grammar"]);
    for (const { name, lean, classic } of result.cases) {
      expect(lean, name).to.deep.equal(classic);
      expect(lean.length, name).to.be.greaterThan(5);
    }
    // Each case's first token follows the prompt's decode, not one decoded ahead; every later one is chained.
    const tokens = result.cases.reduce((n, c) => n + c.lean.length, 0);
    expect(result.stats.chained).to.equal(tokens - result.cases.length);
  });

  it("on a pool of four, parks three threads for each evaluation and chains behind them, with the same tokens", async () => {
    const result = await runChild("4");
    for (const { name, lean, classic } of result.cases) expect(lean, name).to.deep.equal(classic);
    const tokens = result.cases.reduce((n, c) => n + c.lean.length, 0);
    // Parking is confirmed while the prompt decodes, so nearly every sample after the first is chained.
    expect(result.stats.chained).to.be.greaterThan(tokens / 2);
    expect(result.stats.chained).to.be.at.most(tokens - result.cases.length);
    // One park per evaluation, each released when it ended; the probe always came back.
    expect(result.parking).to.deep.equal({ parks: 3, releases: 3, timeouts: 0, parkedAtEnd: false });
  });

  it("does not chain on a pool of more threads without parking (a sample could run beside its decode), with the same tokens", async () => {
    const result = await runChild("2", { MLXM_POOL_PARKING: "false" });
    for (const { name, lean, classic } of result.cases) expect(lean, name).to.deep.equal(classic);
    expect(result.stats.ahead).to.be.greaterThan(0);
    expect(result.stats.chained).to.equal(0);
    expect(result.parking.parks).to.equal(0);
  });
});
