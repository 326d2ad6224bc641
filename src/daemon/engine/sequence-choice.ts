/**
 * Which free context sequence a new prompt should run on, so that a conversation's next turn lands where its
 * history is already evaluated (llama-server's slot selection by prompt similarity, Ollama's per-runner cache).
 * Pure: the model passes what each sequence holds.
 *
 * A sequence is chosen for its cache when the prompt shares a prefix with what it holds and that prefix is at least
 * half of it: the longest such prefix wins. Reusing a sequence erases what it holds beyond the shared prefix, so a
 * sequence that would lose most of its tokens (another conversation that only shares the chat template's first
 * tokens or a system prompt) is left for its own conversation. Otherwise the prompt takes the least recently used
 * sequence, empty ones (never used, cleared) before any that hold something, so caches live as long as possible.
 */
import type { Token } from "node-llama-cpp";

/** One free sequence as the chooser sees it. */
export interface SequenceCandidate {
  /** The tokens its KV cache holds, in order (empty for a new or cleared sequence). */
  readonly tokens: readonly Token[];
  /** When it was last handed out: a counter, larger is more recent. */
  readonly lastUse: number;
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
  let best: SequenceChoice | undefined;
  for (const [index, candidate] of candidates.entries()) {
    const prefix = commonPrefixLength(candidate.tokens, prompt);
    if (prefix === 0 || prefix < candidate.tokens.length * MIN_KEPT_SHARE) continue;
    if (!best || prefix > best.prefix) best = { index, prefix };
  }
  if (best) return best;
  let lru = 0;
  for (let i = 1; i < candidates.length; i++) {
    if (olderThan(candidates[i]!, candidates[lru]!)) lru = i;
  }
  return { index: lru, prefix: commonPrefixLength(candidates[lru]!.tokens, prompt) };
}

/** How many leading tokens `a` and `b` share. */
export function commonPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Empty before holding, then least recently used. Among empty ones the earlier candidate (lower sequence id) stays:
 * llama.cpp batches runs of consecutive sequence ids together (see DecodePacer).
 */
function olderThan(a: SequenceCandidate, b: SequenceCandidate): boolean {
  const aEmpty = a.tokens.length === 0;
  const bEmpty = b.tokens.length === 0;
  if (aEmpty !== bEmpty) return aEmpty;
  return !aEmpty && a.lastUse < b.lastUse;
}
