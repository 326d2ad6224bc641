/**
 * A lean evaluation loop for a sequence that generates alone in its context: each step decodes and samples straight
 * through the context's native object, instead of through node-llama-cpp 3.21.1's batching loop.
 *
 * Why. A single stream spends every step waiting on the main thread between one decode and the next (sampling needs
 * the decode, the next decode needs the sampled token). node-llama-cpp's loop, built to batch many sequences, spends
 * about 0.5 ms of main-thread time per token there (queueing, two locks, a thread-splitter timer, token meters, the
 * speculative-evaluation bookkeeping): a tenth of a token's time with a small model on this machine. Measured
 * in-process, bench60m, one thread: node-llama-cpp's own evaluate ran at 180-190 tokens/s against 200-235 for a bare
 * decode-and-sample loop, about llama-server's decode rate; through the engine (LocalModelService, 20 alternating
 * pairs) this loop decoded 1.065x as fast, faster in 16 of 20 pairs.
 *
 * What it keeps. The same native calls node-llama-cpp makes: the sampler is node-llama-cpp's native sampler, set up
 * with the sequence's own sampler configuration every step (repeat penalty, grammar, token bias, seed), and
 * `sampleToken` accepts the token into the grammar and penalty state as before; the sequence's token list, next
 * position and token meter are updated as node-llama-cpp updates them. Each step holds the sequence's evaluation
 * lock, the context's lock and the context's disposal guard, as node-llama-cpp's loop does. Output is token for
 * token the same (tests compare both loops: greedy, seeded with penalties, grammars, a forced tool call).
 *
 * When. Only while the sequence is alone (`alone()`, checked before every step) and nothing else is queued on the
 * context; never for a model that needs state checkpoints, when a step would not fit the context (node-llama-cpp
 * shifts it), or on Vulkan (see below); `evaluateWithMetadata` is left alone. Otherwise, and from the first step where another sequence is
 * busy, the rest of the evaluation is node-llama-cpp's own (which batches sequences together). That hand-over
 * starts a new sampler, as node-llama-cpp does whenever an evaluation restarts: a seeded generation that another
 * request joins half-way goes on from a fresh seed.
 *
 * Internal API, pinned with node-llama-cpp 3.21.1: if the sequence or context does not look as expected, nothing is
 * installed and node-llama-cpp's evaluate runs as before (`installDirectDecode` returns false).
 */
import { createRequire } from "node:module";
import { acquireLock, withLock } from "lifecycle-utils";
import { DisposedError, TokenMeter, type LlamaContextSequence, type SequenceEvaluateOptions, type Token } from "node-llama-cpp";

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

interface NativeSampler {
  applyConfig(config: Record<string, unknown>): void;
  dispose(): void;
}

interface NativeContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  setThreads(threads: number): void;
  decodeBatch(): Promise<void>;
  sampleToken(batchLogitIndex: number, sampler: NativeSampler): Promise<Sampled>;
}

/** What sampling gives: a token, -1 on failure, nothing when the sampler was disposed. */
type Sampled = Token | -1 | null | undefined;

/** The parts of node-llama-cpp's context and sequence this loop uses (internal, 3.21.1). */
interface Internals {
  _ctx: NativeContext;
  _queuedDecodes: unknown[];
  _batchSize: number;
  _idealThreads: number;
  _llama: { gpu: unknown; _bindings: { AddonSampler: new (model: unknown) => NativeSampler } };
  /** Keeps the native context alive while a decode runs: disposing the context waits for every handle. */
  _backendContextDisposeGuard: { createPreventDisposalHandle(): { dispose(): void } };
  model: { _model: unknown; isEogToken(token: Token): boolean };
}

interface SequenceInternals {
  _lock: object;
  _sequenceId: number;
  _nextTokenIndex: number;
  _contextTokens: Token[];
  _tokenMeter: TokenMeter;
  _resolveSamplerConfig(options: SequenceEvaluateOptions): Record<string, unknown>;
  needsCheckpoints: boolean;
  disposed: boolean;
  context: Internals;
  evaluate: LlamaContextSequence["evaluate"];
}

export interface DirectDecodeOptions {
  /** Whether no other sequence of the context is in use (checked before every step). */
  alone(): boolean;
  /** Called when an evaluation starts on the lean loop (node-llama-cpp's own start-of-evaluation hooks do not run). */
  onStart?(): void;
}

/** Steps run on the lean loop and evaluations handed over to node-llama-cpp's, in this process (tests read them). */
export const directDecodeStats = { steps: 0, handedOver: 0 };

/**
 * Gives `sequence` the lean loop (see the module comment). Returns false, changing nothing, when node-llama-cpp's
 * internals are not what this version expects.
 */
export function installDirectDecode(sequence: LlamaContextSequence, options: DirectDecodeOptions): boolean {
  const seq = sequence as unknown as SequenceInternals;
  const ctx = seq.context;
  const native = ctx?._ctx;
  const looksRight =
    typeof native?.addToBatch === "function" &&
    typeof native.decodeBatch === "function" &&
    typeof native.sampleToken === "function" &&
    typeof native.setThreads === "function" &&
    typeof seq._resolveSamplerConfig === "function" &&
    typeof seq._sequenceId === "number" &&
    typeof seq._nextTokenIndex === "number" &&
    Array.isArray(seq._contextTokens) &&
    typeof seq._lock === "object" &&
    Array.isArray(ctx._queuedDecodes) &&
    typeof ctx._batchSize === "number" &&
    typeof ctx._backendContextDisposeGuard?.createPreventDisposalHandle === "function" &&
    typeof ctx._llama?._bindings?.AddonSampler === "function";
  // On Vulkan, node-llama-cpp serializes decodes of all contexts behind a lock of its own, which this loop cannot take.
  if (!looksRight || ctx._llama.gpu === "vulkan" || !sharesLocksWithNodeLlamaCpp()) return false;

  const original = sequence.evaluate.bind(sequence);
  const free = () => options.alone() && ctx._queuedDecodes.length === 0;
  const fits = (tokens: readonly Token[]) => seq._nextTokenIndex + tokens.length < sequence.contextSize - 1;

  async function* evaluate(tokens: Token[], evaluateOptions: SequenceEvaluateOptions = {}): AsyncGenerator<Token, void, Token | Token[] | void> {
    if (tokens.length === 0 || seq.needsCheckpoints || !fits(tokens) || !free()) return yield* original(tokens, evaluateOptions);
    options.onStart?.();
    const sampler = new ctx._llama._bindings.AddonSampler(ctx.model._model);
    const dry: { breakers?: WeakRef<object> } = {};
    // The sequence's own sampler configuration, every step, as node-llama-cpp's loop does (its defaults are the same
    // as `evaluate`'s; penalty tokens and grammar state are read afresh each time).
    const sample = (logitIndex: number) => {
      applyConfig(sampler, dry, seq._resolveSamplerConfig(evaluateOptions));
      return native.sampleToken(logitIndex, sampler);
    };
    let evalTokens = tokens.slice();
    try {
      for (;;) {
        if (seq.disposed) throw new DisposedError();
        if (!fits(evalTokens) || !free()) break;
        const next = await step(evalTokens, sample);
        directDecodeStats.steps++;
        if (next === -1) throw new Error("Failed to sample next token");
        if (next == null) return;
        if (!evaluateOptions.yieldEogToken && ctx.model.isEogToken(next)) return;
        const replacement = yield next;
        evalTokens = replacement instanceof Array ? replacement.slice() : replacement != null ? [replacement] : [next];
      }
    } finally {
      sampler.dispose();
    }
    // Another sequence got busy (or the context is full): node-llama-cpp goes on from the token to evaluate next.
    directDecodeStats.handedOver++;
    return yield* original(evalTokens, evaluateOptions);
  }

  /** Decode `tokens` (in batch-size parts) and sample the token after them, holding the sequence's and context's locks. */
  async function step(tokens: Token[], sample: (logitIndex: number) => Promise<Sampled>): Promise<Sampled> {
    const evaluating = await acquireLock([seq._lock, "evaluate"]);
    try {
      return await withLock([ctx, "context"], async () => {
        // As node-llama-cpp's batch loop does: a context disposed meanwhile throws DisposedError here, and one being
        // disposed waits for this step (freeing the native context under a running decode aborts the process).
        const alive = ctx._backendContextDisposeGuard.createPreventDisposalHandle();
        try {
          return await sample(await decode(tokens));
        } finally {
          alive.dispose();
        }
      });
    } finally {
      evaluating.dispose();
    }
  }

  /** Decodes `tokens` under {@link step}'s locks and disposal guard; returns the batch index of the last one's logits. */
  async function decode(tokens: Token[]): Promise<number> {
    let logitIndex = 0;
    for (let start = 0; start < tokens.length; ) {
      const part = tokens.slice(start, start + ctx._batchSize);
      const last = start + part.length === tokens.length;
      native.initBatch(part.length);
      // After initBatch: batch-threads.ts gives a batch of several tokens its own budget from this call.
      native.setThreads(ctx._idealThreads);
      const indexes = native.addToBatch(seq._sequenceId, seq._nextTokenIndex, Uint32Array.from(part), last ? Uint32Array.of(part.length - 1) : new Uint32Array());
      // As node-llama-cpp meters a decode: tokens with logits are output, the rest input.
      TokenMeter.useTokens(seq._tokenMeter, last ? part.length - 1 : part.length, "input");
      if (last) TokenMeter.useTokens(seq._tokenMeter, 1, "output");
      await native.decodeBatch();
      seq._nextTokenIndex += part.length;
      seq._contextTokens = seq._contextTokens.concat(part);
      start += part.length;
      if (last) logitIndex = indexes[0]!;
    }
    return logitIndex;
  }

  seq.evaluate = evaluate as unknown as LlamaContextSequence["evaluate"];
  return true;
}

/** node-llama-cpp's LlamaSampler.applyConfig: the DRY sequence breakers are passed only when they changed. */
function applyConfig(sampler: NativeSampler, dry: { breakers?: WeakRef<object> }, config: Record<string, unknown>): void {
  const breakers = config.dryRepeatPenaltySequenceBreakers;
  if (config.dryRepeatPenaltyStrength != null && breakers != null && breakers !== false && typeof breakers === "object") {
    if (breakers === dry.breakers?.deref()) config.dryRepeatPenaltySequenceBreakers = false;
    else dry.breakers = new WeakRef(breakers);
  }
  sampler.applyConfig(config);
}
