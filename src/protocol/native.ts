/**
 * Native API (`/api/*`) types and their runtime schemas, shared by MlxmClient and the daemon.
 * Shapes follow Ollama's where Ollama has the endpoint, so Ollama clients work against mlxm.
 */
import { z } from "zod";

export const VersionResponse = z.object({ version: z.string() });
export type VersionResponse = z.infer<typeof VersionResponse>;

export const HealthResponse = z.object({
  /** "starting" until the store is migrated and every component is up; then "ready". */
  status: z.enum(["starting", "ready"]),
  version: z.string(),
  pid: z.number(),
  address: z.string(),
  home: z.string(),
  started_at: z.string(),
  uptime_s: z.number(),
  /** "launchd" or "systemd" when a service manager supervises the daemon. */
  service: z.string().optional(),
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
});
export type ModelEntry = z.infer<typeof ModelEntry>;

export const TagsResponse = z.object({ models: z.array(ModelEntry) });
export type TagsResponse = z.infer<typeof TagsResponse>;

/** One entry of `/api/ps` (Ollama's ProcessModelResponse, plus mlxm's active request count). */
export const RunningModel = ModelEntry.extend({
  expires_at: z.string().nullable(),
  size_vram: z.number(),
  context_length: z.number().optional(),
  active_requests: z.number().default(0),
  queued_requests: z.number().default(0),
});
export type RunningModel = z.infer<typeof RunningModel>;

export const PsResponse = z.object({ models: z.array(RunningModel) });
export type PsResponse = z.infer<typeof PsResponse>;
