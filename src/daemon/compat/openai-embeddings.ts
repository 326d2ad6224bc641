/**
 * OpenAI Embeddings (`/v1/embeddings`) ⇄ the core. Pure translators. `encoding_format: "base64"` is what the openai
 * SDK asks for by default: the little-endian float32 bytes of each vector, base64-encoded, as OpenAI sends them.
 */
import { z } from "zod";
import type { CreateEmbeddingResponse } from "openai/resources/embeddings";
import type { EmbeddingRequest, EmbeddingResult } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { parseBody } from "./parse.js";

export const EmbeddingRequestSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.unknown())]),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});

export interface TranslatedEmbedding {
  request: EmbeddingRequest;
  encodingFormat: "float" | "base64";
}

export function fromEmbeddingRequest(body: unknown): TranslatedEmbedding {
  const b = parseBody(EmbeddingRequestSchema, body);
  if (b.dimensions != null) throw badRequest("dimensions is not supported: embeddings have the model's own width", "dimensions");
  const inputs = typeof b.input === "string" ? [b.input] : b.input;
  if (inputs.length === 0) throw badRequest("input must not be empty", "input");
  inputs.forEach((x, i) => {
    if (typeof x !== "string") throw badRequest("input must be a string or an array of strings (token ids are not supported)", `input[${i}]`);
    if (x === "") throw badRequest("input must not be an empty string", typeof b.input === "string" ? "input" : `input[${i}]`);
  });
  return { request: { model: b.model, inputs: inputs as string[] }, encodingFormat: b.encoding_format ?? "float" };
}

/** One vector as OpenAI's base64: float32, little-endian, whatever the host's byte order. */
export function toBase64Embedding(vector: readonly number[]): string {
  const buf = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString("base64");
}

export function toEmbeddingResponse(result: EmbeddingResult, model: string, encodingFormat: "float" | "base64"): CreateEmbeddingResponse {
  return {
    object: "list",
    data: result.embeddings.map((e, index) => ({
      object: "embedding",
      index,
      // The SDK's type says number[], but with base64 the wire carries a string, which the SDK decodes.
      embedding: (encodingFormat === "base64" ? toBase64Embedding(e) : e) as number[],
    })),
    model,
    usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
  };
}
