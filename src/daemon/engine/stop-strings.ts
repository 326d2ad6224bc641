/**
 * A request's stop strings, matched on the generated text by mlxm rather than by node-llama-cpp. Its custom stop
 * triggers hold back text that could be the start of a stop string, and when the token budget runs out first,
 * node-llama-cpp 3.21.1 returns without releasing it: `stop: ["\n\nUser:"]` silently ate a reply's final "\n".
 * Here held text is given back whenever the generation ends some other way ({@link StopStrings.flush}).
 *
 * Each stop string runs as a Knuth-Morris-Pratt automaton fed only the new text, so a token costs the length of its
 * text whatever the stop strings' lengths (a caller may send long ones). The generation ends at the first stop string
 * completed; the text before it is the answer.
 */
import type { ChatEvent } from "../core/chat.js";

export class StopStrings {
  readonly #stops: readonly { text: string; fallback: Int32Array }[];
  /** Per stop string: how many of its leading characters the text pushed so far ends with. */
  readonly #states: Int32Array;
  /** Pushed, not yet given out: it may be the start of a stop string. */
  #held = "";
  #matched: string | undefined;

  constructor(stops: readonly string[]) {
    this.#stops = stops.filter((s) => s !== "").map((text) => ({ text, fallback: fallbackTable(text) }));
    this.#states = new Int32Array(this.#stops.length);
  }

  /** The stop string that ended the text, once one has. */
  get matched(): string | undefined {
    return this.#matched;
  }

  /** The part of `text` (with what was held before it) that is certainly answer; "" once a stop string matched. */
  push(text: string): string {
    if (this.#matched !== undefined) return "";
    if (this.#stops.length === 0) return text;
    const start = this.#held.length;
    this.#held += text;
    let longest = 0;
    let first: { stop: string; end: number } | undefined;
    for (let s = 0; s < this.#stops.length; s++) {
      const { text: stop, fallback } = this.#stops[s]!;
      let state = this.#states[s]!;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        while (state > 0 && stop.charCodeAt(state) !== c) state = fallback[state - 1]!;
        if (stop.charCodeAt(state) === c) state++;
        if (state === stop.length) {
          const end = start + i + 1;
          // The first to complete; of two completing together, the longer (it started earlier).
          if (!first || end < first.end || (end === first.end && stop.length > first.stop.length)) first = { stop, end };
          break;
        }
      }
      this.#states[s] = state;
      if (state > longest) longest = state;
    }
    if (first) return this.#stop(first.stop, first.end);
    const out = this.#held.slice(0, this.#held.length - longest);
    this.#held = this.#held.slice(this.#held.length - longest);
    return out;
  }

  /** What is still held back, for a generation that ended without a stop string (token budget, end of turn). */
  flush(): string {
    const held = this.#matched === undefined ? this.#held : "";
    this.#held = "";
    return held;
  }

  /** Ends the text at `stop`, which ends at `end` of the held text: what precedes it is the last of the answer. */
  #stop(stop: string, end: number): string {
    this.#matched = stop;
    const out = this.#held.slice(0, end - stop.length);
    this.#held = "";
    return out;
  }
}

/** KMP: for each prefix length n of `text`, the longest proper prefix of text[0..n) that is also its suffix. */
function fallbackTable(text: string): Int32Array {
  const table = new Int32Array(text.length);
  let k = 0;
  for (let i = 1; i < text.length; i++) {
    while (k > 0 && text.charCodeAt(i) !== text.charCodeAt(k)) k = table[k - 1]!;
    if (text.charCodeAt(i) === text.charCodeAt(k)) k++;
    table[i] = k;
  }
  return table;
}

/**
 * The answer's text through the request's stop strings: what is certainly answer goes out, a possible start of a stop
 * string waits, and a completed one ends the generation through `signal` (node-llama-cpp notices after its next
 * token) and is reported as `matched`. `text` is everything given out, for the schema check.
 */
export class AnswerText {
  readonly #stops: StopStrings;
  readonly #ended = new AbortController();
  /** The request's signal, or a stop string matched. */
  readonly signal: AbortSignal;
  text = "";

  constructor(stop: readonly string[] | undefined, requestSignal: AbortSignal) {
    this.#stops = new StopStrings(stop ?? []);
    this.signal = stop?.length ? AbortSignal.any([requestSignal, this.#ended.signal]) : requestSignal;
  }

  get matched(): string | undefined {
    return this.#stops.matched;
  }

  push(text: string): string {
    const out = this.#stops.push(text);
    this.text += out;
    if (this.#stops.matched !== undefined) this.#ended.abort();
    return out;
  }

  /**
   * Once the generation returned: a matched stop string's stop reason, or node-llama-cpp's own (the token budget, the
   * end of the turn), in which case what was held back as a possible stop string is the answer's end and goes out.
   */
  finish(stopReason: string, emit: (event: ChatEvent) => void): string {
    if (this.matched !== undefined) return "customStopTrigger";
    const rest = this.#stops.flush();
    this.text += rest;
    if (rest) emit({ type: "text", text: rest });
    return stopReason;
  }
}
