import { expect } from "chai";
import { HttpError } from "../../src/daemon/errors.js";
import { ModelPool, type ModelLoader, type ModelPoolOptions, type PoolModel } from "../../src/daemon/engine/model-pool.js";
import { planEviction } from "../../src/daemon/engine/eviction.js";

interface Spec {
  name: string;
  bytes: number;
  /** GPU memory it would take (a faked VRAM state: no GPU is needed). */
  vram?: number;
}

class FakeModel implements PoolModel {
  disposed = false;
  constructor(
    readonly name: string,
    readonly memoryBytes: number,
    readonly vramBytes = 0,
  ) {}
  async dispose() {
    this.disposed = true;
  }
}

/** Loads fake models; each load can be held open until `finish(name)`. */
class FakeLoader implements ModelLoader<Spec, FakeModel> {
  loads: string[] = [];
  unloads: string[] = [];
  models: FakeModel[] = [];
  holding = new Map<string, () => void>();
  hold = false;
  failWith: Error | undefined;

  async estimateMemory(spec: Spec) {
    return { ramBytes: spec.bytes, vramBytes: spec.vram ?? 0 };
  }

  async load(spec: Spec) {
    this.loads.push(spec.name);
    if (this.hold) await new Promise<void>((resolve) => this.holding.set(spec.name, resolve));
    if (this.failWith) throw this.failWith;
    const loader = this;
    const model = new (class extends FakeModel {
      override async dispose() {
        await super.dispose();
        loader.unloads.push(spec.name);
      }
    })(spec.name, spec.bytes, spec.vram);
    this.models.push(model);
    return model;
  }

  finish(name: string) {
    this.holding.get(name)?.();
    this.holding.delete(name);
  }
}

const spec = (name: string, bytes = 100, vram?: number): Spec => ({ name, bytes, ...(vram !== undefined ? { vram } : {}) });

function makePool(loader: FakeLoader, options: Partial<ModelPoolOptions<Spec, FakeModel>> = {}) {
  return new ModelPool<Spec, FakeModel>({
    loader,
    maxMemoryBytes: 1000,
    maxLoadedModels: 3,
    numParallel: 2,
    maxQueue: 2,
    defaultKeepAliveMs: -1,
    ...options,
  });
}

async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function rejection(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (err) {
    return err as HttpError;
  }
  throw new Error("expected a rejection");
}

describe("engine model pool (fake loader)", () => {
  it("shares one load between concurrent requests for a model", async () => {
    const loader = new FakeLoader();
    loader.hold = true;
    const pool = makePool(loader);
    const a = pool.acquire(spec("m"));
    const b = pool.acquire(spec("m"));
    await until(() => loader.holding.has("m"), "the load to start");
    loader.finish("m");
    const [la, lb] = await Promise.all([a, b]);
    expect(loader.loads).to.deep.equal(["m"]);
    expect(la.model).to.equal(lb.model);
    expect(la.cold && lb.cold).to.equal(true);
    la.release();
    lb.release();
    const warm = await pool.acquire(spec("m"));
    expect(warm.cold).to.equal(false);
    // No load was waited for, however long awaiting the loaded model's promise took (it read as 0.1 ms on a busy CI).
    expect(warm.loadMs).to.equal(0);
    warm.release();
    await pool.dispose();
  });

  it("evicts the least recently used idle model when the count limit is reached", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader, { maxLoadedModels: 2 });
    for (const name of ["a", "b"]) (await pool.acquire(spec(name))).release();
    (await pool.acquire(spec("a"))).release(); // a is now more recent than b
    (await pool.acquire(spec("c"))).release();
    expect(loader.unloads).to.deep.equal(["b"]);
    expect(pool.running().map((e) => e.spec.name)).to.deep.equal(["a", "c"]);
    await pool.dispose();
  });

  it("evicts idle models by memory, oldest first, until the new one fits", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader, { maxMemoryBytes: 1000, maxLoadedModels: 10 });
    for (const name of ["a", "b", "c"]) (await pool.acquire(spec(name, 300))).release();
    (await pool.acquire(spec("big", 500))).release();
    expect(loader.unloads).to.deep.equal(["a", "b"]);
    await pool.dispose();
  });

  it("never evicts a model with a request in flight; the load waits until it goes idle", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader, { maxLoadedModels: 1 });
    const busy = await pool.acquire(spec("a"));
    let loadedB = false;
    const b = pool.acquire(spec("b")).then((lease) => {
      loadedB = true;
      return lease;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(loadedB).to.equal(false);
    expect(loader.unloads).to.deep.equal([]);
    expect(pool.running()[0]!.activeRequests).to.equal(1);
    busy.release();
    const lease = await b;
    expect(loader.unloads).to.deep.equal(["a"]);
    lease.release();
    await pool.dispose();
  });

  it("gives up a load waiting for room when its only request is cancelled", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader, { maxLoadedModels: 1 });
    const busy = await pool.acquire(spec("a"));
    const controller = new AbortController();
    const b = pool.acquire(spec("b"), { signal: controller.signal });
    controller.abort();
    expect((await rejection(b)).code).to.equal("cancelled");
    busy.release();
    await until(() => !pool.has("b"), "the abandoned load to go");
    expect(loader.loads).to.deep.equal(["a"]);
    await pool.dispose();
  });

  it("refuses a model larger than the whole budget with unavailable", async () => {
    const pool = makePool(new FakeLoader(), { maxMemoryBytes: 100 });
    const err = await rejection(pool.acquire(spec("huge", 1000)));
    expect(err.code).to.equal("unavailable");
    expect(err.message).to.match(/MLXM_MAX_MEMORY/);
    expect(pool.has("huge")).to.equal(false);
    await pool.dispose();
  });

  it("queues beyond numParallel in FIFO order and answers queue_full with Retry-After", async () => {
    const pool = makePool(new FakeLoader(), { numParallel: 1, maxQueue: 2 });
    const first = await pool.acquire(spec("m"));
    const order: string[] = [];
    const second = pool.acquire(spec("m")).then((l) => (order.push("second"), l));
    const third = pool.acquire(spec("m")).then((l) => (order.push("third"), l));
    await until(() => pool.running()[0]?.queuedRequests === 2, "two queued requests");
    const err = await rejection(pool.acquire(spec("m")));
    expect(err.code).to.equal("queue_full");
    expect(err.status).to.equal(429);
    expect(Number(err.headers?.["retry-after"])).to.be.greaterThanOrEqual(1);
    first.release();
    (await second).release();
    (await third).release();
    expect(order).to.deep.equal(["second", "third"]);
    await pool.dispose();
  });

  it("removes an aborted request from the queue", async () => {
    const pool = makePool(new FakeLoader(), { numParallel: 1, maxQueue: 1 });
    const first = await pool.acquire(spec("m"));
    const controller = new AbortController();
    const queued = pool.acquire(spec("m"), { signal: controller.signal });
    await until(() => pool.running()[0]?.queuedRequests === 1, "a queued request");
    controller.abort();
    expect((await rejection(queued)).code).to.equal("cancelled");
    expect(pool.running()[0]!.queuedRequests).to.equal(0);
    // The freed queue place is usable again.
    const next = pool.acquire(spec("m"));
    first.release();
    (await next).release();
    await pool.dispose();
  });

  it("keep_alive 0 unloads right after the last request", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader, { defaultKeepAliveMs: 60_000 });
    const a = await pool.acquire(spec("m"), { keepAliveMs: 0 });
    const b = await pool.acquire(spec("m"), { keepAliveMs: 0 });
    a.release();
    expect(pool.has("m")).to.equal(true); // b still runs
    b.release();
    await until(() => loader.unloads.length === 1, "the unload");
    expect(pool.running()).to.deep.equal([]);
    await pool.dispose();
  });

  it("keep_alive -1 keeps the model with no expiry; a duration sets expires_at and unloads when it passes", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader, { defaultKeepAliveMs: 60_000 });
    (await pool.acquire(spec("forever"), { keepAliveMs: -1 })).release();
    expect(pool.running()[0]!.expiresAt).to.equal(null);

    (await pool.acquire(spec("default"))).release();
    const entry = pool.running().find((e) => e.spec.name === "default")!;
    expect(entry.expiresAt).to.be.a("number").and.greaterThan(Date.now() + 30_000);

    (await pool.acquire(spec("short"), { keepAliveMs: 20 })).release();
    await until(() => loader.unloads.includes("short"), "the idle unload");
    expect(pool.running().map((e) => e.spec.name)).to.deep.equal(["default", "forever"]);
    await pool.dispose();
  });

  it("evicts pinned (keep_alive -1) models only after other idle ones", () => {
    const victims = planEviction({
      resident: [
        { name: "pinned-old", memoryBytes: 10, idle: true, lastUsed: 1, pinned: true },
        { name: "busy", memoryBytes: 10, idle: false, lastUsed: 0, pinned: false },
        { name: "newer", memoryBytes: 10, idle: true, lastUsed: 5, pinned: false },
      ],
      disposingBytes: 0,
      needBytes: 10,
      maxBytes: 1000,
      maxModels: 2,
    });
    expect(victims).to.deep.equal(["newer", "pinned-old"]);
    expect(
      planEviction({
        resident: [{ name: "busy", memoryBytes: 10, idle: false, lastUsed: 0, pinned: false }],
        disposingBytes: 0,
        needBytes: 10,
        maxBytes: 1000,
        maxModels: 1,
      }),
    ).to.equal(undefined);
  });

  it("plans eviction for GPU memory apart from RAM", () => {
    const resident = [
      { name: "gpu-old", memoryBytes: 10, vramBytes: 600, idle: true, lastUsed: 1, pinned: false },
      { name: "cpu-older", memoryBytes: 10, vramBytes: 0, idle: true, lastUsed: 0, pinned: false },
    ];
    const base = { resident, disposingBytes: 0, needBytes: 10, maxBytes: 1000, maxModels: 5 };
    // RAM fits; the VRAM does not until a model holding VRAM goes (the older CPU-only model is not enough).
    expect(planEviction({ ...base, needVramBytes: 500, maxVramBytes: 1000 })).to.deep.equal(["cpu-older", "gpu-old"]);
    expect(planEviction({ ...base, needVramBytes: 400, maxVramBytes: 1000 })).to.deep.equal([]);
    expect(planEviction({ ...base, needVramBytes: 500, maxVramBytes: 1000, disposingVramBytes: 600 })).to.equal(undefined);
    // No VRAM budget given: GPU memory does not limit (the CPU case).
    expect(planEviction({ ...base, needVramBytes: 5000 })).to.deep.equal([]);
  });

  it("admits models by their VRAM against the GPU's memory, reporting it per model", async () => {
    const loader = new FakeLoader();
    let deviceVram = 1000;
    const pool = makePool(loader, { maxVramBytes: () => deviceVram });
    (await pool.acquire(spec("a", 100, 600))).release();
    (await pool.acquire(spec("cpu", 100, 0))).release();
    expect(pool.running().map((e) => [e.spec.name, e.memoryBytes, e.vramBytes])).to.deep.equal([
      ["a", 100, 600],
      ["cpu", 100, 0],
    ]);
    // b's VRAM does not fit beside a's: a (the only model holding VRAM) is evicted although RAM has room.
    (await pool.acquire(spec("b", 100, 600))).release();
    expect(loader.unloads).to.deep.equal(["a"]);
    expect(pool.running().map((e) => e.spec.name)).to.deep.equal(["b", "cpu"]);
    // More VRAM than the device has: a clear refusal, not a load that fails inside llama.cpp.
    deviceVram = 500;
    const err = await rejection(pool.acquire(spec("huge", 100, 600)));
    expect(err.code).to.equal("unavailable");
    expect(err.message).to.match(/GPU memory/).and.match(/MLXM_GPU_LAYERS/);
    await pool.dispose();
  });

  it("unload waits for in-flight requests, then disposes", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader);
    const lease = await pool.acquire(spec("m"));
    let unloaded = false;
    const unloading = pool.unload("m").then((r) => ((unloaded = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(unloaded).to.equal(false);
    lease.release();
    expect(await unloading).to.equal(true);
    expect(loader.unloads).to.deep.equal(["m"]);
    expect(await pool.unload("m")).to.equal(false);
    await pool.dispose();
  });

  it("a failed load reaches every waiting request and the next request tries again", async () => {
    const loader = new FakeLoader();
    loader.failWith = new HttpError("invalid_model", "bad file");
    const pool = makePool(loader);
    const results = await Promise.allSettled([pool.acquire(spec("m")), pool.acquire(spec("m"))]);
    expect(results.map((r) => r.status)).to.deep.equal(["rejected", "rejected"]);
    expect(loader.loads).to.deep.equal(["m"]);
    loader.failWith = undefined;
    (await pool.acquire(spec("m"))).release();
    expect(loader.loads).to.deep.equal(["m", "m"]);
    await pool.dispose();
  });

  it("dispose unloads everything and refuses new requests", async () => {
    const loader = new FakeLoader();
    const pool = makePool(loader);
    (await pool.acquire(spec("a"))).release();
    (await pool.acquire(spec("b"))).release();
    await pool.dispose();
    expect(loader.unloads.sort()).to.deep.equal(["a", "b"]);
    expect((await rejection(pool.acquire(spec("a")))).code).to.equal("unavailable");
  });
});
