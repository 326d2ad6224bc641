/**
 * Loads GGUF models into llama.cpp for the pool. Every file is validated before llama.cpp opens it (some invalid
 * files abort the whole process inside llama.cpp), and a failed load becomes an `InvalidModelError` carrying
 * llama.cpp's own explanation from its log.
 */
import { GgufInsights, readGgufFileInfo, type Llama, type LlamaModel } from "node-llama-cpp";
import { HttpError } from "../errors.js";
import { withSpan } from "../../observability/spans.js";
import { InvalidModelError } from "./errors.js";
import { readValidGgufFile } from "./gguf/index.js";
import type { LlamaLease } from "./llama-runtime.js";
import { LoadedLlamaModel } from "./llama-model.js";
import type { ModelLoader } from "./model-pool.js";
import type { EngineModelSpec } from "./model-spec.js";

export interface LlamaLoaderOptions {
  lease: LlamaLease;
  threads: number;
  /** Context length per sequence, capped at the model's own. */
  contextSize: number;
  /** Sequences per context: requests served at once. */
  numParallel: number;
}

export class LlamaModelLoader implements ModelLoader<EngineModelSpec, LoadedLlamaModel> {
  constructor(private readonly options: LlamaLoaderOptions) {}

  /** Validates the file, then estimates the RAM of the model plus a context with all its sequences. */
  async estimateBytes(spec: EngineModelSpec): Promise<number> {
    await validate(spec);
    const llama = await this.options.lease.llama();
    const insights = await GgufInsights.from(await readGgufFileInfo(spec.path, { logWarnings: false }), llama);
    const wanted = spec.contextSize ?? this.options.contextSize;
    const contextSize = Math.min(wanted, insights.trainContextSize ?? wanted);
    const model = insights.estimateModelResourceRequirements({ gpuLayers: 0 }).cpuRam;
    const context = insights.estimateContextResourceRequirements({
      contextSize,
      sequences: this.options.numParallel,
      modelGpuLayers: 0,
    }).cpuRam;
    return model + context;
  }

  async load(spec: EngineModelSpec): Promise<LoadedLlamaModel> {
    await validate(spec);
    const { lease, threads, numParallel } = this.options;
    const llama = await lease.llama();
    return withSpan(
      "mlxm.model.load",
      { attributes: { "gen_ai.request.model": spec.name, "mlxm.model.digest": spec.digest, "mlxm.model.size_bytes": spec.sizeBytes } },
      async (span) => {
        const model = await loadModel(llama, spec, lease);
        try {
          // A preset's num_ctx replaces the daemon's default, still capped at the model's own.
          const wanted = spec.contextSize ?? this.options.contextSize;
          const contextSize = Math.min(wanted, model.trainContextSize || wanted);
          const context = await model.createContext({ contextSize, sequences: numParallel, threads });
          const memoryBytes =
            model.size +
            model.fileInsights.estimateContextResourceRequirements({
              contextSize: context.contextSize,
              sequences: numParallel,
              modelGpuLayers: 0,
              batchSize: context.batchSize,
            }).cpuRam;
          span.setAttributes({ "mlxm.context.size": context.contextSize, "mlxm.context.sequences": numParallel, "mlxm.model.memory_bytes": memoryBytes });
          return new LoadedLlamaModel(model, context, { threads, memoryBytes });
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

/** Header checks before llama.cpp sees the file; problems come back without the local path. */
async function validate(spec: EngineModelSpec): Promise<void> {
  try {
    await readValidGgufFile(spec.path);
  } catch (err) {
    if (err instanceof InvalidModelError) {
      const first = err.problems[0] ?? err.message;
      const more = err.problems.length > 1 ? ` (and ${err.problems.length - 1} more)` : "";
      throw new InvalidModelError(`model "${spec.name}" is not a usable GGUF file: ${first}${more}`, err.problems, spec.path);
    }
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new InvalidModelError(`the file of model "${spec.name}" is missing; pull it again`, undefined, spec.path);
    }
    throw err;
  }
}

async function loadModel(llama: Llama, spec: EngineModelSpec, lease: LlamaLease): Promise<LlamaModel> {
  const mark = lease.logMark();
  try {
    return await llama.loadModel({ modelPath: spec.path, gpuLayers: 0 });
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
