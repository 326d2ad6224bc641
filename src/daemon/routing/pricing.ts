/**
 * What a request cost, from Pydantic's maintained price table (`@pydantic/genai-prices`), never hand-typed prices.
 * Local models (and other mlxm daemons, which run local models) cost 0; an OpenAI-compatible server is priced when its
 * base URL is a provider the table knows (Groq, OpenRouter, …), else the cost is unknown (null).
 */
import { calcPrice } from "@pydantic/genai-prices";
import type { Provider } from "../../protocol/routes.js";

export interface PricedUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens?: number;
  /** Input tokens written to the provider's prompt cache (part of inputTokens; billed above plain input). */
  cacheCreationInputTokens?: number;
}

/** USD for one request, or null when the model's price is not known. */
export function costOf(provider: Provider | "local", model: string, usage: PricedUsage, baseUrl?: string | null): number | null {
  if (provider === "local" || provider === "mlxm") return 0;
  const priced = {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    // genai-prices takes the whole prompt as input_tokens and prices the cache reads and writes within it apart.
    ...(usage.cachedInputTokens ? { cache_read_tokens: Math.min(usage.cachedInputTokens, usage.inputTokens) } : {}),
    ...(usage.cacheCreationInputTokens ? { cache_write_tokens: Math.min(usage.cacheCreationInputTokens, usage.inputTokens) } : {}),
  };
  const options =
    provider === "openai-compatible" ? (baseUrl ? { providerApiUrl: baseUrl } : undefined) : { providerId: provider };
  if (!options) return null;
  const key = `${provider}\n${baseUrl ?? ""}\n${model}`;
  if (unpriced.has(key)) return null;
  let price: number | null;
  try {
    price = calcPrice(priced, model, options)?.total_price ?? null;
  } catch {
    // An unknown provider URL throws in some versions; that is "price unknown", not a failed request.
    price = null;
  }
  if (price === null && unpriced.size < MAX_UNPRICED) unpriced.add(key);
  return price;
}

/**
 * Names the table has no price for (a self-hosted server, a local fine-tune): looking one up scans every provider's
 * URL pattern with a fresh RegExp, a visible share of a routed request's CPU, and the answer cannot change while the
 * daemon runs (the table ships with it). Bounded, since names come from requests.
 */
const unpriced = new Set<string>();
const MAX_UNPRICED = 1024;
