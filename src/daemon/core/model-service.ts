/**
 * What the HTTP layer (OpenAI, Anthropic, native routes) asks of "the models", whoever serves them: the local
 * engine now, the router in front of it and the cloud providers later. Errors are typed `HttpError`s with
 * stable codes: `model_not_found` (404), `invalid_model` (422), `queue_full` (429, with Retry-After),
 * `bad_request` (400, with the offending `param`), `unavailable` (503).
 *
 * Streams: an error that happens before generation starts (unknown model, queue full, bad parameter) is thrown
 * by the iterator's FIRST `next()`, before any event, so a route can still answer with a proper status code.
 * Aborting `signal` (client disconnected) stops generation at once and frees its sequence; the stream then ends
 * with a `done` event whose finishReason is "cancelled" (or simply ends).
 */
import type { ModelPreset } from "../../protocol/library.js";
import type { ChatEvent, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResult } from "./chat.js";

/** One model as every list shows it (`/api/tags`, `/v1/models`, `mlxm ls`), whoever serves it. */
export interface ModelSummary {
  name: string;
  sizeBytes: number;
  /** `sha256:<hex>` for local files. */
  digest: string;
  createdAt: string;
  modifiedAt: string;
  /** File format, e.g. "gguf". */
  format: string;
  family?: string;
  /** Human parameter count, e.g. "1.2B". */
  parameterSize?: string;
  /** Quantization, e.g. "Q4_K_M". */
  quantization?: string;
  /** Set for a name a route serves: nothing of it is on disk here. */
  remote?: RemoteSource;
}

/** Where a routed name is served. */
export interface RemoteSource {
  provider: string;
  /** The model name the upstream is asked for. */
  upstreamModel: string;
  /** The upstream's base URL, or the provider's name when it uses its default. */
  host: string;
}

/** A loaded model (`/api/ps`, `mlxm ps`). */
export interface LoadedModel {
  model: ModelSummary;
  /** What the loaded model takes in system memory (weights, contexts). */
  memoryBytes: number;
  /** What it takes in GPU memory. */
  vramBytes: number;
  /** The compute backend and the layers offloaded to it. */
  offload: ModelOffload;
  /** When it unloads if still idle; null when it is kept loaded. */
  expiresAt: string | null;
  /** Context length per sequence. */
  contextLength: number;
  activeRequests: number;
  queuedRequests: number;
}

/** What deleting a model did. */
export interface DeleteResult {
  name: string;
  /** Bytes of files removed (files another model still uses stay). */
  freedBytes: number;
}

export interface ModelFileInfo {
  filename: string;
  path: string;
  sizeBytes: number;
}

/** Everything `mlxm show` and `/api/show` print about one model. */
export interface ModelInfo {
  name: string;
  source: string;
  digest: string;
  sizeBytes: number;
  modifiedAt: string;
  architecture: string;
  family: string;
  parameterCount: number;
  parameterSize: string;
  quantization: string;
  contextLength?: number;
  embeddingLength?: number;
  hasChatTemplate: boolean;
  chatTemplate?: string;
  files: ModelFileInfo[];
  /** Human notes, e.g. that the built-in model has random weights and produces gibberish. */
  notes: string[];
  /** Further GGUF metadata worth showing (string/number values only). */
  metadata: Record<string, string | number | boolean>;
  /** The model a preset or alias was made from. */
  parent?: string;
  /** A preset's default system prompt and parameters. */
  preset?: ModelPreset;
  /** Where it runs while loaded: the compute backend and the layers offloaded to it. Absent when not loaded. */
  offload?: ModelOffload;
  /** Set for a name a route serves: the other fields say nothing is on disk here. */
  remote?: RemoteSource;
}

/** How much of a loaded model runs on the GPU ("cpu" backend: none). */
export interface ModelOffload {
  backend: string;
  gpuLayers: number;
  totalLayers: number;
}

export interface ModelService {
  chat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  complete(request: CompletionRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  embed(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult>;
  /**
   * The prompt tokens `chat(request)` would report as `usage.inputTokens`, without generating: the same rendering
   * and tokenization (loads the model when needed). Errors as `chat` would throw them.
   */
  countTokens(request: ChatRequest, signal: AbortSignal): Promise<{ inputTokens: number }>;
  /** Load a model without generating (Ollama: a request with no messages/prompt loads it). */
  load(model: string, keepAliveMs?: number): Promise<void>;
  show(model: string): Promise<ModelInfo>;
  /** Every model a request can name, sorted by name. */
  list(): Promise<ModelSummary[]>;
  /** Loaded models. */
  running(): LoadedModel[];
  /** Unload now (after in-flight requests finish). Returns false when it was not loaded. */
  unload(model: string): Promise<boolean>;
  /** Unload and remove a model; its files go unless another model uses them. 404 `model_not_found` when unknown. */
  delete(model: string): Promise<DeleteResult>;
}
