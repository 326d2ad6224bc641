/**
 * From a model name in a request to what the engine loads: the store's row and the model's first file.
 */
import type { ModelSummary } from "../core/model-service.js";
import { modelNotFound } from "../errors.js";
import type { ModelRow } from "../store/repos/models-repo.js";
import type { Store } from "../store/store.js";
import { InvalidModelError } from "./errors.js";
import { parsePreset, type ModelPreset } from "../core/preset.js";
import { checkLinkedFiles } from "./linked-files.js";
import { loadablePath } from "./split-files.js";

/** A model the engine can load; `name` is the store's (canonical: "mlxm-tiny:latest" resolves to "mlxm-tiny"). */
export interface EngineModelSpec extends ModelSummary {
  /** The GGUF file llama.cpp opens (the first part of a split model). */
  path: string;
  /** `llama.context_length` as recorded at pull time, when known. */
  contextLength?: number;
  /** A preset's defaults (system prompt, sampling), applied under each request. */
  preset?: ModelPreset;
  /** Context length per sequence the preset asks for (`num_ctx`); the daemon's default otherwise. */
  contextSize?: number;
}

/** A stored model as the model service lists it. */
export function toModelSummary(row: ModelRow): ModelSummary {
  return {
    name: row.name,
    sizeBytes: row.size_bytes,
    digest: row.digest,
    createdAt: row.created_at,
    modifiedAt: row.modified_at,
    format: row.format,
    ...(row.family ? { family: row.family } : {}),
    ...(row.parameter_size ? { parameterSize: row.parameter_size } : {}),
    ...(row.quant ? { quantization: row.quant } : {}),
  };
}

/** Looks `name` up in the store; `name:latest` matches a model stored without a tag. */
export async function resolveModelSpec(store: Store, name: string): Promise<EngineModelSpec> {
  const row = await findModelRow(store, name);
  const files = await store.models.files(row.id);
  const first = files[0];
  if (!first) throw new InvalidModelError(`model "${row.name}" has no files; pull it again`);
  if (row.format !== "gguf") throw new InvalidModelError(`model "${row.name}" is ${row.format}, not GGUF`);
  await checkLinkedFiles(row.name, files);
  const preset = parsePreset(row.preset_json);
  return {
    ...toModelSummary(row),
    path: await loadablePath(files.map((f) => ({ filename: f.filename, path: f.path, digest: f.digest }))),
    ...(row.context_length ? { contextLength: row.context_length } : {}),
    ...(preset ? { preset } : {}),
    ...(preset?.parameters.num_ctx !== undefined ? { contextSize: preset.parameters.num_ctx } : {}),
  };
}

/** The store row for `name`, or a 404 `model_not_found`. */
export async function findModelRow(store: Store, name: string): Promise<ModelRow> {
  const row = await lookupModelRow(store, name);
  if (!row) throw modelNotFound(name);
  return row;
}

/** `name` without Ollama's `:latest` tag, which names the same model (and route) as the bare name. */
export function withoutLatestTag(name: string): string {
  return name.endsWith(":latest") ? name.slice(0, -":latest".length) : name;
}

/** The row for `name` (`:latest` optional), or undefined: for callers that only ask, without the 404's cost. */
export async function lookupModelRow(store: Store, name: string): Promise<ModelRow | undefined> {
  const bare = withoutLatestTag(name);
  return (await store.models.lookup(name)) ?? (bare !== name ? await store.models.lookup(bare) : undefined);
}
