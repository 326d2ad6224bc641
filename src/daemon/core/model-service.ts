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
import type { RunningModel } from "../../protocol/native.js";
import type { ModelPreset } from "../../protocol/library.js";
import type { ChatEvent, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResult } from "./chat.js";

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
  /** Load a model without generating (Ollama: a request with no messages/prompt loads it). */
  load(model: string, keepAliveMs?: number): Promise<void>;
  show(model: string): Promise<ModelInfo>;
  /** Loaded models, in `/api/ps` shape. */
  running(): RunningModel[];
  /** Unload now (after in-flight requests finish). Returns false when it was not loaded. */
  unload(model: string): Promise<boolean>;
}
