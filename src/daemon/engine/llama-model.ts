/**
 * One loaded model: the llama.cpp model, ONE context with a sequence per parallel request (continuous batching:
 * concurrent requests are evaluated in the same batch), the chat wrapper resolved once from its template, and an
 * embedding context created on first use. Disposed in reverse order of creation.
 */
import {
  resolveChatWrapper,
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaModel,
} from "node-llama-cpp";
import type { PoolModel } from "./model-pool.js";

export interface LoadedLlamaModelOptions {
  threads: number;
  /** Bytes the model and its context take (estimated by node-llama-cpp at load). */
  memoryBytes: number;
}

export class LoadedLlamaModel implements PoolModel {
  readonly chatWrapper: ChatWrapper;
  readonly #free: LlamaContextSequence[] = [];
  #embedding: Promise<LlamaEmbeddingContext> | undefined;
  #embeddingBytes = 0;
  #disposed = false;

  constructor(
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    private readonly options: LoadedLlamaModelOptions,
  ) {
    this.chatWrapper = resolveChatWrapper(model);
  }

  get memoryBytes(): number {
    return this.options.memoryBytes + this.#embeddingBytes;
  }

  /** Tokens one sequence holds (the context size per request). */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /**
   * A free sequence. The pool admits at most as many requests as the context has sequences, so one is always free;
   * recently used ones come first, since their cached prefix (a system prompt, earlier turns) may be reused.
   */
  takeSequence(): LlamaContextSequence {
    const sequence = this.#free.pop();
    if (sequence) return sequence;
    if (this.context.sequencesLeft > 0) return this.context.getSequence();
    throw new Error("no free context sequence: more requests admitted than sequences");
  }

  /**
   * Give a sequence back. `clear` erases its KV cache (after an abort or error, whose state is not worth keeping);
   * otherwise the state stays for prefix reuse by the next request.
   */
  async returnSequence(sequence: LlamaContextSequence, { clear }: { clear: boolean }): Promise<void> {
    if (sequence.disposed || this.#disposed) return;
    if (clear) await sequence.clearHistory();
    this.#free.push(sequence);
  }

  /** The embedding context, created on first use with the same threads and context size. */
  embeddingContext(): Promise<LlamaEmbeddingContext> {
    this.#embedding ??= (async () => {
      const contextSize = this.context.contextSize;
      const created = await this.model.createEmbeddingContext({ contextSize, threads: this.options.threads });
      this.#embeddingBytes = this.model.fileInsights.estimateContextResourceRequirements({
        contextSize,
        modelGpuLayers: 0,
        isEmbeddingContext: true,
      }).cpuRam;
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
