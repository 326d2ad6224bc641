/**
 * Where a routed or local generation's usage ends up, written the same way by the translated (core) path and the
 * pass-through: the request record (the `requests` row) and the GenAI span, with cost from the price table.
 */
import { GenAI, type Span } from "../../observability/spans.js";
import type { PricedUsage } from "./pricing.js";
import type { RequestRecord } from "./request-record.js";

/**
 * Usage as far as the backend reported it: a count it never sent (an OpenAI stream its caller left before the last
 * chunk) is undefined, and stays unknown on the row (null) and absent from the span rather than 0.
 */
export type ReportedUsage = Partial<Pick<PricedUsage, "inputTokens" | "outputTokens">> & Omit<PricedUsage, "inputTokens" | "outputTokens">;

/** `remote`: an upstream served it (a local generation updates the metrics itself, generation-telemetry.ts). */
export function reportUsage(record: RequestRecord | undefined, span: Span | undefined, usage: ReportedUsage, cost: number | null, finishReasons: string[], remote = true): void {
  const { inputTokens, outputTokens } = usage;
  // Cache counts are part of the input count: known only with it.
  const cached = inputTokens === undefined ? undefined : (usage.cachedInputTokens ?? 0);
  const cacheCreated = inputTokens === undefined ? undefined : usage.cacheCreationInputTokens;
  if (record) {
    if (remote) record.onRemoteUsage?.({ inputTokens, outputTokens, cachedInputTokens: cached });
    record.inputTokens = inputTokens;
    record.outputTokens = outputTokens;
    record.cachedTokens = cached;
    if (cacheCreated !== undefined) record.cacheCreationTokens = cacheCreated;
    record.costUsd = cost;
  }
  span?.setAttributes({
    ...(inputTokens !== undefined ? { [GenAI.USAGE_INPUT_TOKENS]: inputTokens } : {}),
    ...(outputTokens !== undefined ? { [GenAI.USAGE_OUTPUT_TOKENS]: outputTokens } : {}),
    ...(finishReasons.length ? { [GenAI.RESPONSE_FINISH_REASONS]: finishReasons } : {}),
    ...(cached ? { [GenAI.USAGE_CACHE_READ_INPUT_TOKENS]: cached } : {}),
    ...(cacheCreated ? { [GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS]: cacheCreated } : {}),
    // Logfire reads a span's cost (USD) from `operation.cost`.
    ...(cost !== null ? { "operation.cost": cost } : {}),
  });
}
