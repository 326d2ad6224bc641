/**
 * What a forwarded call reports while its response passes through: time to first output, usage, finish reasons and
 * the model that answered. At the end it writes them where the core path writes them: the request record (the
 * `requests` row) and the GenAI span, with cost from the price table as `operation.cost`.
 */
import { GenAI, recordError, type Span } from "../../observability/spans.js";
import { costOf } from "./pricing.js";
import type { RequestRecord } from "./request-record.js";
import type { Route } from "./route.js";

export interface UsageSink {
  /** The first output (text, tool call, …) went by. */
  output(): void;
  /** Totals so far; later calls replace earlier ones. `input` is the whole prompt, cached tokens included. */
  usage(input: number | undefined, output: number | undefined, cached?: number): void;
  finishReason(reason: string): void;
  responseModel(model: string): void;
  /** An in-band error the upstream sent (already scrubbed of the key). */
  failed(message: string): void;
}

export class ForwardMeter implements UsageSink {
  #input = 0;
  #output = 0;
  #cached = 0;
  #ttft: number | undefined;
  #error: string | undefined;
  #ended = false;
  readonly #finish: string[] = [];

  constructor(
    private readonly span: Span,
    private readonly record: RequestRecord | undefined,
    private readonly pricing: { provider: Route["provider"]; model: string; baseUrl: string | null },
    private readonly started: number,
  ) {}

  output(): void {
    if (this.#ttft !== undefined) return;
    this.#ttft = Math.round((performance.now() - this.started) * 10) / 10;
    if (this.record) this.record.ttftMs = this.#ttft;
    this.span.setAttribute(GenAI.TIME_TO_FIRST_TOKEN_MS, this.#ttft);
  }

  usage(input: number | undefined, output: number | undefined, cached?: number): void {
    if (input !== undefined) this.#input = input;
    if (output !== undefined) this.#output = output;
    if (cached !== undefined) this.#cached = cached;
  }

  finishReason(reason: string): void {
    this.#finish.push(reason);
  }

  responseModel(model: string): void {
    this.span.setAttribute(GenAI.RESPONSE_MODEL, model);
  }

  failed(message: string): void {
    this.#error ??= message;
  }

  /** Write usage and cost to the record and the span, note a failure, end the span. Once. */
  end(err?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    // A response with no streamed output (non-streamed, or tools only at the end) still has a first token time.
    this.output();
    const usage = { inputTokens: this.#input, outputTokens: this.#output, cachedInputTokens: this.#cached };
    const cost = costOf(this.pricing.provider, this.pricing.model, usage, this.pricing.baseUrl);
    const error = err !== undefined ? (err instanceof Error ? err.message : String(err)) : this.#error;
    if (this.record) {
      this.record.inputTokens = usage.inputTokens;
      this.record.outputTokens = usage.outputTokens;
      this.record.cachedTokens = usage.cachedInputTokens;
      this.record.costUsd = cost;
      if (error !== undefined) this.record.error = error;
    }
    this.span.setAttributes({
      [GenAI.USAGE_INPUT_TOKENS]: usage.inputTokens,
      [GenAI.USAGE_OUTPUT_TOKENS]: usage.outputTokens,
      ...(this.#finish.length ? { [GenAI.RESPONSE_FINISH_REASONS]: this.#finish } : {}),
      ...(usage.cachedInputTokens ? { [GenAI.USAGE_CACHE_READ_INPUT_TOKENS]: usage.cachedInputTokens } : {}),
      // Logfire reads a span's cost (USD) from `operation.cost`.
      ...(cost !== null ? { "operation.cost": cost } : {}),
    });
    if (err !== undefined) recordError(this.span, err);
    else if (this.#error !== undefined) recordError(this.span, new Error(this.#error));
    this.span.end();
  }
}
