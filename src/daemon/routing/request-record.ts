/**
 * The facts about one API request that only the model service learns (which backend served it, its usage, TTFT,
 * cost), carried in the request's async context so the `ModelService` contract stays protocol-free: the HTTP layer
 * opens a record per request, the router fills it in, and the HTTP layer writes it as a `requests` row when the
 * response ends.
 *
 * The context is OpenTelemetry's (a value in the active Context), not an AsyncLocalStorage of its own: in Node 20 every
 * AsyncLocalStorage copies its store into every promise and async resource made while it is enabled, and a request
 * makes hundreds. Measured in two interleaved runs of bench/routing-overhead.ts against the build with a private
 * store: a routed request's added time to first token -0.08/-0.22 ms, its CPU -0.14/-0.37 ms. Where OpenTelemetry
 * has no context manager (tests that mount the app without the SDK), a private store takes over.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { context, createContextKey } from "@opentelemetry/api";

export interface RequestRecord {
  /** The protocol the caller spoke: "openai", "anthropic", "ollama". */
  api: string;
  model?: string;
  /** "local" or "<provider>:<upstream model>". */
  backend?: string;
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  /** Input tokens written to the provider's prompt cache. */
  cacheCreationTokens?: number;
  ttftMs?: number;
  costUsd?: number | null;
  /** A failure after the response started (the status code is already 200 then). */
  error?: string;
  /** The mlxm daemons this request passed before this one (`x-mlxm-via`), sent on with this one's id added. */
  via?: string[];
  /** Called with a routed (not local) generation's usage, for the GenAI metrics local generations update themselves. */
  onRemoteUsage?: (usage: { inputTokens?: number; outputTokens?: number; cachedInputTokens?: number }) => void;
  /** Called once the backend is chosen, before any byte is sent (sets `x-mlxm-backend`). */
  onBackend?: (backend: string) => void;
  /** Backends still reporting to this record (see {@link holdRecord}); the row waits for them. */
  holds?: Set<Promise<void>>;
}

const RECORD = createContextKey("mlxm.requestRecord");
/** Only where OpenTelemetry's context does not propagate (no context manager registered). */
const fallback = new AsyncLocalStorage<RequestRecord>();

/** The record of the request being served, if the HTTP layer opened one. */
export function currentRecord(): RequestRecord | undefined {
  return (context.active().getValue(RECORD) as RequestRecord | undefined) ?? fallback.getStore();
}

/** Run `fn` (and everything it starts) with `record` as the current record. */
export function runWithRecord<T>(record: RequestRecord, fn: () => T): T {
  const withRecord = context.active().setValue(RECORD, record);
  return context.with(withRecord, () => (context.active() === withRecord ? fn() : fallback.run(record, fn)));
}

/**
 * Keep `record`'s row from being written until the returned function is called (once or more): for a backend whose
 * usage may arrive after the response has closed. A client that disconnects closes the response at once, while its
 * generation is still stopping; the tokens it generated up to then are known only when it has.
 */
export function holdRecord(record: RequestRecord | undefined): () => void {
  if (!record) return () => {};
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  (record.holds ??= new Set()).add(held);
  return () => {
    record.holds?.delete(held);
    release();
  };
}

/** Resolves once no backend holds `record` (at once when none does). */
export async function recordSettled(record: RequestRecord): Promise<void> {
  while (record.holds?.size) await Promise.all(record.holds);
}
