/**
 * What a forwarded call reports while its response passes through: time to first output, usage, finish reasons and
 * the model that answered. At the end it writes them where the core path writes them: the request record (the
 * `requests` row) and the GenAI span, with cost from the price table as `operation.cost`.
 */
import { GenAI, recordError, type Span } from "../../observability/spans.js";
import { costOf, type PricedUsage } from "./pricing.js";
import { holdRecord, type RequestRecord } from "./request-record.js";
import type { Route } from "./route.js";
import { reportUsage } from "./usage-report.js";

export interface UsageSink {
  /** The first output (text, tool call, …) went by. */
  output(): void;
  /**
   * Totals so far; later calls replace earlier ones. `input` is the whole prompt, cache reads (`cached`) and writes
   * (`cacheCreated`) included.
   */
  usage(input: number | undefined, output: number | undefined, cached?: number, cacheCreated?: number): void;
  finishReason(reason: string): void;
  responseModel(model: string): void;
  /** An in-band error the upstream sent (already scrubbed of the key). */
  failed(message: string): void;
}

export class ForwardMeter implements UsageSink {
  /** Undefined until the upstream says: OpenAI reports a stream's usage only in its last chunk. */
  #input: number | undefined;
  #output: number | undefined;
  #cached: number | undefined;
  #cacheCreated: number | undefined;
  #ttft: number | undefined;
  #error: string | undefined;
  #ended = false;
  #responseModel: string | undefined;
  readonly #finish: string[] = [];
  /** The request's row waits for `end()`: a stream the client left is ended (and counted) after the response closed. */
  readonly #unhold: () => void;

  constructor(
    private readonly span: Span,
    private readonly record: RequestRecord | undefined,
    private readonly pricing: { provider: Route["provider"]; model: string; baseUrl: string | null },
    private readonly started: number,
  ) {
    this.#unhold = holdRecord(record);
  }

  output(): void {
    if (this.#ttft !== undefined) return;
    this.#ttft = Math.round((performance.now() - this.started) * 10) / 10;
    if (this.record) this.record.ttftMs = this.#ttft;
    this.span.setAttribute(GenAI.TIME_TO_FIRST_TOKEN_MS, this.#ttft);
  }

  usage(input: number | undefined, output: number | undefined, cached?: number, cacheCreated?: number): void {
    if (input !== undefined) this.#input = input;
    if (output !== undefined) this.#output = output;
    if (cached !== undefined) this.#cached = cached;
    if (cacheCreated !== undefined) this.#cacheCreated = cacheCreated;
  }

  finishReason(reason: string): void {
    this.#finish.push(reason);
  }

  responseModel(model: string): void {
    // Every chunk names the model: one attribute write per change, not per chunk.
    if (model === this.#responseModel) return;
    this.#responseModel = model;
    this.span.setAttribute(GenAI.RESPONSE_MODEL, model);
  }

  failed(message: string): void {
    this.#error ??= message;
  }

  /** Write usage and cost to the record and the span, note a failure, end the span. Once. */
  end(err?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    // A response with no streamed output (non-streamed, or tools only at the end) still has a first token time; a
    // failure has none (a 503's row would otherwise show its time to fail as a TTFT).
    if (err === undefined) this.output();
    const reported = this.#input !== undefined || this.#output !== undefined;
    const priced: PricedUsage = { inputTokens: this.#input ?? 0, outputTokens: this.#output ?? 0, cachedInputTokens: this.#cached ?? 0 };
    if (this.#cacheCreated !== undefined) priced.cacheCreationInputTokens = this.#cacheCreated;
    const cost = reported ? costOf(this.pricing.provider, this.pricing.model, priced, this.pricing.baseUrl) : null;
    const error = err !== undefined ? (err instanceof Error ? err.message : String(err)) : this.#error;
    if (this.record && error !== undefined) this.record.error = error;
    reportUsage(this.record, this.span, { ...priced, inputTokens: this.#input, outputTokens: this.#output }, cost, this.#finish);
    if (err !== undefined) recordError(this.span, err);
    else if (this.#error !== undefined) recordError(this.span, new Error(this.#error));
    this.span.end();
    this.#unhold();
  }
}
