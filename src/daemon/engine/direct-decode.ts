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
 * Decoding ahead. Once a token is sampled, and while the sequence is still alone, its decode starts before the token
 * is handed to the caller (LlamaChat), so the caller's per-token work (detokenizing, stop triggers, segments, the
 * response stream) runs on the main thread while the next decode runs on a worker, instead of between the two. Only
 * the decode goes ahead: sampling waits for the caller to ask for the next token, because the caller's state feeds
 * it (LlamaChat's repeat-penalty tokens). The decode holds the locks until it is over and releases them itself, so a
 * caller that stops, or that changes the sequence before asking for more, waits for it but never for the generator.
 * If another decode ran on the context in between (its output replaces ours), or the caller asks to go on from a
 * different token, the token is erased again. A token decoded ahead that the caller does not go on from (it stopped:
 * a stop string, the token limit, a disconnect) stays in the sequence: the cache is valid, and the next turn, whose
 * prompt usually continues with it, reuses it. The token meter counts such a token as input (no output was used), so
 * usage is what node-llama-cpp's loop reports.
 *
 * Sampling behind the decode. Sampling is a second job on libuv's thread pool, so each token costs two round trips
 * between this thread and the pool: the decode's result comes back, the sample goes out, its token comes back, the
 * next decode goes out. Each crossing wakes a sleeping thread. A pool that runs one job at a time runs them in the
 * order they were queued: a single-thread pool (`UV_THREADPOOL_SIZE=1`), or, while this loop generates alone and
 * nothing else uses the pool, a pool whose other threads are parked (pool-parking.ts). Then the sample is queued as
 * soon as the caller asks for the next token, while the token's decode still runs: the pool thread goes from the
 * decode straight to the sample, and one round trip per token is gone. The sampler's configuration is final by then
 * (the caller asked), the locks are held from the decode through the sample (no other decode can come between them),
 * and the token is the one the unchained order samples. Measured in-process (bench60m, one thread, 300-token runs,
 * 24 alternating runs, medians): 3.75 ms per token chained against 3.96 awaited on a pool of four with three threads
 * parked, 3.36 against 3.53 on a single-thread pool. Otherwise the sample could run beside the decode, so it is
 * queued after the decode's result, as before.
 *
 * Prompt threads. A prompt evaluated here has its context to itself, and the caller waits for its first token, so
 * the main thread leaves its core free. So a decode of at least {@link PROMPT_THREADS_MIN_TOKENS} tokens gets
 * `promptThreads`, where a step of several sequences on node-llama-cpp's loop keeps the batch budget (batch-threads.ts):
 * there ggml's threads spin at their barriers while the main thread needs the second core (through the daemon on
 * 2 cores, 4 streams stepping at two threads ran at 0.54x). Measured in-process on 2 cores (bench60m, alternating,
 * medians), two threads against one: 512 tokens 0.54-0.57x the time, 128 tokens 0.61-0.65x, 58 new tokens behind
 * 1,600 cached 70-84 against 125-140 ms; but from an empty cache, 32 tokens 0.97-1.09x and 8-16 tokens 1.5-2x (a
 * fixed cost of several ms per two-thread decode). Hence the floor: a short chat prompt stays at one thread. With
 * another process keeping one of the two cores busy, two threads took 1.12-1.34x as long as one, so the engine asks
 * for the budget before each prompt decode and gives fewer threads while other tasks are running (cpu-contention.ts).
 *
 * When. Only while the sequence is alone (`alone()`, checked before every step) and nothing else is queued on the
 * context; never for a model that needs state checkpoints, when a step would not fit the context (node-llama-cpp
 * shifts it), or on Vulkan (see below); `evaluateWithMetadata` is left alone. Otherwise, and from the first step
 * where another sequence is busy, the rest of the evaluation is node-llama-cpp's own (which batches sequences
 * together). That hand-over starts a new sampler, as node-llama-cpp does whenever an evaluation restarts: a seeded
 * generation that another request joins half-way goes on from a fresh seed.
 *
 * Internal API, pinned with node-llama-cpp 3.21.1 (llama-internals.ts): if the sequence or context does not look as
 * expected, nothing is installed and node-llama-cpp's evaluate runs as before (`installDirectDecode` returns false).
 */
import { acquireLock } from "lifecycle-utils";
import { DisposedError, TokenMeter, type LlamaContextSequence, type SequenceEvaluateOptions, type Token } from "node-llama-cpp";
import { setThreadsExactly } from "./batch-threads.js";
import { poolParking } from "./pool-parking.js";
import {
  applyConfig,
  countDecodes,
  sharesLocksWithNodeLlamaCpp,
  type Sampled,
  type SequenceInternals,
} from "./llama-internals.js";

/** The fewest tokens a decode on the lean loop needs for the prompt budget (see "Prompt threads"). */
export const PROMPT_THREADS_MIN_TOKENS = 32;

/** A decode's outcome: how many decodes the context had run when it ended, or its error. */
type Decoded = { decodes: number } | { error: unknown };

/** A token being decoded ahead (none of its promises rejects). */
interface Ahead {
  token: Token;
  /** Where the token's output will be in the batch (known as soon as its decode is queued). */
  logitIndex: number;
  /** Whether the decode's outcome has not reached this thread yet: a `take()` now is sure to get the locks. */
  inFlight(): boolean;
  /** For the caller that goes on from the token: the decode's outcome and, when it can, the locks still held. */
  take(): Promise<{ decoded: Decoded; locks?: () => void }>;
  /** The outcome once the decode is over and its locks are released, for a caller that does not go on from it. */
  settled(): Promise<Decoded>;
}

export interface DirectDecodeOptions {
  /** Whether no other sequence of the context is in use (checked before every step). */
  alone(): boolean;
  /** Called when an evaluation starts on the lean loop (node-llama-cpp's own start-of-evaluation hooks do not run). */
  onStart?(): void;
  /** Threads for a prompt's decode on the lean loop, asked before each (see "Prompt threads"); default the context's own budget. */
  promptThreads?(): number;
}

/**
 * In this process (tests read them): steps run on the lean loop, evaluations handed over to node-llama-cpp's, tokens
 * decoded ahead, tokens decoded ahead that were erased again, and samples chained behind their decode.
 */
export const directDecodeStats = { steps: 0, handedOver: 0, ahead: 0, takenBack: 0, chained: 0 };

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
  const decodes = countDecodes(native);
  const isEog = eogCheck(ctx.model);
  /** addToBatch copies its arguments: one token's arrays are reused from step to step. */
  const singleToken = new Uint32Array(1);
  const firstLogit = Uint32Array.of(0);
  const noLogits = new Uint32Array(0);

  async function* evaluate(tokens: Token[], evaluateOptions: SequenceEvaluateOptions = {}): AsyncGenerator<Token, void, Token | Token[] | void> {
    if (tokens.length === 0 || seq.needsCheckpoints || !fits(tokens) || !free()) return yield* original(tokens, evaluateOptions);
    options.onStart?.();
    // The process's libuv pool: whether it runs jobs in order now (pool-parking.ts).
    const pool = poolParking;
    /** Whether the pool was asked to park: once the prompt is in, so nothing waits behind a prompt's long decodes. */
    let parkingAsked = false;
    const sampler = new ctx._llama._bindings.AddonSampler(ctx.model._model);
    const dry: { breakers?: WeakRef<object> } = {};
    // The sequence's own sampler configuration, every step, as node-llama-cpp's loop does (its defaults are the same
    // as `evaluate`'s; penalty tokens and grammar state are read afresh each time).
    const configure = () => applyConfig(sampler, dry, seq._resolveSamplerConfig(evaluateOptions));
    let evalTokens = tokens.slice();
    /** The decode of the token last yielded, started before yielding it (see "Decoding ahead" above). */
    let ahead: Ahead | undefined;
    try {
      for (;;) {
        if (seq.disposed) throw new DisposedError();
        let release: (() => void) | undefined;
        let logitIndex: number;
        let chained: Promise<Sampled> | undefined;
        if (ahead) {
          // The caller's state is final once it asks for the next token: configure the sampler while the decode runs.
          configure();
          // While the pool runs one job at a time, a sample queued now runs right after the decode (see "Sampling
          // behind the decode" above). Only while the decode's outcome has not reached this thread: the take() below
          // then keeps the locks from the decode to the sample, so no other decode can come between the two.
          if (pool.ordered() && ahead.inFlight()) {
            chained = native.sampleToken(ahead.logitIndex, sampler);
            pool.chained(chained);
            directDecodeStats.chained++;
          }
          const { decoded, locks } = await ahead.take();
          if ("error" in decoded) {
            // The sample read a failed decode's output: wait for it (the sampler must outlive it) and drop it.
            await chained?.catch(() => undefined);
            throw decoded.error;
          }
          if (chained && (!locks || decodes.count !== decoded.decodes)) {
            // Cannot happen (the decode was in flight when take() was called, so the locks were held from it to the
            // sample), but a sample that may not have followed its decode is not to be trusted, and the sampler
            // must outlive it: wait for it and drop it.
            await chained.catch(() => undefined);
            chained = undefined;
          }
          release = locks ?? (await hold());
          if (decodes.count !== decoded.decodes) {
            // Another decode ran on the context since (its output replaced ours): take the token back out and
            // evaluate it again, on this loop or node-llama-cpp's.
            release();
            evalTokens = [ahead.token];
            ahead = undefined;
            await erase();
            continue;
          }
          logitIndex = ahead.logitIndex;
          ahead = undefined;
        } else {
          if (!fits(evalTokens) || !free()) break;
          release = await hold();
          try {
            logitIndex = await decode(evalTokens);
            configure();
          } catch (error) {
            release();
            throw error;
          }
        }
        TokenMeter.useTokens(seq._tokenMeter, 1, "output");
        let next: Sampled;
        try {
          next = await (chained ?? native.sampleToken(logitIndex, sampler));
          directDecodeStats.steps++;
          if (next === -1) throw new Error("Failed to sample next token");
          if (next == null) return;
          const end = isEog(next);
          if (end && !evaluateOptions.yieldEogToken) return;
          // Still alone and nothing ends here: decode the token now, under the locks already held, while the caller
          // processes it (an end-of-generation token is not decoded: nothing follows it).
          if (!end && fits([next]) && free()) {
            if (!parkingAsked) {
              // Queued before the decode ahead: the parking is confirmed by the time the caller asks for the next token.
              parkingAsked = true;
              pool.request();
            }
            ahead = decodeAhead(next, release);
            release = undefined;
          }
        } finally {
          release?.();
        }
        const replacement = yield next;
        evalTokens = replacement instanceof Array ? replacement.slice() : replacement != null ? [replacement] : [next];
        if (ahead && (evalTokens.length !== 1 || evalTokens[0] !== next)) await takeBack();
      }
    } finally {
      pool.leave();
      sampler.dispose();
      // A token decoded ahead that nobody asked to go on from stays in the sequence (its cache is valid, and a next
      // turn that starts with it reuses it); it is metered as input, as node-llama-cpp meters a decode without output.
      if (ahead) TokenMeter.useTokens(seq._tokenMeter, 1, "input");
    }
    // Another sequence got busy (or the context is full): node-llama-cpp goes on from the token to evaluate next.
    directDecodeStats.handedOver++;
    return yield* original(evalTokens, evaluateOptions);

    /** Erases the token decoded ahead once its decode is over: the caller goes on from another. */
    async function takeBack(): Promise<void> {
      const decoded = await ahead!.settled();
      ahead = undefined;
      if (!("error" in decoded)) await erase();
    }

    /** Erases the sequence's last token, one decoded ahead whose output is not used. */
    async function erase(): Promise<void> {
      directDecodeStats.takenBack++;
      TokenMeter.useTokens(seq._tokenMeter, 1, "input");
      await sequence.eraseContextTokenRanges([{ start: seq._nextTokenIndex - 1, end: seq._nextTokenIndex }]);
    }
  }

  /**
   * Starts decoding `token` under the locks `release` frees. When the decode is over, the locks go to the caller if
   * it is already waiting for the next token ({@link Ahead.take}), so sampling follows at once; otherwise they are
   * released, and a caller that comes later takes them again.
   */
  function decodeAhead(token: Token, release: () => void): Ahead {
    directDecodeStats.ahead++;
    let waiting = false;
    let arrived = false;
    const queued = { logitIndex: -1 };
    const handOver = decode([token], queued)
      .then(
        (): Decoded => ({ decodes: decodes.count }),
        (error: unknown): Decoded => ({ error }),
      )
      .then((decoded): { decoded: Decoded; locks?: () => void } => {
        arrived = true;
        if (waiting && !("error" in decoded)) return { decoded, locks: release };
        release();
        return { decoded };
      });
    return {
      token,
      logitIndex: queued.logitIndex,
      inFlight: () => !arrived,
      take() {
        waiting = true;
        return handOver;
      },
      async settled() {
        return (await handOver).decoded;
      },
    };
  }

  /**
   * Takes the sequence's evaluation lock, the context's lock and a disposal guard, as node-llama-cpp's batch loop does
   * for each decode, and returns their release. A context disposed meanwhile throws DisposedError here, and one being
   * disposed waits for the release (freeing the native context under a running decode aborts the process).
   */
  async function hold(): Promise<() => void> {
    const evaluating = await acquireLock([seq._lock, "evaluate"]);
    try {
      const context = await acquireLock([ctx, "context"]);
      try {
        const alive = ctx._backendContextDisposeGuard.createPreventDisposalHandle();
        return () => {
          alive.dispose();
          context.dispose();
          evaluating.dispose();
        };
      } catch (error) {
        context.dispose();
        throw error;
      }
    } catch (error) {
      evaluating.dispose();
      throw error;
    }
  }

  /**
   * Decodes `tokens` (in batch-size parts) under {@link hold}'s locks; returns the batch index of the last one's
   * logits. The sequence's token list and next position count a part from the moment its decode starts (anyone who
   * reads them while it runs sees what the cache will hold; changing the cache waits for the locks), and go back if
   * it fails. The last token is left to the caller to meter: its output is used only once it is sampled.
   */
  async function decode(tokens: Token[], queued?: { logitIndex: number }): Promise<number> {
    let logitIndex = 0;
    for (let start = 0; start < tokens.length; ) {
      const part = start === 0 && tokens.length <= ctx._batchSize ? tokens : tokens.slice(start, start + ctx._batchSize);
      const last = start + part.length === tokens.length;
      native.initBatch(part.length);
      // After initBatch: batch-threads.ts gives a batch of several tokens its own budget from the plain call; a prompt
      // here has the context to itself and takes the prompt budget past it (see "Prompt threads").
      if (part.length >= PROMPT_THREADS_MIN_TOKENS && options.promptThreads) setThreadsExactly(native, options.promptThreads());
      else native.setThreads(ctx._idealThreads);
      const one = last && part.length === 1;
      if (one) singleToken[0] = part[0]!;
      const indexes = native.addToBatch(
        seq._sequenceId,
        seq._nextTokenIndex,
        one ? singleToken : Uint32Array.from(part),
        one ? firstLogit : last ? Uint32Array.of(part.length - 1) : noLogits,
      );
      // The decode starts before the bookkeeping: a step's way from a sampled token to its decode is the one stretch of
      // main-thread work no decode overlaps. Nothing can tell the order apart, as nothing else runs before the await.
      const decoded = native.decodeBatch();
      if (last && queued) queued.logitIndex = indexes[0]!;
      // As node-llama-cpp meters a decode: tokens without logits are input.
      TokenMeter.useTokens(seq._tokenMeter, last ? part.length - 1 : part.length, "input");
      const before = { next: seq._nextTokenIndex, tokens: seq._contextTokens };
      seq._nextTokenIndex += part.length;
      seq._contextTokens = seq._contextTokens.concat(part);
      try {
        await decoded;
      } catch (error) {
        seq._nextTokenIndex = before.next;
        seq._contextTokens = before.tokens;
        throw error;
      }
      start += part.length;
      if (last) logitIndex = indexes[0]!;
    }
    return logitIndex;
  }

  seq.evaluate = evaluate as unknown as LlamaContextSequence["evaluate"];
  return true;
}

/**
 * The model's end-of-generation check, remembered per token. It runs between a sampled token and its decode, where
 * every microsecond of main-thread work adds to the token's time: node-llama-cpp's asks the native model each time.
 */
function eogCheck(model: SequenceInternals["context"]["model"]): (token: Token) => boolean {
  const cache = eogByModel.get(model) ?? new Map<Token, boolean>();
  eogByModel.set(model, cache);
  return (token) => {
    let end = cache.get(token);
    if (end === undefined) cache.set(token, (end = model.isEogToken(token)));
    return end;
  };
}

const eogByModel = new WeakMap<object, Map<Token, boolean>>();
