/**
 * Table types for Kysely. Timestamps are ISO-8601 text (sortable, readable in the sqlite3 shell);
 * span times are integer nanoseconds-since-epoch split as milliseconds (REAL) to keep them in JS number range.
 * Booleans are 0/1 integers: better-sqlite3 cannot bind JS booleans.
 */
import type { ColumnType, Generated } from "kysely";

export interface ModelsTable {
  id: Generated<number>;
  /** Unique local name, e.g. `hf.co/org/repo:Q4_K_M` or `mlxm-tiny`. */
  name: string;
  /** "builtin" | "hf" | "local" */
  source: string;
  /** Hugging Face repo id (`org/repo`) when pulled. */
  repo: string | null;
  revision: string | null;
  quant: string | null;
  format: string;
  family: string | null;
  parameter_size: string | null;
  context_length: number | null;
  size_bytes: number;
  /** sha256 of the first (or only) file, as `sha256:<hex>`. */
  digest: string;
  /** JSON object of extra details (GGUF metadata summary). */
  details_json: string;
  created_at: string;
  modified_at: string;
  /** The model a preset or alias was made from (`mlxm create --from`, `mlxm cp`); null for a pulled/imported one. */
  parent: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON of the preset's defaults (system prompt, sampling, context size); null when it has none. */
  preset_json: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Content-addressed files under MLXM_HOME/blobs: identical files are stored once. */
export interface BlobsTable {
  digest: string;
  size_bytes: number;
  path: string;
  created_at: string;
  /** 1 when `path` is the user's own file (`mlxm import --link`): never deleted by mlxm, checked before use. */
  linked: ColumnType<number, number | undefined, number>;
  /** A linked file's mtime at import (ms); with its size, how a changed file is noticed. */
  mtime_ms: ColumnType<number | null, number | null | undefined, number | null>;
}

/** The files of a model, in order (split GGUFs have several). */
export interface ModelFilesTable {
  model_id: number;
  part_index: number;
  filename: string;
  blob_digest: string;
}

export interface PullsTable {
  id: Generated<number>;
  /** The normalised model reference being pulled. */
  ref: string;
  /** "queued" | "running" | "verifying" | "completed" | "failed" | "cancelled" */
  status: string;
  total_bytes: number | null;
  completed_bytes: ColumnType<number, number | undefined, number>;
  /** JSON plan: files with sizes, digests, URLs; written before the first byte so a restart can resume. */
  plan_json: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** Model name patterns routed to cloud providers. */
export interface RoutesTable {
  id: Generated<number>;
  pattern: string;
  /** "openai" | "anthropic" | "openai-compatible" | "mlxm" */
  provider: string;
  upstream_model: string | null;
  base_url: string | null;
  /** Name of the variable or key entry holding the credential, never the credential itself. */
  credential_ref: string | null;
  created_at: string;
  /** Higher is tried first among matching patterns. */
  priority: ColumnType<number, number | undefined, number>;
  /** Model name to serve the request when this backend fails before the first byte. */
  fallback: string | null;
  timeout_ms: number | null;
  /** 1: a local model of the same name wins; 0: the route wins. */
  prefer_local: ColumnType<number, number | undefined, number>;
  max_concurrency: number | null;
  requests_per_minute: number | null;
  /** The key given with --api-key-stdin, sealed with AES-256-GCM; never the clear key. */
  api_key_sealed: string | null;
}

/** API keys the daemon accepts; only a hash is stored. */
export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  prefix: string;
  hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** One row per API request: what a user looks at before opening the trace. */
export interface RequestsTable {
  id: string;
  trace_id: string | null;
  method: string;
  route: string;
  model: string | null;
  status_code: number;
  duration_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
  error: string | null;
  created_at: string;
  /** "openai" | "anthropic" | "ollama" | "native": the protocol the caller spoke. */
  api: string | null;
  /** What served it: "local", or "<provider>:<upstream model>". */
  backend: string | null;
  /** Input tokens read from a cache (part of input_tokens). */
  cached_tokens: number | null;
  /** Input tokens written to a provider's prompt cache (part of input_tokens; Anthropic's cache_creation_input_tokens). */
  cache_creation_tokens: number | null;
  ttft_ms: number | null;
  /** USD from the price table; 0 for local models, null when the price is unknown. */
  cost_usd: number | null;
}

export interface SpansTable {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  service: string;
  kind: number;
  start_ms: number;
  duration_ms: number;
  /** 0 unset, 1 ok, 2 error (OpenTelemetry SpanStatusCode). */
  status_code: number;
  status_message: string | null;
  attributes_json: string;
  events_json: string;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface Database {
  models: ModelsTable;
  blobs: BlobsTable;
  model_files: ModelFilesTable;
  pulls: PullsTable;
  routes: RoutesTable;
  api_keys: ApiKeysTable;
  requests: RequestsTable;
  spans: SpansTable;
  settings: SettingsTable;
}
