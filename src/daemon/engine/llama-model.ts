/**
 * One loaded model: the llama.cpp model, ONE context with a sequence per parallel request (continuous batching:
 * concurrent requests are evaluated in the same batch), the chat wrapper resolved once from its template, and an
 * embedding context created on first use. Disposed in reverse order of creation. A {@link DecodePacer} decides when
 * each sequence's next token is queued (see there for why that is needed).
 */
import {
  resolveChatWrapper,
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaModel,
} from "node-llama-cpp";
import type { GpuBackend } from "./accelerator.js";
import { DecodePacer, PacedPredictor } from "./decode-pacer.js";
import type { PoolModel } from "./model-pool.js";

export interface LoadedLlamaModelOptions {
  threads: number;
  /** RAM bytes the model and its context take (estimated by node-llama-cpp at load). */
  memoryBytes: number;
  /** GPU memory they take (0 on the CPU). */
  vramBytes: number;
  /** The compute backend it runs on. */
  backend: GpuBackend | "cpu";
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
  #embedding: Promise<LlamaEmbeddingContext> | undefined;
  #embeddingBytes = 0;
  #embeddingVramBytes = 0;
  #disposed = false;

  constructor(
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    private readonly options: LoadedLlamaModelOptions,
  ) {
    this.chatWrapper = resolveChatWrapper(model);
    const insights = model.fileInsights;
    this.pacer = insights.isRecurrent || insights.isHybrid || insights.swaSize !== undefined ? undefined : new DecodePacer();
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

  /**
   * A free sequence. The pool admits at most as many requests as the context has sequences, so one is always free.
   * The lowest-numbered one: llama.cpp decodes only runs of consecutive sequence ids together (see DecodePacer), so
   * concurrent requests should hold 0, 1, 2... A lone client's next turn still lands on the sequence holding its
   * conversation (always 0), whose cached prefix is reused.
   */
  takeSequence(): LlamaContextSequence {
    let sequence = this.#sequences.find((s) => this.#free.has(s));
    if (sequence) {
      this.#free.delete(sequence);
    } else {
      if (this.context.sequencesLeft === 0) throw new Error("no free context sequence: more requests admitted than sequences");
      const order = this.#sequences.length;
      sequence = this.context.getSequence(this.pacer ? { tokenPredictor: this.pacer.predictor(order) } : {});
      this.#sequences.push(sequence);
    }
    paced(sequence)?.prepare();
    return sequence;
  }

  /**
   * Give a sequence back. `clear` erases its KV cache (after an abort or error, whose state is not worth keeping);
   * otherwise the state stays for prefix reuse by the next request.
   */
  async returnSequence(sequence: LlamaContextSequence, { clear }: { clear: boolean }): Promise<void> {
    paced(sequence)?.leave();
    if (sequence.disposed || this.#disposed) return;
    if (clear) {
      const release = this.pacer?.hold();
      try {
        await sequence.clearHistory();
      } finally {
        release?.();
      }
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
