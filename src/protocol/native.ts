/**
 * Native API (`/api/*`) types and their runtime schemas, shared by MlxmClient and the daemon.
 * Shapes follow Ollama's where Ollama has the endpoint, so Ollama clients work against mlxm.
 */
import { z } from "zod";

/**
 * The Ollama API level mlxm's `/api/*` speaks (chat with tools and `think` levels, `format` schemas, `/api/embed`
 * with `truncate`), reported as `version` because Ollama clients gate features on it: VS Code's Copilot Chat refuses
 * a server below 0.6.4. mlxm's own version is `mlxm`.
 */
export const OLLAMA_API_VERSION = "0.12.0";

export const VersionResponse = z.object({ version: z.string(), mlxm: z.string() });
export type VersionResponse = z.infer<typeof VersionResponse>;

/** One remote trace exporter (Logfire, an OTLP collector) as `/api/health` and `mlxm daemon status` show it. */
export const ExporterState = z.object({
  name: z.string(),
  endpoint: z.string(),
  /** Spans sent so far. */
  exported: z.number(),
  /** Spans dropped so far: the backend failed or did not answer in time, the queue was full, or shutdown. */
  dropped: z.number(),
  /** Spans waiting to be sent. */
  queued: z.number(),
  last_success: z.string().nullable(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
});
export type ExporterState = z.infer<typeof ExporterState>;
/** The compute backend the local engine runs on (`mlxm daemon status`); VRAM figures are 0 on the CPU. */
export const AcceleratorState = z.object({
  /** What MLXM_GPU asked for: auto, off, metal, cuda or vulkan. */
  requested: z.string(),
  /** What runs: metal, cuda, vulkan or cpu. */
  backend: z.string(),
  devices: z.array(z.string()),
  vram_total: z.number(),
  vram_used: z.number(),
  vram_free: z.number(),
  /** Memory shared by CPU and GPU (Apple Silicon). */
  unified_memory: z.number(),
  /** The llama.cpp binary in use: "local" (built here by `mlxm engine build`) or "prebuilt" (node-llama-cpp's). */
  binary: z.enum(["local", "prebuilt"]).optional(),
});
export type AcceleratorState = z.infer<typeof AcceleratorState>;

/** How much of a loaded model runs on the GPU. */
export const OffloadState = z.object({
  backend: z.string(),
  gpu_layers: z.number(),
  total_layers: z.number(),
});
export type OffloadState = z.infer<typeof OffloadState>;

export const HealthResponse = z.object({
  /** "starting" until the store is migrated and every component is up; then "ready". */
  status: z.enum(["starting", "ready"]),
  version: z.string(),
  pid: z.number(),
  address: z.string(),
  home: z.string(),
  started_at: z.string(),
  uptime_s: z.number(),
  /** Remote trace exporters; empty when spans stay on this machine. */
  exporters: z.array(ExporterState).default([]),
  /** "launchd" or "systemd" when a service manager supervises the daemon. */
  service: z.string().optional(),
  /** Once the engine's binding is up (a moment after start): the backend and devices it chose. */
  accelerator: AcceleratorState.optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

export const ModelDetails = z.object({
  parent_model: z.string().default(""),
  format: z.string(),
  family: z.string(),
  families: z.array(z.string()).nullable(),
  parameter_size: z.string(),
  quantization_level: z.string(),
});
export type ModelDetails = z.infer<typeof ModelDetails>;

/** One entry of `/api/tags` (Ollama's ListModelResponse). */
export const ModelEntry = z.object({
  name: z.string(),
  model: z.string(),
  modified_at: z.string(),
  size: z.number(),
  digest: z.string(),
  details: ModelDetails,
  /** Routed names (Ollama's cloud-model fields): the upstream model and where it runs. */
  remote_model: z.string().optional(),
  remote_host: z.string().optional(),
});
export type ModelEntry = z.infer<typeof ModelEntry>;

export const TagsResponse = z.object({ models: z.array(ModelEntry) });
export type TagsResponse = z.infer<typeof TagsResponse>;

/** One entry of `/api/ps` (Ollama's ProcessModelResponse, plus mlxm's active request count). */
export const RunningModel = ModelEntry.extend({
  expires_at: z.string().nullable(),
  size_vram: z.number(),
  context_length: z.number().optional(),
  offload: OffloadState.optional(),
  active_requests: z.number().default(0),
  queued_requests: z.number().default(0),
});
export type RunningModel = z.infer<typeof RunningModel>;

export const PsResponse = z.object({ models: z.array(RunningModel) });
export type PsResponse = z.infer<typeof PsResponse>;
