/**
 * `/api/show` (Ollama's ShowRequest/ShowResponse) shared by the daemon
 * and MlxmClient. mlxm adds one `mlxm` object with everything `mlxm show` prints (files, notes, ...).
 */
import { z } from "zod";
import { ModelPreset } from "./library.js";
import { ModelDetails, OffloadState } from "./native.js";

export const ShowRequest = z.object({
  model: z.string().min(1).optional(),
  /** Ollama's deprecated spelling of `model`. */
  name: z.string().min(1).optional(),
  verbose: z.boolean().optional(),
});
export type ShowRequest = z.input<typeof ShowRequest>;

export const ModelFile = z.object({ filename: z.string(), path: z.string(), size: z.number() });
export type ModelFile = z.infer<typeof ModelFile>;

/** mlxm's own facts about a model, beside Ollama's fields. */
export const ModelFacts = z.object({
  name: z.string(),
  source: z.string(),
  digest: z.string(),
  size: z.number(),
  architecture: z.string(),
  family: z.string(),
  parameter_count: z.number(),
  parameter_size: z.string(),
  quantization: z.string(),
  context_length: z.number().nullable(),
  embedding_length: z.number().nullable(),
  has_chat_template: z.boolean(),
  files: z.array(ModelFile),
  /** Human notes, e.g. that the built-in model has random weights and produces gibberish. */
  notes: z.array(z.string()),
  /** The model a preset or alias was made from (`mlxm create --from`, `mlxm cp`). */
  parent: z.string().optional(),
  /** A preset's default system prompt and parameters (Ollama's names); request values win over them. */
  preset: ModelPreset.optional(),
  /** Where it runs while loaded (backend, layers on the GPU); absent when it is not loaded. */
  offload: OffloadState.optional(),
});
export type ModelFacts = z.infer<typeof ModelFacts>;

export const ShowResponse = z.object({
  license: z.string().optional(),
  modelfile: z.string(),
  parameters: z.string(),
  template: z.string(),
  system: z.string().optional(),
  details: ModelDetails,
  /** GGUF metadata, keyed as in the file (`general.architecture`, `llama.context_length`, ...). */
  model_info: z.record(z.string(), z.unknown()),
  capabilities: z.array(z.string()),
  modified_at: z.string(),
  /** A name a route serves: the upstream's model name and where it is (Ollama marks its cloud models so). */
  remote_model: z.string().optional(),
  remote_host: z.string().optional(),
  mlxm: ModelFacts,
});
export type ShowResponse = z.infer<typeof ShowResponse>;

