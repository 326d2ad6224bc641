/**
 * Loads GGUF models into llama.cpp for the pool. Every file is validated before llama.cpp opens it (some invalid
 * files abort the whole process inside llama.cpp), and a failed load becomes an `InvalidModelError` carrying
 * llama.cpp's own explanation from its log. The parse of the last few files (by mlxm's reader) is kept, and a stat
 * shows whether a file is still the one parsed: the pool's estimate and its load share one parse, as does the next
 * load of a model unloaded after its keep-alive, and a file replaced on disk in between is read and validated again.
 * Parsing a 32k-token vocabulary took ~90 ms of main-thread time here, during which every other stream stops.
 */
import { GgufInsights, type Llama, type LlamaModel } from "node-llama-cpp";
import type { GpuLayersSetting } from "../../config/config.js";
import { flashAttentionOption, type FlashAttentionSetting } from "../../config/flash-attention.js";
import { HttpError } from "../errors.js";
import { withSpan } from "../../observability/spans.js";
import { backendOf } from "./accelerator.js";
import { checkModelFile, currentIdentity, type CheckedModelFile, type GgufHeaderReader } from "./checked-model-file.js";
import { InvalidModelError } from "./errors.js";
import type { LlamaLease } from "./llama-runtime.js";
import { LoadedLlamaModel } from "./llama-model.js";
import type { MemoryFootprint, ModelLoader } from "./model-pool.js";
import type { EngineModelSpec } from "./model-spec.js";

export interface LlamaLoaderOptions {
  lease: LlamaLease;
  threads: number;
  /** Threads for decodes of more than one token (see batch-threads.ts); default `threads`. */
  batchThreads?: number;
  /** Threads for a prompt evaluated while its request is the only one (direct-decode.ts), asked per prompt; default `batchThreads`. */
  promptThreads?: () => number;
  /** Context length per sequence, capped at the model's own. */
  contextSize: number;
  /** Sequences per context: requests served at once. */
  numParallel: number;
  /** Keep sequences' caches for prompt-prefix reuse (default true). */
  prefixReuse?: boolean;
  /** A request generating alone runs on the lean loop of direct-decode.ts (default true). */
  directDecode?: boolean;
  /** MLXM_FLASH_ATTENTION for the contexts this loader creates. Default "auto" (node-llama-cpp's). */
  flashAttention?: FlashAttentionSetting;
  /** MLXM_GPU_LAYERS: what to offload when the binding has a GPU (ignored on the CPU). Default "auto". */
  gpuLayers?: GpuLayersSetting;
  /** Reads one GGUF header: mlxm's reader by default; tests inject a counting one. */
  readGguf?: GgufHeaderReader;
}

/**
 * Model files whose parse is kept for their next load. A parse holds the whole vocabulary (a few MB for a large
 * one), so only the most recent few.
 */
const KEPT_PARSES = 4;

export class LlamaModelLoader implements ModelLoader<EngineModelSpec, LoadedLlamaModel> {
  /** The last files checked, by path, most recent last. */
  readonly #parsed = new Map<string, CheckedModelFile>();

  constructor(private readonly options: LlamaLoaderOptions) {}

  /**
   * Validates the file, then estimates the RAM and GPU memory of the model plus a context with all its sequences,
   * with as many layers offloaded as node-llama-cpp would offload now (0 on the CPU).
   */
  async estimateMemory(spec: EngineModelSpec): Promise<MemoryFootprint> {
    const checked = await this.#check(spec);
    const llama = await this.options.lease.llama();
    const insights = await GgufInsights.from(checked.info, llama);
    // A preset's num_ctx replaces the daemon's default, still capped at the model's own.
    const wanted = spec.contextSize ?? this.options.contextSize;
    const contextSize = Math.min(wanted, insights.trainContextSize ?? wanted);
    const gpuLayers = await this.#resolveGpuLayers(llama, insights, contextSize);
    const model = insights.estimateModelResourceRequirements({ gpuLayers });
    const context = insights.estimateContextResourceRequirements({
      contextSize,
      sequences: this.options.numParallel,
      modelGpuLayers: gpuLayers,
      flashAttention: this.#estimatedFlashAttention(),
    });
    return { ramBytes: model.cpuRam + context.cpuRam, vramBytes: model.gpuVram + context.gpuVram };
  }

  /**
   * `checkModelFile`, or the parse kept from an earlier check (the pool's estimate, an earlier load) when a stat shows
   * the files unchanged since.
   */
  async #check(spec: EngineModelSpec): Promise<CheckedModelFile> {
    const kept = this.#parsed.get(spec.path);
    this.#parsed.delete(spec.path);
    const unchanged = kept !== undefined && kept.identity === (await currentIdentity(spec));
    const checked = unchanged ? kept : await checkModelFile(spec, this.options.readGguf);
    this.#parsed.set(spec.path, checked);
    if (this.#parsed.size > KEPT_PARSES) this.#parsed.delete(this.#parsed.keys().next().value!);
    return checked;
  }

  /** Flash attention as the memory estimates take it: a setting chosen explicitly, else their own default, as before. */
  #estimatedFlashAttention(): boolean | undefined {
    const option = flashAttentionOption(this.options.flashAttention);
    return option === "auto" ? undefined : option;
  }

  /** Layers node-llama-cpp would offload for MLXM_GPU_LAYERS given the VRAM free now; 0 without a GPU. */
  async #resolveGpuLayers(llama: Llama, insights: GgufInsights, contextSize: number): Promise<number> {
    if (!llama.supportsGpuOffloading) return 0;
    return insights.configurationResolver.resolveModelGpuLayers(this.#gpuLayersOption(contextSize), {
      getVramState: () => llama.getVramState(),
      llamaVramPaddingSize: llama.vramPaddingSize,
      llamaGpu: llama.gpu,
      llamaSupportsGpuOffloading: llama.supportsGpuOffloading,
    });
  }

  /** node-llama-cpp's `gpuLayers` for MLXM_GPU_LAYERS: "auto" leaves room for a context of the size we create. */
  #gpuLayersOption(contextSize: number): "max" | number | { fitContext: { contextSize: number } } {
    const setting = this.options.gpuLayers ?? "auto";
    return setting === "auto" ? { fitContext: { contextSize } } : setting;
  }

  async load(spec: EngineModelSpec): Promise<LoadedLlamaModel> {
    const { identity } = await this.#check(spec);
    const { lease, threads, numParallel } = this.options;
    const llama = await lease.llama();
    return withSpan(
      "mlxm.model.load",
      { attributes: { "gen_ai.request.model": spec.name, "mlxm.model.digest": spec.digest, "mlxm.model.size_bytes": spec.sizeBytes } },
      async (span) => {
        // The configured context size, not yet capped at the model's own: "auto" may leave a little more room.
        const gpuLayers = llama.supportsGpuOffloading ? this.#gpuLayersOption(spec.contextSize ?? this.options.contextSize) : 0;
        const model = await loadModel(llama, spec, lease, gpuLayers);
        try {
          // A preset's num_ctx replaces the daemon's default, still capped at the model's own.
          const wanted = spec.contextSize ?? this.options.contextSize;
          const contextSize = Math.min(wanted, model.trainContextSize || wanted);
          const context = await model.createContext({ contextSize, sequences: numParallel, threads, flashAttention: flashAttentionOption(this.options.flashAttention) });
          const footprint = loadedFootprint(model, context.contextSize, numParallel, context.batchSize, this.#estimatedFlashAttention());
          span.setAttributes({
            "mlxm.context.size": context.contextSize,
            "mlxm.context.sequences": numParallel,
            "mlxm.model.memory_bytes": footprint.ramBytes,
            "mlxm.model.vram_bytes": footprint.vramBytes,
            "mlxm.gpu.backend": backendOf(llama),
            "mlxm.gpu.layers": model.gpuLayers,
            "mlxm.model.layers": model.fileInsights.totalLayers,
          });
          return new LoadedLlamaModel(model, context, {
            threads,
            batchThreads: this.options.batchThreads,
            promptThreads: this.options.promptThreads,
            memoryBytes: footprint.ramBytes,
            vramBytes: footprint.vramBytes,
            backend: backendOf(llama),
            prefixReuse: this.options.prefixReuse ?? true,
            directDecode: this.options.directDecode ?? true,
            fileIdentity: identity,
          });
        } catch (err) {
          await model.dispose();
          throw new HttpError("unavailable", `model "${spec.name}" loaded but its context could not be created: ${message(err)}`, {
            model: spec.name,
          });
        }
      },
    );
  }
}

/**
 * What a loaded model and its context occupy, from the layers really offloaded. On the CPU the weights count at
 * their file size (mmap'd, as before); offloaded, node-llama-cpp's estimate splits them between RAM and VRAM.
 */
function loadedFootprint(model: LlamaModel, contextSize: number, sequences: number, batchSize: number, flashAttention: boolean | undefined): MemoryFootprint {
  const insights = model.fileInsights;
  const weights = model.gpuLayers === 0 ? { cpuRam: model.size, gpuVram: 0 } : insights.estimateModelResourceRequirements({ gpuLayers: model.gpuLayers });
  const context = insights.estimateContextResourceRequirements({ contextSize, sequences, modelGpuLayers: model.gpuLayers, batchSize, flashAttention });
  // node-llama-cpp's estimates are not whole numbers; byte counts reach clients (Ollama's `size` is an integer).
  return { ramBytes: Math.round(weights.cpuRam + context.cpuRam), vramBytes: Math.round(weights.gpuVram + context.gpuVram) };
}

async function loadModel(
  llama: Llama,
  spec: EngineModelSpec,
  lease: LlamaLease,
  gpuLayers: "max" | number | { fitContext: { contextSize: number } },
): Promise<LlamaModel> {
  const mark = lease.logMark();
  try {
    return await llama.loadModel({ modelPath: spec.path, gpuLayers });
  } catch (err) {
    // llama.cpp's reason is only in its log ("Failed to load model" is all the error says).
    const log = lease.logSince(mark).filter((line) => /error|fail|invalid|missing/i.test(line));
    const reason = log.at(-1) ?? message(err);
    throw new InvalidModelError(`llama.cpp could not load model "${spec.name}": ${reason}`, log.length ? log : [message(err)], spec.path);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
