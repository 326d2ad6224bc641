/**
 * The official SDK clients behind the core-model upstreams (`providers.ts`), one per distinct configuration: auth,
 * base URL, timeout and the SDKs' retries (408/409/429/5xx and connection errors, with backoff that honours
 * `retry-after`). The same-protocol pass-through (`forward-transport.ts`) sends the same headers to the same base
 * URLs with the same retry rules over node:http, without the SDKs' per-request cost.
 */
import type Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import type { Route } from "./route.js";
import { anthropicSdk, openAISdk } from "./upstream-sdks.js";

export interface UpstreamClientOptions {
  route: Route;
  apiKey: string | undefined;
  /** Base URL when the route has none (OPENAI_BASE_URL / ANTHROPIC_BASE_URL). */
  defaultBaseUrl: string | undefined;
  maxRetries: number;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Building a client per request cost a visible share of the TTFT mlxm adds (option parsing, header setup, a fresh
 * fetch wrapper); a key, base URL, timeout or retry change makes a new entry. Bounded, since keys read from the
 * environment at request time may rotate.
 */
const clients = new Map<string, Promise<OpenAI | Anthropic>>();
const MAX_CLIENTS = 64;

function shared<C extends OpenAI | Anthropic>(
  kind: "openai" | "anthropic",
  config: { apiKey: string | null; baseURL: string | undefined; timeout: number; maxRetries: number },
  create: () => Promise<C>,
): Promise<C> {
  const key = JSON.stringify([kind, config.baseURL ?? null, config.apiKey, config.timeout, config.maxRetries]);
  let client = clients.get(key);
  if (!client) {
    if (clients.size >= MAX_CLIENTS) clients.clear();
    clients.set(key, (client = create()));
  }
  return client as Promise<C>;
}

/** An mlxm daemon serves OpenAI's API under `/v1`; accept its root address too. */
export function openAIBaseUrl(options: UpstreamClientOptions): string | undefined {
  const base = options.route.baseUrl ?? options.defaultBaseUrl;
  if (!base || options.route.provider !== "mlxm") return base;
  return /\/v1\/?$/.test(base) ? base : `${base.replace(/\/+$/, "")}/v1`;
}

/** The client resolves once the SDK is imported (upstream-sdks.ts): at once after the first request. */
export function openAIClient(options: UpstreamClientOptions): Promise<OpenAI> {
  const config = {
    // OpenAI-compatible servers often need no key, but the SDK insists on one.
    apiKey: options.apiKey ?? "none",
    baseURL: openAIBaseUrl(options),
    timeout: options.route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRetries: options.maxRetries,
  };
  return shared("openai", config, async () => new (await openAISdk()).OpenAI(config));
}

export function anthropicClient(options: UpstreamClientOptions): Promise<Anthropic> {
  const config = {
    apiKey: options.apiKey ?? null,
    baseURL: options.route.baseUrl ?? options.defaultBaseUrl,
    timeout: options.route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRetries: options.maxRetries,
  };
  return shared("anthropic", config, async () => new (await anthropicSdk()).Anthropic(config));
}
