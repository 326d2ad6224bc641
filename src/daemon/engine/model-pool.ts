/**
 * The pool of loaded models. Loads on first use, and requests for a model that is loading share that one load.
 * A memory budget and a model-count limit are enforced by unloading the least recently used idle models; a model
 * with requests running or queued is never unloaded (a load that cannot make room waits until some model goes
 * idle). Each model admits `numParallel` requests at once through its {@link SlotQueue}. Idle models unload after
 * their keep-alive (Ollama semantics: 0 unloads right after the request, negative keeps the model loaded; such a
 * model is still evicted for room, but only after every other idle model).
 *
 * The loader is injected (like Ollama's scheduler takes `newServerFn`), so this logic is tested with fake models.
 */
import { HttpError } from "../errors.js";
import { planEviction, type ResidentModel } from "./eviction.js";
import { Entry, abortable, cancelled, shuttingDown } from "./model-pool-entry.js";
import { QueueAbortedError, QueueFullError, SlotQueue } from "./slot-queue.js";
import { formatBinaryBytes } from "../../config/parse.js";
import type {
  AcquireOptions,
  MemoryFootprint,
  ModelLease,
  ModelPoolOptions,
  PoolEntryState,
  PoolModel,
  PoolModelSpec,
} from "./model-pool-types.js";

export type {
  AcquireOptions,
  MemoryFootprint,
  ModelLease,
  ModelLoader,
  ModelPoolOptions,
  PoolEntryState,
  PoolModel,
  PoolModelSpec,
} from "./model-pool-types.js";

/** setTimeout cannot wait longer than this; longer keep-alives re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ModelPool<S extends PoolModelSpec, M extends PoolModel> {
  readonly #entries = new Map<string, Entry<S, M>>();
  readonly #wakers = new Set<() => void>();
  #disposingBytes = 0;
  #disposingVramBytes = 0;
  #disposed = false;
  #uses = 0;

  constructor(private readonly options: ModelPoolOptions<S, M>) {}

  /**
   * A slot on the loaded model `spec.name`, loading it first if needed. Rejects with `queue_full` (429, Retry-After)
   * when its queue is full, `cancelled` when `signal` aborts while waiting, `unavailable` when the model can never fit
   * the memory budget or the pool is shutting down, and with the loader's error when the load fails.
   */
  async acquire(spec: S, { keepAliveMs, signal }: AcquireOptions = {}): Promise<ModelLease<S, M>> {
    if (this.#disposed) throw shuttingDown();
    if (signal?.aborted) throw cancelled(spec.name);
    let entry = this.#entries.get(spec.name);
    if (entry?.slots.full) {
      const retryAfter = String(entry.slots.retryAfterSeconds());
      throw new HttpError(
        "queue_full",
        `model "${spec.name}" is busy: ${entry.slots.active} requests running and ${entry.slots.queued} waiting ` +
          `(MLXM_NUM_PARALLEL=${entry.slots.slots}, MLXM_MAX_QUEUE=${entry.slots.maxQueue}); retry after ${retryAfter}s`,
        { model: spec.name, queued: entry.slots.queued },
        { "retry-after": retryAfter },
      );
    }
    entry ??= this.#startLoad(spec);
    entry.keepAliveMs = keepAliveMs ?? this.options.defaultKeepAliveMs;
    const cold = entry.state !== "ready";
    this.#markBusy(entry);

    const arrived = performance.now();
    let releaseSlot: () => void;
    try {
      releaseSlot = await entry.slots.acquire(signal);
    } catch (err) {
      this.#whenIdle(entry);
      if (err instanceof QueueAbortedError) throw cancelled(spec.name);
      if (err instanceof QueueFullError) throw new HttpError("queue_full", `model "${spec.name}" is busy`, undefined, { "retry-after": "1" });
      throw err;
    }
    const gotSlot = performance.now();
    let model: M;
    try {
      model = await abortable(entry.ready, signal, () => cancelled(spec.name));
    } catch (err) {
      releaseSlot();
      this.#whenIdle(entry);
      throw err;
    }
    const loaded = performance.now();
    const target = entry;
    return {
      spec: entry.spec,
      model,
      cold,
      queueMs: gotSlot - arrived,
      // A model loaded already took no load: the await of its settled promise is a tick, which a busy machine
      // stretched to 0.1 ms and Ollama clients then read as a load (`load_duration`).
      loadMs: cold ? loaded - gotSlot : 0,
      release: () => {
        releaseSlot();
        target.lastUsedAt = Date.now();
        target.lastUse = ++this.#uses;
        this.#whenIdle(target);
      },
    };
  }

  /** Loaded models, by name. */
  running(): PoolEntryState<S, M>[] {
    const now = Date.now();
    return [...this.#entries.values()]
      .filter((e): e is Entry<S, M> & { model: M } => e.state === "ready" && e.model !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => ({
        spec: e.spec,
        model: e.model,
        memoryBytes: e.memoryBytes,
        vramBytes: e.vramBytes,
        activeRequests: e.slots.active,
        queuedRequests: e.slots.queued,
        expiresAt: e.slots.idle ? e.expiresAt : e.keepAliveMs < 0 ? null : now + e.keepAliveMs,
        loadedAt: e.loadedAt,
        lastUsedAt: e.lastUsedAt,
      }));
  }

  /** True when `name` is loaded or loading. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * Unload `name` once its running and queued requests have finished. Resolves true when it was loaded (after it is
   * disposed), false when it was not.
   */
  async unload(name: string): Promise<boolean> {
    const entry = this.#entries.get(name);
    if (!entry) return false;
    if (entry.state !== "ready") {
      try {
        await entry.ready;
      } catch {
        return false;
      }
    }
    entry.unloadRequested = true;
    this.#whenIdle(entry);
    await this.#closed(entry);
    return true;
  }

  /** Refuse new requests, reject queued ones, and dispose every model (in reverse order of loading). */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const entries = [...this.#entries.values()];
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.slots.rejectQueued(shuttingDown());
    }
    await Promise.allSettled(entries.map((e) => e.ready));
    const byLoad = entries.filter((e) => e.state === "ready").sort((a, b) => b.loadedAt - a.loadedAt);
    for (const entry of byLoad) await this.#close(entry);
    this.#changed();
  }

  #startLoad(spec: S): Entry<S, M> {
    const entry = new Entry<S, M>(
      spec,
      new SlotQueue(this.options.numParallel, this.options.maxQueue, () => this.#changed()),
      this.options.defaultKeepAliveMs,
    );
    this.#entries.set(spec.name, entry);
    entry.ready = (async () => {
      entry.estimate = await this.options.loader.estimateMemory(spec);
      await this.#reserve(entry);
      entry.state = "loading";
      const model = await this.options.loader.load(spec);
      if (this.#disposed) {
        await model.dispose();
        throw shuttingDown();
      }
      entry.model = model;
      entry.state = "ready";
      entry.loadedAt = Date.now();
      entry.lastUsedAt = entry.loadedAt;
      entry.lastUse = ++this.#uses;
      return model;
    })();
    entry.ready.then(
      () => {
        this.#changed();
        // Everyone who wanted it may have gone while it loaded.
        this.#whenIdle(entry);
      },
      () => {
        if (this.#entries.get(spec.name) === entry) this.#entries.delete(spec.name);
        entry.state = "closing";
        this.#changed();
      },
    );
    this.#changed();
    return entry;
  }

  /**
   * Make room for `entry`: evict idle models until it fits, or wait until some model goes idle. Marks the entry as
   * holding memory synchronously with the eviction decision, so concurrent loads never count the same room twice.
   */
  async #reserve(entry: Entry<S, M>): Promise<void> {
    const { maxMemoryBytes, maxLoadedModels } = this.options;
    const { ramBytes, vramBytes } = entry.estimate;
    if (ramBytes > maxMemoryBytes) {
      throw new HttpError(
        "unavailable",
        `model "${entry.name}" needs about ${formatBinaryBytes(ramBytes)} of memory, more than the ` +
          `${formatBinaryBytes(maxMemoryBytes)} budget; raise MLXM_MAX_MEMORY or lower MLXM_CONTEXT_SIZE / MLXM_NUM_PARALLEL`,
        { model: entry.name, neededBytes: ramBytes, budgetBytes: maxMemoryBytes },
      );
    }
    const maxVramBytes = this.options.maxVramBytes?.() ?? Number.POSITIVE_INFINITY;
    if (vramBytes > maxVramBytes) {
      throw new HttpError(
        "unavailable",
        `model "${entry.name}" needs about ${formatBinaryBytes(vramBytes)} of GPU memory, more than the ` +
          `${formatBinaryBytes(maxVramBytes)} the GPU has; lower MLXM_GPU_LAYERS (or set it to auto) or MLXM_CONTEXT_SIZE`,
        { model: entry.name, neededVramBytes: vramBytes, vramBytes: maxVramBytes },
      );
    }
    for (;;) {
      if (this.#disposed) throw shuttingDown();
      // Every request that wanted this model has gone: give up the load rather than evict for nobody. Removed
      // at once, so a request arriving now starts a fresh load instead of joining this one.
      if (entry.slots.idle) {
        if (this.#entries.get(entry.name) === entry) this.#entries.delete(entry.name);
        throw cancelled(entry.name);
      }
      const resident: ResidentModel[] = [...this.#entries.values()]
        .filter((e) => e !== entry && (e.state === "loading" || e.state === "ready"))
        .map((e) => ({
          name: e.name,
          memoryBytes: e.memoryBytes,
          vramBytes: e.vramBytes,
          idle: e.state === "ready" && e.slots.idle,
          lastUsed: e.lastUse,
          pinned: e.keepAliveMs < 0,
        }));
      const victims = planEviction({
        resident,
        disposingBytes: this.#disposingBytes,
        needBytes: ramBytes,
        maxBytes: maxMemoryBytes,
        disposingVramBytes: this.#disposingVramBytes,
        needVramBytes: vramBytes,
        maxVramBytes,
        maxModels: maxLoadedModels,
      });
      if (victims) {
        const closing = victims.map((name) => this.#close(this.#entries.get(name)!));
        entry.state = "loading";
        await Promise.all(closing);
        return;
      }
      await new Promise<void>((resolve) => this.#wakers.add(resolve));
    }
  }

  #markBusy(entry: Entry<S, M>): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  /** An entry that just went idle: unload it now, arm its keep-alive timer, or keep it forever. */
  #whenIdle(entry: Entry<S, M>): void {
    this.#changed();
    if (entry.state !== "ready" || !entry.slots.idle) return;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.unloadRequested || entry.keepAliveMs === 0 || this.#disposed) {
      void this.#close(entry);
      return;
    }
    if (entry.keepAliveMs < 0) {
      entry.expiresAt = null;
      return;
    }
    entry.expiresAt = Date.now() + entry.keepAliveMs;
    this.#arm(entry);
  }

  #arm(entry: Entry<S, M>): void {
    const delay = Math.min(Math.max(0, (entry.expiresAt ?? 0) - Date.now()), MAX_TIMER_MS);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.state !== "ready" || !entry.slots.idle || entry.expiresAt === null) return;
      if (Date.now() >= entry.expiresAt) void this.#close(entry);
      else this.#arm(entry);
    }, delay);
    entry.timer.unref();
  }

  /** Remove a ready entry and dispose its model; its memory counts as in use until the dispose finishes. */
  #close(entry: Entry<S, M>): Promise<void> {
    if (entry.closing) return entry.closing;
    if (this.#entries.get(entry.name) === entry) this.#entries.delete(entry.name);
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.state = "closing";
    const bytes = entry.memoryBytes;
    const vramBytes = entry.vramBytes;
    this.#disposingBytes += bytes;
    this.#disposingVramBytes += vramBytes;
    entry.closing = (async () => {
      try {
        await entry.model?.dispose();
      } catch (err) {
        this.options.onError?.(err, entry.name);
      } finally {
        this.#disposingBytes -= bytes;
        this.#disposingVramBytes -= vramBytes;
        this.#changed();
      }
    })();
    this.#changed();
    return entry.closing;
  }

  /** Resolves when `entry` has been closed. */
  async #closed(entry: Entry<S, M>): Promise<void> {
    while (!entry.closing) await new Promise<void>((resolve) => this.#wakers.add(resolve));
    await entry.closing;
  }

  #changed(): void {
    this.options.onChange?.();
    const wakers = [...this.#wakers];
    this.#wakers.clear();
    for (const wake of wakers) wake();
  }
}
