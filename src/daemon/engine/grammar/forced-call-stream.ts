/**
 * Cuts the text of a forced tool call (`{"name":"<tool>","arguments":<arguments>}`, written by the grammar of
 * tool-call-grammar.ts, so the wrapper has no whitespace) into a start event and argument deltas as it streams.
 * Everything but the last character is passed on at once: the wrapper's closing `}` is always last. Pure.
 */

/** What the stream yields: the call's name once, then pieces of its arguments. */
export type ForcedCallPiece = { type: "start"; name: string } | { type: "arguments"; delta: string };

const PREFIX = /^\{"name":("(?:[^"\\]|\\.)*"),"arguments":/;

export class ForcedCallStream {
  #text = "";
  #argsStart = -1;
  #sent = 0;

  /** The whole text so far. */
  get text(): string {
    return this.#text;
  }

  /** Whether the name has been seen (a start was yielded). */
  get started(): boolean {
    return this.#argsStart >= 0;
  }

  /** Feeds generated text; returns the pieces it completes. */
  push(chunk: string): ForcedCallPiece[] {
    this.#text += chunk;
    const pieces: ForcedCallPiece[] = [];
    if (this.#argsStart < 0) {
      const m = PREFIX.exec(this.#text);
      if (!m) return pieces;
      this.#argsStart = m[0].length;
      this.#sent = this.#argsStart;
      pieces.push({ type: "start", name: JSON.parse(m[1]!) as string });
    }
    const upTo = this.#text.length - 1; // hold back one character: it may be the wrapper's `}`
    if (upTo > this.#sent) {
      pieces.push({ type: "arguments", delta: this.#text.slice(this.#sent, upTo) });
      this.#sent = upTo;
    }
    return pieces;
  }

  /**
   * For a call that ended early (token budget, abort): the argument text held back, unless it was the wrapper's `}`
   * (the call is complete; only the end of the turn was missing).
   */
  rest(): string {
    if (this.#argsStart < 0 || this.arguments() !== undefined) return "";
    const rest = this.#text.slice(this.#sent);
    this.#sent = this.#text.length;
    return rest;
  }

  /**
   * The arguments text when the call is complete, else undefined. Complete: the text ends with a `}` that follows a
   * whole JSON value (a `}` after a whole value cannot belong to it, so it is the wrapper's).
   */
  arguments(): string | undefined {
    if (this.#argsStart < 0 || !this.#text.endsWith("}")) return undefined;
    const args = this.#text.slice(this.#argsStart, -1);
    try {
      JSON.parse(args);
    } catch {
      return undefined;
    }
    return args;
  }
}
