/**
 * The string-level fast path of the OpenAI relay. Once the first output went by, a typical streamed chunk carries
 * nothing the daemon reads (no usage, no error, no finish reason): all it may need is `model` renamed. Parsing and
 * re-serialising each one cost about half the daemon's CPU per chunk, so such chunks are recognised and rewritten as
 * text instead. The check is exact, never a guess:
 * - the chunk starts with the very top-level members (up to and including `model`) of a chunk parsed before, so the
 *   `model` renamed is the top-level one (the head is re-serialised from the parsed object and compared as text);
 * - the rest contains no `"error"` and every `"finish_reason"` and `"usage"` is `null` (OpenAI sends `"usage":null`
 *   in every chunk once usage is asked for, which the daemon always does). Inside a JSON string a quote is escaped,
 *   so a key can't hide in text; text that merely looks like one only sends the chunk the slow way;
 * - a `"usage":null` the caller did not ask for is cut out only where a scan shows it is a top-level member.
 * Anything else (another serialiser's spacing, a changing `created`) takes the slow path, which stays correct.
 */

export class FastChunkPath {
  /** The upstream's head (`{"id":…,"model":"up"`) and the caller's version of it; both undefined until learned. */
  #head: string | undefined;
  #clientHead: string | undefined;

  constructor(
    private readonly clientModel: string,
    /** Remove the top-level `"usage":null` (the caller did not ask for usage; the daemon did). */
    private readonly stripUsage: boolean,
  ) {}

  get learned(): boolean {
    return this.#head !== undefined;
  }

  /** Learn the head from a chunk that was parsed; only scalar members may precede `model`. */
  learn(data: string, chunk: Record<string, unknown>): void {
    if (typeof chunk.model !== "string") return;
    const head: Record<string, unknown> = {};
    for (const key in chunk) {
      const value = chunk[key];
      if (value !== null && typeof value === "object") return;
      head[key] = value;
      if (key === "model") break;
    }
    const text = JSON.stringify(head).slice(0, -1);
    if (!data.startsWith(text)) return;
    this.#head = text;
    this.#clientHead = JSON.stringify({ ...head, model: this.clientModel }).slice(0, -1);
  }

  /** The chunk as the caller gets it, or undefined when it must be parsed. */
  rewrite(data: string): string | undefined {
    const head = this.#head;
    if (head === undefined || !data.startsWith(head)) return undefined;
    const from = head.length;
    // A second top-level `model` would win in the caller's parser: rare enough to leave to the slow path.
    if (data.includes('"error"', from) || data.includes('"model"', from) || !allNull(data, FINISH, from)) return undefined;
    let rest = data.slice(from);
    const usage = rest.indexOf('"usage"');
    if (usage !== -1) {
      if (!allNull(rest, USAGE, usage)) return undefined;
      if (this.stripUsage) {
        // Exactly one, a top-level member (`,"usage":null` at depth 1 of the object): else parse.
        if (rest.indexOf(USAGE, usage + 1) !== -1 || rest[usage - 1] !== "," || !topLevel(rest, usage)) return undefined;
        rest = rest.slice(0, usage - 1) + rest.slice(usage + USAGE.length + 4);
      }
    }
    return (head === this.#clientHead ? head : this.#clientHead) + rest;
  }
}

const FINISH = '"finish_reason":';
const USAGE = '"usage":';

/** Every `key` (`"name":`) from `from` on is followed by `null` (the compact form OpenAI and vLLM send). */
function allNull(data: string, key: string, from: number): boolean {
  const name = key.slice(0, -1);
  for (let i = data.indexOf(name, from); i !== -1; i = data.indexOf(name, i + key.length)) {
    if (!data.startsWith(key, i) || !data.startsWith("null", i + key.length)) return false;
  }
  return true;
}

/** Whether `at` in `rest` (the chunk after its head, which ends outside any string at depth 1) is at depth 1. */
function topLevel(rest: string, at: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < at; i++) {
    const c = rest.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) depth++;
    else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return depth === 0 && !inString;
}
