/**
 * A thread budget by batch size for one llama.cpp context: single-token decodes keep the configured threads, decodes
 * of several tokens (a prompt chunk, or several sequences stepping together) get `batchThreads`.
 *
 * Why. On a few cores one thread is the fastest for a one-token decode: the work is a matrix-vector product, and
 * node-llama-cpp 3.21.1 never attaches a ggml threadpool, so each decode starts and joins a worker pthread whose
 * barriers busy-wait (measured in bench/thread-study.ts). A batch of tokens is matrix-matrix work, where a second
 * thread pays for itself. llama.cpp has the two knobs (`n_threads` for one-token micro-batches, `n_threads_batch`
 * for larger ones) but node-llama-cpp's `AddonContext.setThreads()` sets both to one number before every decode.
 *
 * How. node-llama-cpp's batch loop calls, on the context's native object, `initBatch(tokens)`, then
 * `setThreads(n)` (n from its thread splitter), then `decodeBatch()`. We wrap the first two on that one object and
 * decode a batch of more than one token with `batchThreads`. Internal API, pinned with node-llama-cpp 3.21.1: if the
 * object does not look as expected, nothing is wrapped and every decode keeps node-llama-cpp's own budget.
 *
 * The lean loop of direct-decode.ts knows more than the batch size: a prompt it evaluates has the context to itself,
 * so it sets that decode's threads itself with {@link setThreadsExactly}, past this budget.
 */
import type { LlamaContext } from "node-llama-cpp";

interface NativeContext {
  initBatch(size: number): unknown;
  setThreads(threads: number): unknown;
}

/** Each wrapped native context's own `setThreads`, for {@link setThreadsExactly}. */
const unbudgeted = new WeakMap<object, (threads: number) => unknown>();

/** Sets the threads of `native`'s next decode to `threads`, whether or not it has a budget by batch size. */
export function setThreadsExactly(native: Pick<NativeContext, "setThreads">, threads: number): void {
  (unbudgeted.get(native) ?? native.setThreads.bind(native))(threads);
}

/**
 * Makes `context` decode batches of more than one token with `batchThreads` threads. Returns whether it could
 * (false: node-llama-cpp's internals are not what this version expects; the context is left as it was).
 */
export function budgetThreadsByBatch(context: LlamaContext, batchThreads: number): boolean {
  const native = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (typeof native?.initBatch !== "function" || typeof native.setThreads !== "function") return false;
  const initBatch = native.initBatch.bind(native);
  const setThreads = native.setThreads.bind(native);
  unbudgeted.set(native, setThreads);
  let tokens = 1;
  // The methods are read-only on the native class's prototype: shadow them with own properties of this one object.
  Object.defineProperties(native, {
    initBatch: {
      configurable: true,
      value: (size: number) => {
        tokens = size;
        return initBatch(size);
      },
    },
    setThreads: { configurable: true, value: (threads: number) => setThreads(tokens > 1 ? batchThreads : threads) },
  });
  return true;
}
