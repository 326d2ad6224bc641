/**
 * The node-llama-cpp 3.21.1 internals the lean decode loop (direct-decode.ts) works with: the shapes of the native
 * context and sampler and of the context and sequence objects it reads, whether its locks are node-llama-cpp's, a
 * decode counter on a native context, and the sampler configuration call. Internal API: direct-decode.ts checks
 * the shapes before it installs anything.
 */
import { createRequire } from "node:module";
import type { LlamaContextSequence, SequenceEvaluateOptions, Token, TokenMeter } from "node-llama-cpp";

/**
 * Whether this module's `lifecycle-utils` is node-llama-cpp's own copy: locks are kept in that module, so only then
 * do the loop's locks exclude node-llama-cpp's (package.json pins the version node-llama-cpp 3.21.1 resolves).
 */
export function sharesLocksWithNodeLlamaCpp(): boolean {
  sharedLocks ??= (() => {
    try {
      const require = createRequire(import.meta.url);
      return createRequire(require.resolve("node-llama-cpp")).resolve("lifecycle-utils") === require.resolve("lifecycle-utils");
    } catch {
      return false;
    }
  })();
  return sharedLocks;
}
let sharedLocks: boolean | undefined;

export interface NativeSampler {
  applyConfig(config: Record<string, unknown>): void;
  dispose(): void;
}

export interface NativeContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  setThreads(threads: number): void;
  decodeBatch(): Promise<void>;
  sampleToken(batchLogitIndex: number, sampler: NativeSampler): Promise<Sampled>;
}

/** What sampling gives: a token, -1 on failure, nothing when the sampler was disposed. */
export type Sampled = Token | -1 | null | undefined;

/** The parts of node-llama-cpp's context and sequence the lean loop uses. */
export interface ContextInternals {
  _ctx: NativeContext;
  _queuedDecodes: unknown[];
  _batchSize: number;
  _idealThreads: number;
  _llama: { gpu: unknown; _bindings: { AddonSampler: new (model: unknown) => NativeSampler } };
  /** Keeps the native context alive while a decode runs: disposing the context waits for every handle. */
  _backendContextDisposeGuard: { createPreventDisposalHandle(): { dispose(): void } };
  model: { _model: unknown; isEogToken(token: Token): boolean };
}

export interface SequenceInternals {
  _lock: object;
  _sequenceId: number;
  _nextTokenIndex: number;
  _contextTokens: Token[];
  _tokenMeter: TokenMeter;
  _resolveSamplerConfig(options: SequenceEvaluateOptions): Record<string, unknown>;
  needsCheckpoints: boolean;
  disposed: boolean;
  context: ContextInternals;
  evaluate: LlamaContextSequence["evaluate"];
}

/**
 * Counts the decodes started on a context's native object, node-llama-cpp's and this loop's: a token decoded ahead
 * is sampled only if no other decode ran since, as a decode replaces the context's output. Wrapped once per context.
 */
export function countDecodes(native: NativeContext): { count: number } {
  const known = decodeCounters.get(native);
  if (known) return known;
  const counter = { count: 0 };
  decodeCounters.set(native, counter);
  const decodeBatch = native.decodeBatch.bind(native);
  // The method is read-only on the native class's prototype: shadow it with an own property of this one object.
  Object.defineProperty(native, "decodeBatch", {
    configurable: true,
    value: () => {
      counter.count++;
      return decodeBatch();
    },
  });
  return counter;
}
const decodeCounters = new WeakMap<object, { count: number }>();

/** node-llama-cpp's LlamaSampler.applyConfig: the DRY sequence breakers are passed only when they changed. */
export function applyConfig(sampler: NativeSampler, dry: { breakers?: WeakRef<object> }, config: Record<string, unknown>): void {
  const breakers = config.dryRepeatPenaltySequenceBreakers;
  if (config.dryRepeatPenaltyStrength != null && breakers != null && breakers !== false && typeof breakers === "object") {
    if (breakers === dry.breakers?.deref()) config.dryRepeatPenaltySequenceBreakers = false;
    else dry.breakers = new WeakRef(breakers);
  }
  sampler.applyConfig(config);
}
