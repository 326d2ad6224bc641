/**
 * One loaded model: the llama.cpp model, ONE context with a sequence per parallel request (continuous batching:
 * concurrent requests are evaluated in the same batch), the chat wrapper resolved from its template (once per model
 * file: chat-wrappers.ts), and an embedding context created on first use. Disposed in reverse order of creation. A
 * {@link DecodePacer} decides when each sequence's next token is queued (see there for why that is needed); a
 * request generating alone skips that machinery on the lean loop of direct-decode.ts.
 */
import {
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { GpuBackend } from "./accelerator.js";
import { tileFilledPrefix } from "./attention-tile.js";
import { budgetThreadsByBatch } from "./batch-threads.js";
import { chatWrapperFor } from "./chat-wrappers.js";
import { DecodePacer, PacedPredictor } from "./decode-pacer.js";
import { installDirectDecode } from "./direct-decode.js";
import type { PoolModel } from "./model-pool.js";
import { chooseDonor, chooseSequence, commonPrefixLength, reusablePrefix, type SequenceCandidate } from "./sequence-choice.js";

export interface LoadedLlamaModelOptions {
  threads: number;
  /** Threads for decodes of more than one token (prompt chunks, batched steps); default `threads`. */
  batchThreads?: number;
  /** Threads for a prompt evaluated while its request is the only one (direct-decode.ts), asked per prompt; default `batchThreads`. */
  promptThreads?: () => number;
  /** RAM bytes the model and its context take (estimated by node-llama-cpp at load). */
  memoryBytes: number;
  /** GPU memory they take (0 on the CPU). */
  vramBytes: number;
  /** The compute backend it runs on. */
  backend: GpuBackend | "cpu";
  /**
   * Keep each sequence's KV cache between requests and give a prompt the sequence holding its longest prefix
   * (default true). Off, every sequence is cleared when returned, so every prompt is evaluated in full.
   */
  prefixReuse?: boolean;
  /** A request generating alone runs on the lean loop of direct-decode.ts (default true). */
  directDecode?: boolean;
  /** The identity of the model's files as validated (a stat): the chat wrapper is resolved once per file version. */
  fileIdentity?: string;
}

/** A sequence handed to one request, and how many of its prompt's leading tokens it already holds. */
export interface TakenSequence {
  sequence: LlamaContextSequence;
  /** Prompt tokens whose evaluation is reused (at most all but the last: one token is always decoded). */
  cachedTokens: number;
}

export class LoadedLlamaModel implements PoolModel {
  readonly chatWrapper: ChatWrapper;
  /**
   * Undefined for models whose sequences need state checkpoints (recurrent, hybrid, sliding-window attention):
   * node-llama-cpp takes one before every decode of a sequence with a token predictor, far more than pacing gains.
   */
  readonly pacer: DecodePacer | undefined;
  /** Every sequence created so far, in creation order (which is also their id order in llama.cpp). */
  readonly #sequences: LlamaContextSequence[] = [];
  readonly #free = new Set<LlamaContextSequence>();
  /** When each sequence was last handed out (a counter), for least-recently-used choice. */
  readonly #lastUse = new Map<LlamaContextSequence, number>();
  /** How many leading tokens of each sequence are the prompt it was last given (see SequenceCandidate). */
  readonly #promptLength = new Map<LlamaContextSequence, number>();
  #uses = 0;
  #embedding: Promise<LlamaEmbeddingContext> | undefined;
  #embeddingBytes = 0;
  #embeddingVramBytes = 0;
  #disposed = false;

  constructor(
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    private readonly options: LoadedLlamaModelOptions,
  ) {
    this.chatWrapper = chatWrapperFor(model, options.fileIdentity);
    const insights = model.fileInsights;
    this.pacer = insights.isRecurrent || insights.isHybrid || insights.swaSize !== undefined ? undefined : new DecodePacer();
    const { threads, batchThreads = threads } = options;
    if (batchThreads !== threads) budgetThreadsByBatch(context, batchThreads);
  }

  get memoryBytes(): number {
    return this.options.memoryBytes + this.#embeddingBytes;
  }

  get vramBytes(): number {
    return this.options.vramBytes + this.#embeddingVramBytes;
  }

  /** The compute backend and how many of the model's layers run on it (0 on the CPU). */
  get offload(): { backend: GpuBackend | "cpu"; gpuLayers: number; totalLayers: number } {
    return { backend: this.options.backend, gpuLayers: this.model.gpuLayers, totalLayers: this.model.fileInsights.totalLayers };
  }

  /** Tokens one sequence holds (the context size per request). */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** Whether sequences keep their cache between requests (see {@link LoadedLlamaModelOptions.prefixReuse}). */
  get prefixReuse(): boolean {
    return this.options.prefixReuse ?? true;
  }

  /**
   * A free sequence for a request whose prompt is `prompt`. The pool admits at most as many requests as the context
   * has sequences, so one is always free. With prefix reuse, the one holding the longest useful prefix of the
   * prompt, else the least recently used (see {@link chooseSequence}); the generation then evaluates only the
   * tokens after that prefix and erases only the differing tail. Without, the lowest-numbered free one. A sequence
   * that another free one can spare much more evaluation is first given a copy of that one's cache (see
   * {@link #seed}). The choice is made before anything is awaited, so concurrent requests never take the same one.
   */
  async takeSequence(prompt: readonly Token[] = []): Promise<TakenSequence> {
    const free = this.#sequences.filter((s) => this.#free.has(s));
    const candidates: (LlamaContextSequence | undefined)[] = [...free];
    // A sequence not created yet is the emptiest candidate of all: creating it keeps every cache that exists.
    if (this.context.sequencesLeft > 0) candidates.push(undefined);
    if (candidates.length === 0) throw new Error("no free context sequence: more requests admitted than sequences");
    let index = 0;
    if (this.prefixReuse) {
      const seen: SequenceCandidate[] = candidates.map((s) => ({
        tokens: s ? s.contextTokens : [],
        lastUse: s ? (this.#lastUse.get(s) ?? -1) : -1,
        promptLength: s ? (this.#promptLength.get(s) ?? 0) : 0,
      }));
      index = chooseSequence(seen, prompt).index;
    }
    let sequence = candidates[index];
    if (sequence) {
      this.#free.delete(sequence);
    } else {
      sequence = this.#newSequence();
    }
    this.#lastUse.set(sequence, ++this.#uses);
    this.#promptLength.set(sequence, prompt.length);
    paced(sequence)?.prepare();
    const cachedTokens = reusablePrefix(sequence.contextTokens, prompt);
    if (!this.prefixReuse) return { sequence, cachedTokens };
    return { sequence, cachedTokens: await this.#fillAttentionTile(sequence, prompt, await this.#seed(sequence, prompt, cachedTokens)) };
  }

  /**
   * On the CPU with flash attention, when `held` cached tokens leave 52-63 to evaluate, erase the cache back to 64
   * before the prompt's end, so the decode takes llama.cpp's tiled path (see attention-tile.ts). Returns the tokens
   * still reused.
   */
  async #fillAttentionTile(sequence: LlamaContextSequence, prompt: readonly Token[], held: number): Promise<number> {
    if (this.options.backend !== "cpu" || this.context.flashAttention === false) return held;
    const kept = tileFilledPrefix(held, prompt.length);
    if (kept < held) await sequence.eraseContextTokenRanges([{ start: kept, end: sequence.contextTokens.length }]);
    return kept;
  }

  /**
   * When another free sequence holds a much longer prefix of `prompt` than `sequence` (see {@link chooseDonor}: a new
   * conversation behind another's system prompt), copy its cache into `sequence` and erase what differs. Returns the
   * prompt tokens `sequence` then holds (`held` if nothing was copied). On the CPU only, where evaluating a prompt
   * costs far more than a state file; a failed copy clears the sequence and the prompt is evaluated in full.
   */
  async #seed(sequence: LlamaContextSequence, prompt: readonly Token[], held: number): Promise<number> {
    if (this.options.backend !== "cpu" || this.#disposed) return held;
    const donors = this.#sequences.filter((s) => s !== sequence && this.#free.has(s));
    const choice = chooseDonor(donors.map((s) => ({ tokens: s.contextTokens })), prompt, held);
    if (!choice) return held;
    // A private folder (mkdtemp makes it 0700): the state is what the prompts said, in another form.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mlxm-sequence-")).catch(() => undefined);
    if (!dir) return held;
    const file = path.join(dir, "state");
    try {
      await donors[choice.index]!.saveStateToFile(file);
      await sequence.loadStateFromFile(file, { acceptRisk: true });
      // What the donor held when it was saved (a request may have taken it meanwhile): keep the part that matches.
      const kept = commonPrefixLength(sequence.contextTokens, prompt);
      if (kept < sequence.contextTokens.length) await sequence.eraseContextTokenRanges([{ start: kept, end: sequence.contextTokens.length }]);
      return reusablePrefix(sequence.contextTokens, prompt);
    } catch {
      await sequence.clearHistory().catch(() => {});
      return 0;
    } finally {
      await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  #newSequence(): LlamaContextSequence {
    const order = this.#sequences.length;
    const sequence = this.context.getSequence(this.pacer ? { tokenPredictor: this.pacer.predictor(order) } : {});
    this.#sequences.push(sequence);
    if (this.options.directDecode ?? true) {
      installDirectDecode(sequence, {
        alone: () => this.#sequences.length - this.#free.size === 1,
        // node-llama-cpp's first predictTokens() call ends the pacer hold of takeSequence(); the lean loop makes none.
        onStart: () => paced(sequence)?.evaluationStarted(),
        promptThreads: this.options.promptThreads,
      });
    }
    return sequence;
  }

  /**
   * Give a sequence back. `clear` erases its KV cache (after an abort or error, whose state is not worth keeping);
   * otherwise the state stays for prefix reuse by a later request (unless prefix reuse is off).
   */
  async returnSequence(sequence: LlamaContextSequence, { clear }: { clear: boolean }): Promise<void> {
    paced(sequence)?.leave();
    if (sequence.disposed || this.#disposed) return;
    if (clear || !this.prefixReuse) {
      const release = this.pacer?.hold();
      try {
        await sequence.clearHistory();
      } finally {
        release?.();
      }
      this.#promptLength.delete(sequence);
    }
    this.#free.add(sequence);
  }

  /** The embedding context, created on first use with the same threads and context size. */
  embeddingContext(): Promise<LlamaEmbeddingContext> {
    this.#embedding ??= (async () => {
      const contextSize = this.context.contextSize;
      const created = await this.model.createEmbeddingContext({ contextSize, threads: this.options.threads });
      const needs = this.model.fileInsights.estimateContextResourceRequirements({
        contextSize,
        modelGpuLayers: this.model.gpuLayers,
        isEmbeddingContext: true,
      });
      this.#embeddingBytes = needs.cpuRam;
      this.#embeddingVramBytes = needs.gpuVram;
      return created;
    })().catch((err: unknown) => {
      this.#embedding = undefined;
      throw err;
    });
    return this.#embedding;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const embedding = await this.#embedding?.catch(() => undefined);
    await embedding?.dispose();
    await this.context.dispose();
    await this.model.dispose();
  }
}

function paced(sequence: LlamaContextSequence): PacedPredictor | undefined {
  return sequence.tokenPredictor instanceof PacedPredictor ? sequence.tokenPredictor : undefined;
}
