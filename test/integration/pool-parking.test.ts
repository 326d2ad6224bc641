/**
 * Parking libuv's pool (engine/pool-parking.ts) on a real pool: in a child process (test/helpers/pool-parking-child.ts),
 * since parking the test runner's own pool would hold up every other test's file work.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { libuvPoolSize } from "../../src/daemon/engine/pool-parking.js";
import { createMetrics } from "../../src/observability/metrics.js";
import type { PoolParkingChildResult } from "../helpers/pool-parking-child.js";

const CHILD = fileURLToPath(new URL("../helpers/pool-parking-child.ts", import.meta.url));

describe("pool parking", function () {
  this.timeout(60_000);

  it("reads UV_THREADPOOL_SIZE as libuv does", () => {
    expect(libuvPoolSize(undefined)).to.equal(4);
    expect(libuvPoolSize("1")).to.equal(1);
    expect(libuvPoolSize(" 8threads")).to.equal(8);
    expect(libuvPoolSize("0")).to.equal(1);
    expect(libuvPoolSize("junk")).to.equal(1);
    expect(libuvPoolSize("")).to.equal(1);
    expect(libuvPoolSize("5000")).to.equal(1024);
    expect(libuvPoolSize("-2")).to.equal(undefined);
  });

  it("counts parks on /metrics", async () => {
    let parks = 3;
    const metrics = createMetrics({ poolParks: () => parks });
    expect(await metrics.registry.metrics()).to.match(/^mlxm_pool_parks_total 3$/m);
    parks = 5;
    expect(await metrics.registry.metrics()).to.match(/^mlxm_pool_parks_total 5$/m);
  });

  it("leaves one runnable thread while parked, and gives the others back when anything else needs them", async function () {
    if (process.platform === "win32") this.skip();
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", CHILD], {
      env: { ...process.env, UV_THREADPOOL_SIZE: "4" },
      timeout: 50_000,
    });
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as PoolParkingChildResult;
    expect(r.poolSize).to.equal(4);
    expect(r.openRunsBeside, "unparked, a job runs beside a blocked one").to.equal(true);
    expect(r.oneUserKeeps, "the loop's own request alone keeps it parked").to.equal(true);
    expect(r.parkedRunsOneAtATime, "parked, a job waits for the blocked one").to.equal(true);
    expect(r.releaseWaitedForChain, "a chained job holds the threads until it is over").to.equal(true);
    expect(r.secondUserReleases, "a second user gets the threads back").to.equal(true);
    expect(r.leaveReleases, "leave() gives them back").to.equal(true);
    // A fork write-protects every page of the process: a FIFO made at the first park, with a model loaded, made every
    // later first write to a KV-cache page a fault (the first prompt of each new sequence 1.1-1.3x slower).
    const { prepared, madeByThePark, pages } = r.rewriteFaults;
    expect(prepared, `faults rewriting ${pages} pages after a prepared park (${madeByThePark} when the park made the FIFO)`).to.be.below(pages / 4);
    expect(r.tooSmall).to.deep.equal({ timeouts: 1, recovered: true, parksAfter: false });
  });
});
