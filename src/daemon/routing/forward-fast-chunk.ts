/**
 * The string-level fast path of the OpenAI relay. Once the first output went by, a typical streamed chunk carries
 * nothing the daemon reads (no usage, no error, no finish reason): all it may need is `model` renamed. Parsing and
 * re-serialising each one cost about half the daemon's CPU per chunk, so such chunks are recognised and rewritten as
 * text instead. The check is exact, never a guess:
 * - the chunk starts with the very top-level members (up to and including `model`) of a chunk parsed before, so the
 *   `model` renamed is the top-level one (the head is re-serialised from the parsed object and compared as text);
 * - the rest contains no `"usage"` or `"error"` and every `"finish_reason"` is `null`. Inside a JSON string a quote
 *   is escaped, so a key can't hide in text; text that merely looks like one only sends the chunk the slow way.
 * Anything else (another serialiser's spacing, a changing `created`) takes the slow path, which stays correct.
 */

export class FastChunkPath {
  /** The upstream's head (`{"id":…,"model":"up"`) and the caller's version of it; both undefined until learned. */
  #head: string | undefined;
  #clientHead: string | undefined;

  constructor(private readonly clientModel: string) {}

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
    if (data.includes('"usage"', from) || data.includes('"error"', from) || data.includes('"model"', from) || !finishReasonsNull(data, from)) return undefined;
    return head === this.#clientHead ? data : this.#clientHead + data.slice(head.length);
  }
}

const FINISH = '"finish_reason":';

/** Every `"finish_reason":` after `from` is followed by `null` (the compact form OpenAI and vLLM send). */
function finishReasonsNull(data: string, from: number): boolean {
  for (let i = data.indexOf('"finish_reason"', from); i !== -1; i = data.indexOf('"finish_reason"', i + FINISH.length)) {
    if (!data.startsWith(FINISH, i) || !data.startsWith("null", i + FINISH.length)) return false;
  }
  return true;
}
