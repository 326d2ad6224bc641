/**
 * Embeddings on a loaded model's embedding context: inputs are checked before the request queues, then each is
 * embedded in turn (stopping at cancellation) and L2-normalised.
 */
import type { Token } from "node-llama-cpp";
import { HttpError, UnsupportedInputError, badRequest, contextLengthExceeded } from "../errors.js";
import type { LoadedLlamaModel } from "./llama-model.js";

/** One vector per input (L2-normalised, as Ollama's /api/embed and OpenAI return them), and the tokens read. */
export async function runEmbedding(
  loaded: LoadedLlamaModel,
  inputs: readonly string[],
  signal: AbortSignal,
  truncate = false,
): Promise<{ embeddings: number[][]; inputTokens: number }> {
  checkEmbeddingInputs(inputs);
  const context = await loaded.embeddingContext();
  const embeddings: number[][] = [];
  let inputTokens = 0;
  for (const [i, input] of inputs.entries()) {
    if (signal.aborted) throw new HttpError("cancelled", "the embedding request was cancelled");
    let text: string | Token[] = input;
    let length = context.calculateInputLength(input);
    if (length >= loaded.contextSize) {
      if (!truncate) throw contextLengthExceeded(`input ${i} is ${length} tokens; the context holds ${loaded.contextSize} (MLXM_CONTEXT_SIZE)`, "input");
      // Keep the start, leaving room for the tokens node-llama-cpp adds around an input (BOS, EOS).
      const tokens = loaded.model.tokenize(input, false);
      const added = length - tokens.length;
      text = tokens.slice(0, loaded.contextSize - 1 - added);
      length = context.calculateInputLength(text);
    }
    inputTokens += length;
    const { vector } = await context.getEmbeddingFor(text);
    embeddings.push(normalize(vector));
  }
  return { embeddings, inputTokens };
}

/** A 400 for inputs that are not a list of strings (checked before the request queues). */
export function checkEmbeddingInputs(inputs: unknown): asserts inputs is string[] {
  if (!Array.isArray(inputs)) throw badRequest("input must be a string or a list of strings", "input");
  const tokens = inputs.findIndex((i) => Array.isArray(i));
  // An upstream of the name may take them (the router tries it first).
  if (tokens >= 0) throw new UnsupportedInputError("local models embed text: token ids are not supported", inputs.length === 1 ? "input" : `input[${tokens}]`);
  if (inputs.some((i) => typeof i !== "string")) throw badRequest("input must be a string or a list of strings", "input");
  // An empty text has no tokens to embed: llama.cpp would give a vector of no dimensions, which breaks vector stores.
  if (inputs.includes("")) throw badRequest("input must not contain an empty string", "input");
}

function normalize(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm > 0 ? vector.map((v) => v / norm) : [...vector];
}
