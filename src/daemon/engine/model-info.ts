/**
 * What `show` says about a stored model, from its store row and its GGUF header (never loading it), and the
 * description the hub records for a freshly pulled file.
 */
import type { ModelInfo } from "../core/model-service.js";
import type { ModelRow } from "../store/repos/models-repo.js";
import { isEmptyPreset, parsePreset } from "../core/preset.js";
import { InvalidModelError } from "./errors.js";
import { readGgufFile, summarizeGguf, validateGguf, type GgufMetadata } from "./gguf/index.js";

/** Keys shown elsewhere in ModelInfo, or too large to be useful in a listing. */
const HIDDEN_KEYS = new Set(["tokenizer.chat_template"]);
const MAX_METADATA_STRING = 512;

/** The ModelInfo of a stored model. */
export async function describeStoredModel(row: ModelRow, files: { filename: string; path: string; size_bytes: number }[]): Promise<ModelInfo> {
  const first = files[0];
  if (!first) throw new InvalidModelError(`model "${row.name}" has no files; pull it again`);
  let info;
  try {
    info = await readGgufFile(first.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new InvalidModelError(`the file of model "${row.name}" is missing; pull it again`, undefined, first.path);
    }
    throw err;
  }
  const summary = summarizeGguf(info);
  const details = parseDetails(row.details_json);
  const notes: string[] = [];
  if (details.random_weights === true) {
    notes.push(
      `${row.name} has random weights: it loads and generates like a real model, but what it writes is gibberish. ` +
        "It is there to try the daemon, its APIs and clients without a download; pull a real model for real answers.",
    );
  }
  const problems = validateGguf(info);
  if (problems.length) notes.push(`this file cannot be loaded: ${problems.join("; ")}`);
  const preset = parsePreset(row.preset_json);
  return {
    name: row.name,
    source: row.source,
    digest: row.digest,
    sizeBytes: row.size_bytes,
    modifiedAt: row.modified_at,
    architecture: summary.architecture,
    family: row.family ?? summary.architecture,
    parameterCount: summary.parameterCount,
    parameterSize: row.parameter_size ?? summary.parameterSize,
    quantization: row.quant ?? summary.quantization,
    ...(summary.contextLength !== undefined ? { contextLength: summary.contextLength } : {}),
    ...(summary.embeddingLength !== undefined ? { embeddingLength: summary.embeddingLength } : {}),
    hasChatTemplate: summary.hasChatTemplate,
    ...(summary.chatTemplate !== undefined ? { chatTemplate: summary.chatTemplate } : {}),
    files: files.map((f) => ({ filename: f.filename, path: f.path, sizeBytes: f.size_bytes })),
    notes,
    metadata: scalarMetadata(info.metadata),
    ...(row.parent ? { parent: row.parent } : {}),
    ...(preset && !isEmptyPreset(preset) ? { preset } : {}),
  };
}

/**
 * What the hub stores about a pulled GGUF (shape of its `describeModel` hook): family, parameter size, context
 * length, and a few details. Throws `InvalidModelError` for a file llama.cpp must not load.
 */
export async function describeGgufModel(path: string): Promise<{
  family: string;
  parameterSize: string;
  contextLength: number | null;
  details: Record<string, unknown>;
}> {
  const info = await readGgufFile(path);
  const problems = validateGguf(info);
  if (problems.length) throw new InvalidModelError(`invalid model: ${problems[0]}`, problems);
  const summary = summarizeGguf(info);
  return {
    family: summary.architecture,
    parameterSize: summary.parameterSize,
    contextLength: summary.contextLength ?? null,
    details: {
      architecture: summary.architecture,
      parameter_count: summary.parameterCount,
      quantization: summary.quantization,
      ...(summary.name !== undefined ? { general_name: summary.name } : {}),
      ...(summary.embeddingLength !== undefined ? { embedding_length: summary.embeddingLength } : {}),
      has_chat_template: summary.hasChatTemplate,
    },
  };
}

function scalarMetadata(metadata: GgufMetadata): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, entry] of metadata) {
    if (HIDDEN_KEYS.has(key) || entry.type === "array") continue;
    const value = entry.value;
    if (typeof value === "bigint") out[key] = Number(value);
    else if (typeof value === "string") out[key] = value.length > MAX_METADATA_STRING ? `${value.slice(0, MAX_METADATA_STRING)}…` : value;
    else out[key] = value;
  }
  return out;
}

function parseDetails(json: string): Record<string, unknown> {
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
