/**
 * The model library's native API: Ollama's `/api/create` and `/api/copy` shapes (so Ollama clients work), and
 * mlxm's own `/api/import` (a GGUF already on disk) and `/api/search` (GGUF repos on the Hub).
 */
import { z } from "zod";

/**
 * A preset's parameters, named as Ollama's `options`/Modelfile `PARAMETER`s. Only what mlxm applies is accepted,
 * so a preset never silently drops a setting, and only in the ranges a request accepts (engine/sampling.ts): a
 * preset value a request could not send would make every request to the model a 400 naming a parameter its caller
 * never sent, so it is refused when the preset is made.
 */
export const PresetParameters = z.strictObject({
  temperature: z.number().min(0).max(100).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).max(1_000_000).optional(),
  min_p: z.number().min(0).max(1).optional(),
  seed: z.number().int().optional(),
  num_predict: z.number().int().min(-2).max(10_000_000).optional(),
  num_ctx: z.number().int().min(64).max(10_000_000).optional(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  repeat_penalty: z.number().min(0).max(100).optional(),
  repeat_last_n: z.number().int().min(-1).max(10_000_000).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
});
export type PresetParameters = z.infer<typeof PresetParameters>;

/** What a preset stores: a default system prompt and default parameters; request values still win. */
export const ModelPreset = z.object({
  system: z.string().optional(),
  parameters: PresetParameters.default({}),
});
export type ModelPreset = z.infer<typeof ModelPreset>;

/**
 * Ollama's CreateRequest, the part mlxm serves: a named model made `from` an existing one with a system prompt and
 * parameters. Fields that need a model build (files, adapters, quantize, template) are refused with a clear 400.
 */
export const CreateRequest = z.object({
  model: z.string().min(1).max(256).optional(),
  /** Older clients' spelling of `model`. */
  name: z.string().min(1).max(256).optional(),
  from: z.string().min(1).max(512).optional(),
  system: z.string().max(1_000_000).optional(),
  parameters: PresetParameters.optional(),
  stream: z.boolean().optional(),
  files: z.record(z.string(), z.string()).optional(),
  adapters: z.record(z.string(), z.string()).optional(),
  quantize: z.string().optional(),
  template: z.string().optional(),
  license: z.union([z.string(), z.array(z.string())]).optional(),
  messages: z.array(z.unknown()).optional(),
  modelfile: z.string().optional(),
});
export type CreateRequest = z.input<typeof CreateRequest>;

/** Ollama's `/api/create` and `/api/copy` answer: progress lines (streamed) or the last one. */
export const StatusResponse = z.object({ status: z.string() });
export type StatusResponse = z.infer<typeof StatusResponse>;

/** Ollama's CopyRequest. */
export const CopyRequest = z.object({ source: z.string().min(1).max(512), destination: z.string().min(1).max(256) });
export type CopyRequest = z.infer<typeof CopyRequest>;

/** How `/api/import` stores a file: copied or moved into the content-addressed store, or linked where it is. */
export const ImportMode = z.enum(["copy", "move", "link"]);
export type ImportMode = z.infer<typeof ImportMode>;

export const ImportRequest = z.object({
  /** Absolute path of the GGUF (any part of a split model; the others are found by their `-0000N-of-0000M` names). */
  path: z.string().min(1).max(4096),
  /** Local name; default from the file name. */
  name: z.string().min(1).max(256).optional(),
  mode: ImportMode.default("copy"),
  /** Stream NDJSON progress (default true). */
  stream: z.boolean().optional(),
});
export type ImportRequest = z.input<typeof ImportRequest>;

/**
 * One line of `/api/import` progress, shaped as `/api/pull`'s: `{status}` for phases, `file`/`total`/`completed`
 * while a file is hashed (its digest is what hashing finds out), and `name` on the last ("success") line.
 */
export const ImportProgress = z.object({
  status: z.string(),
  file: z.string().optional(),
  total: z.number().optional(),
  completed: z.number().optional(),
  name: z.string().optional(),
});
export type ImportProgress = z.infer<typeof ImportProgress>;

export const SearchSort = z.enum(["downloads", "trending", "likes", "updated"]);
export type SearchSort = z.infer<typeof SearchSort>;

/** One quantisation a repo offers: ready to paste into `mlxm pull`. */
export const SearchQuant = z.object({
  quant: z.string(),
  /** `hf.co/<org>/<repo>:<quant>`. */
  ref: z.string(),
  size: z.number(),
  files: z.number(),
});

/** One GGUF repo found on the Hub. */
export const SearchResult = z.object({
  repo: z.string(),
  downloads: z.number(),
  likes: z.number(),
  updated: z.string().nullable(),
  gated: z.boolean(),
  /** The caller's own private repo (listed only to a search that carried the caller's token; older daemons omit it). */
  private: z.boolean().default(false),
  quantizations: z.array(SearchQuant),
});
export type SearchResult = z.infer<typeof SearchResult>;

export const SearchResponse = z.object({ query: z.string(), sort: SearchSort, models: z.array(SearchResult) });
export type SearchResponse = z.infer<typeof SearchResponse>;
