/**
 * Fill-in-the-middle prompts, laid out as llama.cpp's llama-server lays out `/infill` (`format_infill`) and as
 * Ollama's code-model templates do: FIM_PRE prefix FIM_SUF suffix FIM_MID (PSM order), the middle marker last so
 * the model writes the gap next. Generation then runs as a raw completion and ends at the vocabulary's
 * end-of-generation tokens, which llama.cpp extends with `<|fim_pad|>`, `<|fim_rep|>` and `<|fim_sep|>` for this.
 *
 * Unlike llama-server, no repository header (`<|fim_rep|>myproject` `<|fim_sep|>filename`) goes first: there is no
 * project or file to name, and Ollama sends none either.
 */
import type { LlamaModel, Token } from "node-llama-cpp";

/** The vocabulary's three infill markers (GGUF `tokenizer.ggml.fim_{pre,suf,mid}_token_id`, or found by their text). */
export interface InfillMarkers {
  prefix: Token;
  suffix: Token;
  middle: Token;
}

/**
 * The model's infill markers, or undefined when it lacks any of the three (a chat or base model: it was never
 * trained to fill a gap). node-llama-cpp would fall back to suffix-first order without a middle marker; llama-server
 * refuses such a model, and so does mlxm.
 */
export function infillMarkers(model: LlamaModel): InfillMarkers | undefined {
  const { prefix, suffix, middle } = model.tokens.infill;
  return prefix !== null && suffix !== null && middle !== null ? { prefix, suffix, middle } : undefined;
}

/**
 * The prompt tokens for filling the gap between `prefix` and `suffix`, without the BOS the caller adds where the
 * model wants one (llama-server puts it before FIM_PRE). The markers are the vocabulary's special tokens; the two
 * texts are tokenized with special-token parsing off, as llama-server does, so code that merely contains
 * `<|fim_suffix|>` stays text. Undefined when the model has no infill markers.
 */
export function infillPrompt(model: LlamaModel, prefix: string, suffix: string): Token[] | undefined {
  const markers = infillMarkers(model);
  if (!markers) return undefined;
  return [markers.prefix, ...model.tokenize(prefix, false), markers.suffix, ...model.tokenize(suffix, false), markers.middle];
}
