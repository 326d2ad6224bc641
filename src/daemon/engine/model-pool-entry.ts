/**
 * One model's place in the pool (its state, slots, estimate and keep-alive), and the errors and abort helper the
 * pool answers requests with.
 */
import { HttpError } from "../errors.js";
import type { MemoryFootprint, PoolModel, PoolModelSpec } from "./model-pool-types.js";
import type { SlotQueue } from "./slot-queue.js";

/** waiting: for room; loading; ready: serving; closing: unloading (or its load failed). */
export type EntryState = "waiting" | "loading" | "ready" | "closing";

/** A model the pool loads, holds or unloads; its memory is the estimate until the model is loaded. */
export class Entry<S extends PoolModelSpec, M extends PoolModel> {
  state: EntryState = "waiting";
  model: M | undefined;
  estimate: MemoryFootprint = { ramBytes: 0, vramBytes: 0 };
  loadedAt = 0;
  lastUsedAt = Date.now();
  /** A counter value, not a time: two uses in one millisecond still order. */
  lastUse = 0;
  keepAliveMs: number;
  expiresAt: number | null = null;
  timer: NodeJS.Timeout | undefined;
  unloadRequested = false;
  closing: Promise<void> | undefined;
  ready!: Promise<M>;

  constructor(
    readonly spec: S,
    readonly slots: SlotQueue,
    keepAliveMs: number,
  ) {
    this.keepAliveMs = keepAliveMs;
  }

  get name(): string {
    return this.spec.name;
  }

  get memoryBytes(): number {
    return this.model?.memoryBytes ?? this.estimate.ramBytes;
  }

  get vramBytes(): number {
    return this.model ? (this.model.vramBytes ?? 0) : this.estimate.vramBytes;
  }
}

/** The request gave up (its signal aborted) before a slot or the model was ready. */
export function cancelled(model: string): HttpError {
  return new HttpError("cancelled", `the request for model "${model}" was cancelled before it started`, { model });
}

/** Every request once the pool is disposing. */
export function shuttingDown(): HttpError {
  return new HttpError("unavailable", "the model engine is shutting down", undefined, { "retry-after": "1" });
}

/** `promise`, or a rejection with `error()` as soon as `signal` aborts (the promise itself keeps running). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, error: () => Error): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(error());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
