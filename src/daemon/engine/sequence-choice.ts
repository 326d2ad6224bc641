/**
 * Which free context sequence a new prompt should run on, so that a conversation's next turn lands where its
 * history is already evaluated (llama-server's slot selection by prompt similarity, Ollama's per-runner cache).
 * Pure: the model passes what each sequence holds.
 *
 * In order:
 * 1. A sequence whose whole content is a prefix of the prompt (a conversation's next turn): the longest prefix wins.
 *    The reply generated at the end of that content need not match: the next prompt holds the reply as re-rendered
 *    and re-tokenized text, which may tokenize differently from what was generated, so the content counts as a
 *    prefix when the prompt it was given is one (`promptLength`); what differs after it is erased.
 * 2. Else an empty sequence (never used, cleared, or not created yet), the earliest: a new conversation starts there
 *    instead of cutting into another one's cache. Without this, two conversations behind the same system prompt take
 *    each other's sequence by the half rule below, each erasing the other's turns, and keep evicting each other.
 * 3. Else the sequence sharing the longest prefix with the prompt, if that prefix is at least half of what it holds
 *    (the rest is erased): an edited or regenerated turn of a conversation whose sequence is the only match.
 * 4. Else the least recently used sequence, so caches live as long as possible.
 */
import type { Token } from "node-llama-cpp";

/** One free sequence as the chooser sees it. */
export interface SequenceCandidate {
  /** The tokens its KV cache holds, in order (empty for a new or cleared sequence). */
  readonly tokens: readonly Token[];
  /** When it was last handed out: a counter, larger is more recent. */
  readonly lastUse: number;
  /** How many of `tokens` are the last prompt it was given (the rest was generated); absent: all of them. */
  readonly promptLength?: number;
}

/** The choice: an index into the candidates, and how many prompt tokens it already holds. */
export interface SequenceChoice {
  index: number;
  prefix: number;
}

/**
 * Share of what a sequence holds that must match the prompt for the sequence to be chosen for its cache (the
 * rest is erased). llama-server's default `--slot-prompt-similarity` is the same 0.5.
 */
export const MIN_KEPT_SHARE = 0.5;

/** Picks a sequence for `prompt` among `candidates` (at least one); see the module comment. */
export function chooseSequence(candidates: readonly SequenceCandidate[], prompt: readonly Token[]): SequenceChoice {
  if (candidates.length === 0) throw new RangeError("no candidate sequence");
  const prefixes = candidates.map((candidate) => commonPrefixLength(candidate.tokens, prompt));

  let best: SequenceChoice | undefined;
  for (const [index, candidate] of candidates.entries()) {
    const prefix = prefixes[index]!;
    const own = Math.min(candidate.tokens.length, candidate.promptLength ?? candidate.tokens.length);
    if (prefix > 0 && prefix >= own && (!best || prefix > best.prefix)) best = { index, prefix };
  }
  if (best) return best;

  const empty = candidates.findIndex((candidate) => candidate.tokens.length === 0);
  if (empty >= 0) return { index: empty, prefix: 0 };

  for (const [index, candidate] of candidates.entries()) {
    const prefix = prefixes[index]!;
    if (prefix === 0 || prefix < candidate.tokens.length * MIN_KEPT_SHARE) continue;
    if (!best || prefix > best.prefix) best = { index, prefix };
  }
  if (best) return best;

  let lru = 0;
  for (let i = 1; i < candidates.length; i++) {
    if (candidates[i]!.lastUse < candidates[lru]!.lastUse) lru = i;
  }
  return { index: lru, prefix: prefixes[lru]! };
}

/**
 * Prompt tokens a sequence must gain from another's cache before that cache is copied to it (a state file written
 * and read back: ~20 ms for 1,565 tokens of a 58M model, against 1.8 s to evaluate them on one CPU thread).
 */
export const MIN_COPY_GAIN = 128;

/**
 * The sequence whose cache is worth copying into the one chosen for `prompt`, which already holds `held` of its
 * tokens: the longest common prefix, if it adds at least {@link MIN_COPY_GAIN} tokens and is at least half of what
 * that sequence holds (the whole state is copied, the rest erased). For a new conversation behind the system prompt
 * of another: the chooser gives it an empty sequence, so as not to cut into the other's turns, and the copy gives it
 * the system prompt's evaluation.
 */
export function chooseDonor(candidates: readonly Pick<SequenceCandidate, "tokens">[], prompt: readonly Token[], held: number): SequenceChoice | undefined {
  let best: SequenceChoice | undefined;
  for (const [index, candidate] of candidates.entries()) {
    const prefix = reusablePrefix(candidate.tokens, prompt);
    if (prefix - held < MIN_COPY_GAIN || prefix < candidate.tokens.length * MIN_KEPT_SHARE) continue;
    if (!best || prefix > best.prefix) best = { index, prefix };
  }
  return best;
}

/**
 * How many of `prompt`'s leading tokens a sequence holding `tokens` spares its evaluation: the common prefix, at most
 * all but the prompt's last token (one token is always decoded, for the logits of the first generated one).
 */
export function reusablePrefix(tokens: readonly Token[], prompt: readonly Token[]): number {
  return Math.min(commonPrefixLength(tokens, prompt), Math.max(prompt.length - 1, 0));
}

/** How many leading tokens `a` and `b` share. */
export function commonPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
