/**
 * Embeddings on a loaded model's embedding context: inputs are checked before the request queues, then each is
 * embedded in turn (stopping at cancellation) and L2-normalised.
 */
import { HttpError, badRequest } from "../errors.js";
import type { LoadedLlamaModel } from "./llama-model.js";

/** One vector per input (L2-normalised, as Ollama's /api/embed and OpenAI return them), and the tokens read. */
export async function runEmbedding(
  loaded: LoadedLlamaModel,
  inputs: readonly string[],
  signal: AbortSignal,
): Promise<{ embeddings: number[][]; inputTokens: number }> {
  checkEmbeddingInputs(inputs);
  const context = await loaded.embeddingContext();
  const embeddings: number[][] = [];
  let inputTokens = 0;
  for (const [i, input] of inputs.entries()) {
    if (signal.aborted) throw new HttpError("cancelled", "the embedding request was cancelled");
    const length = context.calculateInputLength(input);
    if (length >= loaded.contextSize) {
      throw badRequest(`input ${i} is ${length} tokens; the context holds ${loaded.contextSize} (MLXM_CONTEXT_SIZE)`, "input");
    }
    inputTokens += length;
    const { vector } = await context.getEmbeddingFor(input);
    embeddings.push(normalize(vector));
  }
  return { embeddings, inputTokens };
}

/** A 400 for inputs that are not a list of strings (checked before the request queues). */
export function checkEmbeddingInputs(inputs: unknown): asserts inputs is string[] {
  if (!Array.isArray(inputs) || inputs.some((i) => typeof i !== "string")) throw badRequest("input must be a string or a list of strings", "input");
}

function normalize(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm > 0 ? vector.map((v) => v / norm) : [...vector];
}
