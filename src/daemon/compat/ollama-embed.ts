/** Ollama `/api/embed` (and the legacy `/api/embeddings`) ⇄ the core. Pure translators. */
import * as native from "../../protocol/chat.js";
import type { EmbeddingRequest, EmbeddingResult } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { fromKeepAlive } from "./ollama-options.js";
import { parseBody } from "./parse.js";

export function fromOllamaEmbedRequest(body: unknown): EmbeddingRequest {
  const b = parseBody(native.EmbedRequest, body);
  const keepAliveMs = fromKeepAlive(b.keep_alive);
  const dimensions = b.dimensions ?? undefined;
  // As Ollama: an empty string is no input, which only loads the model (a list with an empty string is a 400).
  const inputs = typeof b.input === "string" ? (b.input === "" ? [] : [b.input]) : b.input;
  // Ollama truncates an input longer than the context unless told not to.
  return {
    model: b.model,
    inputs,
    truncate: b.truncate ?? true,
    ...(keepAliveMs !== undefined ? { keepAliveMs } : {}),
    ...(dimensions !== undefined ? { dimensions } : {}),
  };
}

export function toOllamaEmbedResponse(result: EmbeddingResult, model: string, totalMs: number, loadMs = 0): native.EmbedResponse {
  return {
    model,
    embeddings: result.embeddings,
    total_duration: Math.round(totalMs * 1e6),
    load_duration: Math.round(loadMs * 1e6),
    prompt_eval_count: result.usage.inputTokens,
  };
}

export function fromOllamaEmbeddingsRequest(body: unknown): EmbeddingRequest {
  const b = parseBody(native.EmbeddingsRequest, body);
  const keepAliveMs = fromKeepAlive(b.keep_alive);
  // As Ollama: an empty prompt loads the model and answers an empty embedding.
  return { model: b.model, inputs: b.prompt === "" ? [] : [b.prompt], ...(keepAliveMs !== undefined ? { keepAliveMs } : {}) };
}
