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
  const dimensions = b.dimensions ?? undefined;
  const inputs = toInputs(b.input);
  return { request: { model: b.model, inputs, ...(dimensions !== undefined ? { dimensions } : {}) }, encodingFormat: b.encoding_format ?? "float" };
}

/**
 * OpenAI's four input forms: a string, a list of strings, a list of token ids (one input), a list of such lists.
 * Token ids go to upstreams as sent; a local model refuses them (it embeds text).
 */
function toInputs(input: string | unknown[]): string[] | number[][] {
  if (typeof input === "string") {
    if (input === "") throw badRequest("input must not be an empty string", "input");
    return [input];
  }
  if (input.length === 0) throw badRequest("input must not be empty", "input");
  if (input.every((x) => typeof x === "number")) return [tokenIds(input, "input")];
  if (input.every((x) => Array.isArray(x))) return input.map((x, i) => tokenIds(x as unknown[], `input[${i}]`));
  return input.map((x, i) => {
    if (typeof x !== "string") throw badRequest("input must be a string, a list of strings, a list of token ids or a list of lists of token ids", `input[${i}]`);
    if (x === "") throw badRequest("input must not be an empty string", `input[${i}]`);
    return x;
  });
}

function tokenIds(list: unknown[], param: string): number[] {
  if (list.length === 0) throw badRequest("a list of token ids must not be empty", param);
  list.forEach((t, i) => {
    if (!Number.isInteger(t) || (t as number) < 0) throw badRequest("token ids are whole numbers from 0", `${param}[${i}]`);
  });
  return list as number[];
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
