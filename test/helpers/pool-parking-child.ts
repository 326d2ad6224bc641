/**
 * PoolParking (engine/pool-parking.ts) on a real libuv pool, in a process of its own: parking holds all the pool's
 * threads but one, which a test can only see from outside the test runner's own pool. Usage:
 * `UV_THREADPOOL_SIZE=4 node --import tsx test/helpers/pool-parking-child.ts`. Prints one JSON line of observations.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libuvPoolSize, PoolParking } from "../../src/daemon/engine/pool-parking.js";

/** What the child prints. */
export interface PoolParkingChildResult {
  poolSize: number | undefined;
  /** Parked: a job queued behind one blocking job waited for it. */
  parkedRunsOneAtATime: boolean;
  /** Open: a job queued behind one blocking job ran beside it. */
  openRunsBeside: boolean;
  /** A second user released the threads; the first alone did not. */
  oneUserKeeps: boolean;
  secondUserReleases: boolean;
  /** While a chained job ran, a second user's release waited for it. */
  releaseWaitedForChain: boolean;
  /** leave() released. */
  leaveReleases: boolean;
  /**
   * Minor page faults taken rewriting {@link REWRITTEN_BYTES} of memory written before a park: after `prepare()`, and
   * (for comparison) with the FIFO made by the park itself, whose `mkfifo` child forks this process.
   */
  rewriteFaults: { prepared: number; madeByThePark: number; pages: number };
  /** A pool smaller than told: the probe never came back, the threads were released and parking stopped. */
  tooSmall: { timeouts: number; recovered: boolean; parksAfter: boolean };
}

const dir = fs.mkdtempSync(join(tmpdir(), "mlxm-park-child-"));
const blockerPath = join(dir, "blocker");
execFileSync("mkfifo", [blockerPath]);
const blocker = fs.openSync(blockerPath, fs.constants.O_RDWR);
const poolSize = libuvPoolSize(process.env.UV_THREADPOOL_SIZE);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves when `check` holds (polled), or false after `ms`. */
async function until(check: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(2);
  }
  return true;
}

/** Queues a pool job that blocks until `unblock()`, then a stat: whether the stat finished while the first blocked. */
async function statRunsBesideABlockedJob(): Promise<boolean> {
  let blockedDone = false;
  fs.read(blocker, Buffer.alloc(1), 0, 1, null, () => {
    blockedDone = true;
  });
  let statDone = false;
  fs.stat(dir, () => {
    statDone = true;
  });
  await sleep(300);
  const beside = statDone;
  fs.writeSync(blocker, Buffer.alloc(1));
  await until(() => blockedDone && statDone);
  return beside;
}

/** Memory written, then a park, then the same memory written again (see `rewriteFaults`). */
const REWRITTEN_BYTES = 64 * 1024 * 1024;

async function faultsRewritingAcrossAPark(parking: PoolParking): Promise<number> {
  const memory = Buffer.alloc(REWRITTEN_BYTES, 1);
  parking.request();
  await until(() => parking.ordered());
  parking.leave();
  const before = process.resourceUsage().minorPageFault;
  memory.fill(2);
  return process.resourceUsage().minorPageFault - before;
}

const parking = new PoolParking({ poolSize });
const result: Partial<PoolParkingChildResult> = { poolSize };
try {
  result.openRunsBeside = await statRunsBesideABlockedJob();

  const own = parking.use();
  parking.request();
  await until(() => parking.ordered());
  result.oneUserKeeps = parking.ordered();
  result.parkedRunsOneAtATime = !(await statRunsBesideABlockedJob());

  let finishChain!: () => void;
  const chain = new Promise<void>((r) => (finishChain = r));
  parking.chained(chain);
  const other = parking.use();
  const heldDuringChain = parking.parked && !parking.ordered();
  finishChain();
  await chain;
  await sleep(0);
  result.releaseWaitedForChain = heldDuringChain && !parking.parked;
  result.secondUserReleases = (await statRunsBesideABlockedJob()) && !parking.parked;
  other();

  parking.request();
  await until(() => parking.ordered());
  parking.leave();
  result.leaveReleases = !parking.parked && (await statRunsBesideABlockedJob());
  own();

  const prepared = new PoolParking({ poolSize });
  prepared.prepare();
  result.rewriteFaults = {
    prepared: await faultsRewritingAcrossAPark(prepared),
    madeByThePark: await faultsRewritingAcrossAPark(new PoolParking({ poolSize })),
    pages: REWRITTEN_BYTES / 4096,
  };

  // Told the pool has twice its threads: every thread ends up parked and the probe cannot run.
  const wrong = new PoolParking({ poolSize: poolSize! * 2, confirmTimeoutMs: 300 });
  wrong.request();
  await sleep(600);
  let recovered = false;
  fs.stat(dir, () => {
    recovered = true;
  });
  await until(() => recovered);
  wrong.request();
  result.tooSmall = { timeouts: wrong.stats.timeouts, recovered, parksAfter: wrong.parked };
  console.log(JSON.stringify(result));
} finally {
  fs.closeSync(blocker);
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
