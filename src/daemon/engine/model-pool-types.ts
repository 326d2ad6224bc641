/** The model pool's contract: what it loads, how it is configured, and what it hands out and reports. */
/** Memory a model takes, system RAM and GPU memory apart (they are separate budgets). */
export interface MemoryFootprint {
  ramBytes: number;
  /** 0 when nothing is offloaded to a GPU. */
  vramBytes: number;
}

/** A loaded model as the pool sees it. */
export interface PoolModel {
  /** RAM bytes it holds now (weights, contexts); read whenever the budget is checked, so it may grow. */
  readonly memoryBytes: number;
  /** GPU memory it holds now; absent or 0 on the CPU. */
  readonly vramBytes?: number;
  dispose(): Promise<void>;
}

/** What the pool needs to know about a model before loading it. */
export interface PoolModelSpec {
  name: string;
}

/** Loads models for the pool. Errors (an invalid file, a failed load) reach every request waiting for that load. */
export interface ModelLoader<S extends PoolModelSpec, M extends PoolModel> {
  /** Memory loading `spec` will take, estimated before loading; used to decide what to evict. */
  estimateMemory(spec: S): Promise<MemoryFootprint>;
  load(spec: S): Promise<M>;
}

export interface ModelPoolOptions<S extends PoolModelSpec, M extends PoolModel> {
  loader: ModelLoader<S, M>;
  maxMemoryBytes: number;
  /**
   * The GPU memory budget, read at each admission (the device's VRAM as node-llama-cpp reports it, known only once
   * the binding is up). Undefined: GPU memory is not limited by the pool (the CPU case, where every need is 0).
   */
  maxVramBytes?: () => number;
  maxLoadedModels: number;
  /** Requests one model serves at once. */
  numParallel: number;
  /** Requests waiting per model beyond those; more get `queue_full`. */
  maxQueue: number;
  /** keep_alive for requests that give none, in ms (negative: forever). */
  defaultKeepAliveMs: number;
  /** Called whenever anything `running()` reports may have changed (for metrics). */
  onChange?: () => void;
  /** Called with errors nobody awaits (a model failing to dispose). */
  onError?: (err: unknown, model: string) => void;
}

export interface AcquireOptions {
  /** Ollama keep_alive in ms: 0 unloads after this request, negative keeps the model loaded; default from options. */
  keepAliveMs?: number;
  signal?: AbortSignal;
}

/** A request's hold on a loaded model and one of its slots. */
export interface ModelLease<S extends PoolModelSpec, M extends PoolModel> {
  readonly spec: S;
  readonly model: M;
  /** The model was not loaded when the request arrived: it waited for (or triggered) the load. */
  readonly cold: boolean;
  /** Time spent waiting for a slot. */
  readonly queueMs: number;
  /** Time spent waiting for the model to load, after getting a slot. */
  readonly loadMs: number;
  /** Give the slot back. Idempotent. */
  release(): void;
}

/** One loaded model, for `/api/ps`. */
export interface PoolEntryState<S extends PoolModelSpec, M extends PoolModel> {
  spec: S;
  model: M;
  memoryBytes: number;
  vramBytes: number;
  activeRequests: number;
  queuedRequests: number;
  /** When it unloads if it stays idle (ms since epoch), or null when kept loaded forever. */
  expiresAt: number | null;
  loadedAt: number;
  lastUsedAt: number;
}
