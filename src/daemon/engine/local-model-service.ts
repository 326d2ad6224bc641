/**
 * The local engine behind ModelService: names resolve through the store, models load into the pool, each request
 * runs on its own context sequence, and every generation gets a GenAI span and metrics.
 *
 * Streams follow the ModelService contract: the request is checked, queued and its model loaded before the
 * first event, so those errors are thrown by the iterator's first `next()`; after that, events arrive as tokens
 * are generated and end with one `done`. Aborting the signal (or abandoning the iterator) stops generation at
 * once and returns the sequence, cleared, for the next request.
 */
import os from "node:os";
import type { Token } from "node-llama-cpp";
import type { MlxmConfig } from "../../config/config.js";
import { OutputRecorder, toInputContent } from "../../observability/genai-content.js";
import type { Logger } from "../../observability/logger.js";
import type { Metrics } from "../../observability/metrics.js";
import { GenAI, SpanKind, withSpan, type Attributes, type Span } from "../../observability/spans.js";
import type { ChatEvent, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResult } from "../core/chat.js";
import type { DeleteResult, LoadedModel, ModelInfo, ModelService, ModelSummary } from "../core/model-service.js";
import { applyPresetToChat, applyPresetToCompletion, type ModelPreset } from "../core/preset.js";
import { badRequest, modelNotFound, UnsupportedInputError } from "../errors.js";
import type { Store } from "../store/store.js";
import { SchemaGrammars } from "./grammar/schema-grammars.js";
import { chatPrompt, countChatTokens, prepareChat, runChat, type GenerationOutcome, type GenerationTarget } from "./generation.js";
import { completionPrompt, prepareCompletion, runCompletion } from "./completion.js";
import { describeAccelerator, type AcceleratorInfo } from "./accelerator.js";
import { recordGeneration, requestAttributes, round, type GenerationMetrics, type Operation } from "./generation-telemetry.js";
import { LlamaModelLoader } from "./llama-loader.js";
import type { LoadedLlamaModel } from "./llama-model.js";
import { checkEmbeddingInputs, runEmbedding } from "./embedding.js";
import { defaultPromptThreadCount, defaultThreadCount, leaseLlama, type LlamaLease } from "./llama-runtime.js";
import { describeStoredModel } from "./model-info.js";
import { ModelPool, type ModelLease } from "./model-pool.js";
import { CpuContention, promptThreadsFor } from "./cpu-contention.js";
import { poolParking } from "./pool-parking.js";
import { deleteStoredModel } from "./model-deletion.js";
import { findModelRow, resolveModelSpec, toModelSummary, type EngineModelSpec } from "./model-spec.js";
import { startedStream, type StreamProducer } from "./started-stream.js";

/** Share of system memory models may use when MLXM_MAX_MEMORY is not set. */
export const DEFAULT_MEMORY_SHARE = 0.5;

export interface LocalModelServiceOptions {
  store: Store;
  engine: MlxmConfig["engine"];
  logger: Logger;
  metrics?: GenerationMetrics & Pick<Metrics, "queueDepth" | "loadedModels">;
  /** MLXM_TRACE_CONTENT: record prompt and completion on generation spans (GenAI semconv shape). */
  recordContent?: boolean;
  /** System memory, for the default budget; default os.totalmem(). */
  totalMemoryBytes: number;
}

type Lease = ModelLease<EngineModelSpec, LoadedLlamaModel>;

/**
 * The three steps of one generation: check the request with the model's preset applied (model resolved, not loaded),
 * tokenize its prompt (model loaded), run.
 */
interface GenerationSteps<P> {
  /** Span attributes beyond the request's own. */
  attributes?: Attributes;
  prepare(preset: ModelPreset | undefined): P;
  tokenize(loaded: LoadedLlamaModel, prepared: P): Token[];
  run(target: GenerationTarget, prepared: P): Promise<GenerationOutcome>;
}

export class LocalModelService implements ModelService {
  readonly threads: number;
  readonly maxMemoryBytes: number;
  readonly #llama: LlamaLease;
  readonly #pool: ModelPool<EngineModelSpec, LoadedLlamaModel>;
  readonly #queueLabels = new Set<string>();
  readonly #grammars = new SchemaGrammars();
  /** Total VRAM once the binding is up: the pool's GPU memory budget (0 on the CPU, where nothing needs any). */
  #vramTotalBytes: number | undefined;
  #bindingReady = false;
  readonly #cpuContention = new CpuContention();

  constructor(private readonly options: LocalModelServiceOptions) {
    const { engine, logger } = options;
    this.threads = engine.threads ?? defaultThreadCount();
    this.maxMemoryBytes = engine.maxMemoryBytes ?? Math.floor(options.totalMemoryBytes * DEFAULT_MEMORY_SHARE);
    // The pool is the process's: the daemon's setting applies to it (one engine per daemon).
    poolParking.enabled = engine.poolParking !== false;
    poolParking.prepare();
    this.#llama = leaseLlama({ threads: this.threads, gpu: engine.gpu, logger });
    this.#pool = new ModelPool({
      loader: new LlamaModelLoader({
        lease: this.#llama,
        threads: this.threads,
        batchThreads: engine.batchThreads,
        promptThreads: this.#promptThreads(engine),
        contextSize: engine.contextSize,
        numParallel: engine.numParallel,
        prefixReuse: engine.prefixReuse,
        directDecode: engine.directDecode,
        gpuLayers: engine.gpuLayers,
        flashAttention: engine.flashAttention,
      }),
      maxMemoryBytes: this.maxMemoryBytes,
      maxVramBytes: () => this.#vramTotalBytes ?? Number.POSITIVE_INFINITY,
      maxLoadedModels: engine.maxLoadedModels,
      numParallel: engine.numParallel,
      maxQueue: engine.maxQueue,
      defaultKeepAliveMs: engine.keepAliveMs,
      onChange: () => this.#updateGauges(),
      onError: (err, model) => logger.warn({ err, model }, "failed to unload a model"),
    });
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    return this.#stream("chat", request, signal, {
      prepare: (preset) => prepareChat(applyPresetToChat(request, preset), this.#grammars),
      tokenize: chatPrompt,
      run: runChat,
    });
  }

  complete(request: CompletionRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    // Fill-in-the-middle is a text completion like any other; the span says which kind it was.
    return this.#stream("text_completion", request, signal, {
      ...(request.suffix ? { attributes: { "mlxm.completion.infill": true } } : {}),
      prepare: (preset) => prepareCompletion(applyPresetToCompletion(request, preset), this.#grammars),
      tokenize: completionPrompt,
      run: runCompletion,
    });
  }

  async embed(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    const attributes: Attributes = {
      [GenAI.OPERATION_NAME]: "embeddings",
      [GenAI.PROVIDER_NAME]: "mlxm",
      [GenAI.REQUEST_MODEL]: request.model,
      "mlxm.embeddings.input_count": Array.isArray(request.inputs) ? request.inputs.length : 0,
    };
    return withSpan(`embeddings ${request.model}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      checkEmbeddingInputs(request.inputs);
      if (request.dimensions !== undefined) throw new UnsupportedInputError("dimensions is not supported by local models: their embeddings have the model's own width", "dimensions");
      const spec = await resolveModelSpec(this.options.store, request.model);
      const lease = await this.#acquire(spec, request.keepAliveMs, signal, span);
      try {
        const { embeddings, inputTokens } = await runEmbedding(lease.model, request.inputs, signal, request.truncate);
        span.setAttributes({
          [GenAI.RESPONSE_MODEL]: spec.name,
          [GenAI.USAGE_INPUT_TOKENS]: inputTokens,
          "gen_ai.embeddings.dimension.count": embeddings[0]?.length ?? 0,
        });
        this.options.metrics?.tokens.inc({ model: spec.name, type: "input" }, inputTokens);
        return { model: spec.name, embeddings, usage: { inputTokens }, loadMs: round(lease.loadMs) };
      } finally {
        lease.release();
      }
    });
  }

  async countTokens(request: ChatRequest, signal: AbortSignal): Promise<{ inputTokens: number }> {
    const attributes: Attributes = { [GenAI.OPERATION_NAME]: "count_tokens", [GenAI.PROVIDER_NAME]: "mlxm", [GenAI.REQUEST_MODEL]: request.model };
    return withSpan(`count_tokens ${request.model}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      const spec = await resolveModelSpec(this.options.store, request.model);
      // Counted as a create with the same body would be: with the preset's defaults (its system prompt) applied.
      const prepared = prepareChat(applyPresetToChat(request, spec.preset), this.#grammars);
      // A lease keeps the model loaded while its tokenizer is in use; no sequence is taken.
      const lease = await this.#acquire(spec, request.keepAliveMs, signal, span);
      try {
        const inputTokens = countChatTokens(lease.model, prepared);
        span.setAttributes({ [GenAI.RESPONSE_MODEL]: spec.name, [GenAI.USAGE_INPUT_TOKENS]: inputTokens });
        return { inputTokens };
      } finally {
        lease.release();
      }
    });
  }

  /** Loads `model` (Ollama: an empty request). keep_alive 0 unloads it instead, as Ollama does. */
  async load(model: string, keepAliveMs?: number): Promise<void> {
    const spec = await resolveModelSpec(this.options.store, model);
    if (keepAliveMs === 0) {
      await this.#pool.unload(spec.name);
      return;
    }
    const lease = await this.#pool.acquire(spec, { keepAliveMs });
    lease.release();
  }

  async show(model: string): Promise<ModelInfo> {
    const row = await findModelRow(this.options.store, model);
    const info = await describeStoredModel(row, await this.options.store.models.files(row.id));
    const loaded = this.#pool.running().find((entry) => entry.spec.name === row.name);
    return loaded ? { ...info, offload: loaded.model.offload } : info;
  }

  /**
   * The compute backend, its devices and VRAM now. Creates the llama.cpp binding if nothing has yet (1-2 s), so a
   * backend named in MLXM_GPU that cannot load fails here with a GpuUnavailableError.
   */
  async accelerator(): Promise<AcceleratorInfo> {
    const info = await describeAccelerator(await this.#llama.llama(), this.options.engine.gpu);
    this.#vramTotalBytes = info.vramTotalBytes;
    this.#bindingReady = true;
    return info;
  }

  /** The accelerator if the binding is already up, without starting it (for health checks). */
  async acceleratorIfReady(): Promise<AcceleratorInfo | undefined> {
    return this.#bindingReady ? this.accelerator() : undefined;
  }

  async list(): Promise<ModelSummary[]> {
    return (await this.options.store.models.list()).map(toModelSummary);
  }

  running(): LoadedModel[] {
    return this.#pool.running().map((entry) => {
      const { path: _path, contextLength: _contextLength, ...model } = entry.spec;
      return {
        model,
        memoryBytes: entry.memoryBytes,
        vramBytes: entry.vramBytes,
        expiresAt: entry.expiresAt === null ? null : new Date(entry.expiresAt).toISOString(),
        contextLength: entry.model.contextSize,
        offload: entry.model.offload,
        activeRequests: entry.activeRequests,
        queuedRequests: entry.queuedRequests,
      };
    });
  }

  async unload(model: string): Promise<boolean> {
    const name = this.#pool.has(model) ? model : (await findModelRow(this.options.store, model)).name;
    return this.#pool.unload(name);
  }

  /** Exact names only, as Ollama's delete: unloads first, so no request holds the files being removed. */
  async delete(model: string): Promise<DeleteResult> {
    const row = await this.options.store.models.findByName(model);
    if (!row) throw modelNotFound(model);
    await this.unload(row.name);
    return { name: row.name, freedBytes: await deleteStoredModel(this.options.store, row.name) };
  }

  /** Dispose every model (contexts, then models), then give back the llama.cpp binding. */
  async dispose(): Promise<void> {
    this.#cpuContention.dispose();
    await this.#pool.dispose();
    await this.#llama.release();
  }

  /**
   * Threads for a prompt evaluated alone (direct-decode.ts), asked before each of its decodes: MLXM_PROMPT_THREADS, at
   * most the CPUs that other work running at that instant and lately leaves free (cpu-contention.ts), never below the
   * batch budget.
   */
  #promptThreads(engine: MlxmConfig["engine"]): () => number {
    const batchThreads = engine.batchThreads ?? this.threads;
    const cpus = os.availableParallelism();
    const budget = engine.promptThreads ?? defaultPromptThreadCount(batchThreads, cpus);
    if (budget <= batchThreads) return () => budget;
    return () => promptThreadsFor(budget, batchThreads, cpus, this.#cpuContention.others());
  }

  /** One streamed generation: run inside its span, relayed by {@link startedStream}. */
  #stream<P>(
    operation: Operation,
    request: ChatRequest | CompletionRequest,
    signal: AbortSignal,
    steps: GenerationSteps<P>,
  ): AsyncGenerator<ChatEvent> {
    return startedStream<ChatEvent>(
      signal,
      (producer) =>
        withSpan(
          `${operation} ${request.model}`,
          { kind: SpanKind.INTERNAL, attributes: { ...requestAttributes(operation, request.model, request.sampling), ...steps.attributes } },
          (span) => this.#generate(span, request, producer, steps),
        ),
      { type: "done", finishReason: "cancelled", usage: { inputTokens: 0, outputTokens: 0 } },
    );
  }

  async #generate<P>(
    span: Span,
    request: ChatRequest | CompletionRequest,
    { signal, channel, begin }: StreamProducer<ChatEvent>,
    steps: GenerationSteps<P>,
  ): Promise<void> {
    const arrived = performance.now();
    const output = this.options.recordContent ? new OutputRecorder() : undefined;
    if (output) span.setAttributes(toInputContent(request));
    const spec = await resolveModelSpec(this.options.store, request.model);
    // A preset's defaults go under the request's own values.
    const prepared = steps.prepare(spec.preset);
    const llama = await this.#llama.llama();
    const lease = await this.#acquire(spec, request.keepAliveMs, signal, span);
    let prompt: Token[];
    try {
      prompt = steps.tokenize(lease.model, prepared);
    } catch (err) {
      lease.release();
      throw err;
    }
    // Chosen by the prefix it shares with the prompt, so a conversation's next turn evaluates only what is new (and a
    // new conversation behind another's system prompt starts from a copy of that evaluation).
    const { sequence, cachedTokens } = await lease.model.takeSequence(prompt);
    let generationStart = 0;
    const target: GenerationTarget = {
      llama,
      loaded: lease.model,
      sequence,
      prompt,
      cachedTokens,
      signal,
      emit: (event) => {
        output?.add(event);
        channel.push(event);
      },
      begin: () => {
        generationStart = performance.now();
        begin();
      },
      grammars: this.#grammars,
    };
    let outcome: GenerationOutcome;
    try {
      outcome = await steps.run(target, prepared);
    } catch (err) {
      // The sequence's state is partial: clear it so the next request starts clean.
      await lease.model.returnSequence(sequence, { clear: true }).catch(() => {});
      lease.release();
      throw err;
    }
    await lease.model.returnSequence(sequence, { clear: outcome.finishReason === "cancelled" }).catch(() => {});
    lease.release();
    const end = performance.now();
    const timings = {
      queueMs: round(lease.queueMs),
      loadMs: round(lease.loadMs),
      ...(outcome.firstTokenAt !== undefined ? { timeToFirstTokenMs: round(outcome.firstTokenAt - arrived) } : {}),
      generationMs: round(end - generationStart),
    };
    channel.push({
      type: "done",
      finishReason: outcome.finishReason,
      usage: outcome.usage,
      ...(outcome.stopSequence !== undefined ? { stopSequence: outcome.stopSequence } : {}),
      timings,
    });
    if (output) span.setAttributes(output.attributes(outcome.finishReason));
    recordGeneration(span, { model: spec.name, outcome, timings, arrived, end }, this.options);
  }

  async #acquire(spec: EngineModelSpec, keepAliveMs: number | undefined, signal: AbortSignal, span: Span): Promise<Lease> {
    // Each request (its model's load included) uses libuv's pool: one more than a lean loop's own ends any parking.
    const stopUsingPool = poolParking.use();
    let leased: Lease;
    try {
      leased = await this.#pool.acquire(spec, { keepAliveMs, signal });
    } catch (err) {
      stopUsingPool();
      throw err;
    }
    const lease: Lease = {
      ...leased,
      release: () => {
        leased.release();
        stopUsingPool();
      },
    };
    const { backend, gpuLayers } = lease.model.offload;
    span.setAttributes({
      "mlxm.gpu.backend": backend,
      "mlxm.gpu.layers": gpuLayers,
      "mlxm.model.load": lease.cold ? "cold" : "warm",
      "mlxm.model.load_ms": round(lease.loadMs),
      "mlxm.queue.wait_ms": round(lease.queueMs),
    });
    return lease;
  }

  #updateGauges(): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    const running = this.#pool.running();
    metrics.loadedModels.set(running.length);
    const seen = new Set<string>();
    for (const entry of running) {
      seen.add(entry.spec.name);
      this.#queueLabels.add(entry.spec.name);
      metrics.queueDepth.set({ model: entry.spec.name }, entry.queuedRequests);
    }
    for (const name of this.#queueLabels) {
      if (!seen.has(name)) metrics.queueDepth.set({ model: name }, 0);
    }
  }
}
