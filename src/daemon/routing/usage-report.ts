/**
 * Where a routed or local generation's usage ends up, written the same way by the translated (core) path and the
 * pass-through: the request record (the `requests` row) and the GenAI span, with cost from the price table.
 */
import { GenAI, type Span } from "../../observability/spans.js";
import type { PricedUsage } from "./pricing.js";
import type { RequestRecord } from "./request-record.js";

/** `remote`: an upstream served it (a local generation updates the metrics itself, generation-telemetry.ts). */
export function reportUsage(record: RequestRecord | undefined, span: Span | undefined, usage: PricedUsage, cost: number | null, finishReasons: string[], remote = true): void {
  if (record) {
    if (remote) record.onRemoteUsage?.(usage);
    record.inputTokens = usage.inputTokens;
    record.outputTokens = usage.outputTokens;
    record.cachedTokens = usage.cachedInputTokens ?? 0;
    if (usage.cacheCreationInputTokens !== undefined) record.cacheCreationTokens = usage.cacheCreationInputTokens;
    record.costUsd = cost;
  }
  span?.setAttributes({
    [GenAI.USAGE_INPUT_TOKENS]: usage.inputTokens,
    [GenAI.USAGE_OUTPUT_TOKENS]: usage.outputTokens,
    ...(finishReasons.length ? { [GenAI.RESPONSE_FINISH_REASONS]: finishReasons } : {}),
    ...(usage.cachedInputTokens ? { [GenAI.USAGE_CACHE_READ_INPUT_TOKENS]: usage.cachedInputTokens } : {}),
    ...(usage.cacheCreationInputTokens ? { [GenAI.USAGE_CACHE_CREATION_INPUT_TOKENS]: usage.cacheCreationInputTokens } : {}),
    // Logfire reads a span's cost (USD) from `operation.cost`.
    ...(cost !== null ? { "operation.cost": cost } : {}),
  });
}
