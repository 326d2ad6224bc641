/**
 * Paces the sequences of one context through node-llama-cpp's one per-token async hook: a TokenPredictor that
 * never predicts anything, whose `predictTokens()` node-llama-cpp awaits before queueing each decode.
 *
 * Why. node-llama-cpp 3.21.1 batches a context's sequences in a loop that holds the context's lock for as long as
 * some decode is queued when a batch ends. Sampling is asynchronous per sequence, so with two or more generating
 * sequences the early samplers have always re-queued by then, and the lock is not released until every generation
 * has ended. Whatever needs it waits that long: reusing a sequence whose cached tokens differ from the new prompt
 * (erasing them), clearing a cancelled one, a context shift. That is why, with 8 streams, a request landing on a
 * used sequence got its first token only after the others finished.
 *
 * The batches fall out of step too (the last sampler misses each batch: 4 streams decode 3 tokens per batch), and
 * out of order: node-llama-cpp gives each sequence its own KV stream, and llama.cpp then splits a batch into one
 * micro-batch per run of consecutive sequence ids in batch order (`split_equal(..., sequential)`), so sequences
 * 3,0,1 decode as {3} then {0,1}, each a full pass over the weights. Measured: 8 streams ran no faster than 1.
 *
 * How. Two ways to run the generating sequences ("members"):
 * - lockstep: a member waits, before queueing its next token, until every member has done the same; then all are
 *   released on the next macrotask in sequence-id order (they queue in the order they are released). Each step is
 *   one batch and, with consecutive ids (see `LoadedLlamaModel.takeSequence`), one micro-batch.
 * - free: nobody waits; node-llama-cpp runs as it would alone. Its overlapping of one sequence's sampling with
 *   another's decode wins where a batch of a few tokens costs about as much as several single tokens: measured on
 *   2 cores with a small model, 2 tokens in one batch took 3x one token (the CPU matmul kernels switch paths).
 * Which one is faster depends on the model and machine, so the pacer measures both for each member count and
 * keeps the faster, re-checking now and then. A single member always runs free.
 *
 * In either mode, while an operation needs the context's lock ({@link DecodePacer.hold}), members wait at their
 * next token until all have arrived, so the batching loop finds its queue empty and lets the lock go; then they are
 * released. A prompt is never held back and nobody waits for one: it joins the batches as they come.
 */
import { TokenPredictor, type Token } from "node-llama-cpp";

const NONE: Token[] = [];

/**
 * A step normally completes within one batch; if a member has not come back after this long, the others go on
 * without it. A safety net against hanging every stream on one that never returns, not a tuning knob: going on
 * early costs only one out-of-step batch.
 */
const STEP_GUARD_MS = 2000;

export type PacingMode = "lockstep" | "free";

export interface ModeRates {
  /** Tokens per millisecond, smoothed. */
  lockstep?: number;
  free?: number;
  /** Measurement windows completed with this member count. */
  windows: number;
}

export interface DecodePacerOptions {
  /** Clock for throughput measurements (tests pass a fake one). */
  now?: () => number;
  /** Steps (tokens per member) in one measurement window. */
  windowSteps?: number;
  /**
   * Every this many windows, the mode measured slower is measured again (load and context length change); four
   * times as rarely when it was more than 25% slower.
   */
  recheckEvery?: number;
}

/** Paces the sequences of one context; see the module comment. */
export class DecodePacer {
  /** Sequences generating tokens (not those evaluating a prompt). */
  readonly #members = new Set<PacedPredictor>();
  readonly #waiting = new Map<PacedPredictor, (tokens: Token[]) => void>();
  /** Operations waiting for the context's lock. */
  #holds = 0;
  #releaseScheduled = false;
  #guard: NodeJS.Timeout | undefined;
  #mode: PacingMode = "free";
  readonly #rates = new Map<number, ModeRates>();
  #window = { start: 0, tokens: 0 };
  readonly #now: () => number;
  readonly #windowSteps: number;
  readonly #recheckEvery: number;
  /** Steps released together, and releases forced by the guard (for tests and debugging). */
  readonly stats = { steps: 0, guardReleases: 0 };

  constructor(options: DecodePacerOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#windowSteps = options.windowSteps ?? 16;
    this.#recheckEvery = options.recheckEvery ?? 16;
  }

  /** How the members run now. */
  get mode(): PacingMode {
    return this.#mode;
  }

  /** Measured throughput (tokens per ms) of each mode, by member count. */
  rates(): ReadonlyMap<number, Readonly<ModeRates>> {
    return this.#rates;
  }

  /**
   * A predictor to create one sequence with (`context.getSequence({ tokenPredictor })`). `order` is that sequence's
   * id in llama.cpp: node-llama-cpp numbers a context's sequences 0, 1, 2... in the order they are first created.
   */
  predictor(order: number): PacedPredictor {
    return new PacedPredictor(this, order);
  }

  /**
   * Announce an operation that needs the context's lock (erasing a sequence's state). Until the returned function is
   * called (idempotent), members wait for each other at every token, so the lock comes free between steps.
   */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
    };
  }

  /** A member generated a token and is about to queue the next: now, or when its step is complete. */
  arrive(member: PacedPredictor): Token[] | Promise<Token[]> {
    if (this.#members.has(member)) this.#countToken();
    else this.#join(member);
    if (this.#holds === 0 && this.#mode === "free") return NONE;
    return new Promise<Token[]>((resolve) => {
      this.#waiting.get(member)?.(NONE);
      this.#waiting.set(member, resolve);
      this.#check();
    });
  }

  /** A sequence stopped generating (finished, aborted, restarting its evaluation, returned to the pool). */
  leave(member: PacedPredictor): void {
    const waiting = this.#waiting.get(member);
    if (waiting) {
      this.#waiting.delete(member);
      waiting(NONE);
    }
    if (this.#members.delete(member)) this.#startWindow();
    this.#check();
  }

  #join(member: PacedPredictor): void {
    this.#members.add(member);
    this.#startWindow();
  }

  #countToken(): void {
    const window = this.#window;
    window.tokens++;
    const n = this.#members.size;
    if (n < 2 || window.tokens < this.#windowSteps * n) return;
    const rate = window.tokens / Math.max(this.#now() - window.start, 1e-3);
    const rates = this.#rates.get(n) ?? { windows: 0 };
    const previous = rates[this.#mode];
    rates[this.#mode] = previous === undefined ? rate : (previous + rate) / 2;
    rates.windows++;
    this.#rates.set(n, rates);
    this.#startWindow();
  }

  /** A new measurement window, in the mode that suits the current member count. */
  #startWindow(): void {
    this.#window = { start: this.#now(), tokens: 0 };
    const mode = this.#choose(this.#members.size);
    if (mode === this.#mode) return;
    this.#mode = mode;
    if (mode === "free") this.#scheduleRelease();
  }

  #choose(n: number): PacingMode {
    if (n < 2) return "free";
    const rates = this.#rates.get(n);
    if (rates?.lockstep === undefined) return "lockstep";
    if (rates.free === undefined) return "free";
    const faster: PacingMode = rates.lockstep >= rates.free ? "lockstep" : "free";
    // A wide gap is unlikely to close, and re-measuring the slow mode costs a window at its speed: do it less often.
    const gap = Math.max(rates.lockstep, rates.free) / Math.max(Math.min(rates.lockstep, rates.free), 1e-9);
    const every = gap > 1.25 ? this.#recheckEvery * 4 : this.#recheckEvery;
    const recheck = rates.windows % every === 0;
    return recheck ? (faster === "lockstep" ? "free" : "lockstep") : faster;
  }

  #check(): void {
    if (this.#releaseScheduled || this.#waiting.size === 0) return;
    for (const member of this.#members) {
      if (!this.#waiting.has(member)) {
        this.#guard ??= setTimeout(() => {
          this.#guard = undefined;
          this.stats.guardReleases++;
          this.#scheduleRelease();
        }, STEP_GUARD_MS).unref();
        return;
      }
    }
    this.#scheduleRelease();
  }

  #scheduleRelease(): void {
    if (this.#releaseScheduled || this.#waiting.size === 0) return;
    this.#releaseScheduled = true;
    // A macrotask away, so the batching loop, which runs on promise callbacks, sees an empty queue first.
    setImmediate(() => this.#release());
  }

  #release(): void {
    this.#releaseScheduled = false;
    clearTimeout(this.#guard);
    this.#guard = undefined;
    if (this.#waiting.size === 0) return;
    this.stats.steps++;
    const released = [...this.#waiting].sort(([a], [b]) => a.order - b.order);
    this.#waiting.clear();
    for (const [, resolve] of released) resolve(NONE);
  }
}

/**
 * The hook: node-llama-cpp awaits `predictTokens()` before each decode of a sequence that has a predictor. It
 * predicts nothing; it only decides when the sequence's next token goes into a batch.
 */
export class PacedPredictor extends TokenPredictor {
  /** The next decode is a generated token (not a prompt): pace it. */
  #generating = false;
  #preparing: (() => void) | undefined;

  constructor(
    private readonly pacer: DecodePacer,
    /** The sequence's id in llama.cpp. */
    readonly order: number,
  ) {
    super();
  }

  /**
   * The sequence was just handed to a request, whose generation will first align the cached state with its
   * prompt (erasing under the context's lock): hold the pacer until the prompt is queued or the sequence leaves.
   */
  prepare(): void {
    this.#preparing ??= this.pacer.hold();
  }

  /** An evaluation started on the lean loop of direct-decode.ts, which never calls the predictor: end the hold. */
  evaluationStarted(): void {
    this.#generating = false;
    this.#endPreparing();
  }

  /** A new evaluation starts: its first decode is a prompt. */
  reset(): void {
    this.#generating = false;
  }

  pushTokens(): void {
    this.#generating = true;
  }

  predictTokens(): Token[] | Promise<Token[]> {
    if (this.#generating) return this.pacer.arrive(this);
    this.#endPreparing();
    return NONE;
  }

  override stop(): void {
    this.#generating = false;
    this.pacer.leave(this);
  }

  /** The sequence went back to the pool (or is disposed). */
  leave(): void {
    this.#endPreparing();
    this.stop();
  }

  override dispose(): void {
    this.leave();
  }

  #endPreparing(): void {
    this.#preparing?.();
    this.#preparing = undefined;
  }
}
