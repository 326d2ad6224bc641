/**
 * Every generation request becomes a `requests` row: the middleware opens a request record (see
 * routing/request-record.ts) that the router fills in, sets `x-mlxm-backend` once a backend is chosen, and writes the
 * row when the response ends (finished, failed or abandoned by the client) and its backend has finished reporting.
 */
import crypto from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { trace } from "@opentelemetry/api";
import type { DaemonContext } from "../context.js";
import { scrubText } from "../../observability/redact.js";
import { loopRefusal, viaOf } from "../routing/loop-guard.js";
import { recordSettled, runWithRecord, type RequestRecord } from "../routing/request-record.js";
import { routeTemplate } from "./route-template.js";

export const BACKEND_HEADER = "x-mlxm-backend";

/** The protocol a path belongs to. */
function apiOf(path: string): string {
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return "anthropic";
  if (path.startsWith("/v1/")) return "openai";
  if (path.startsWith("/api/routes")) return "native";
  return "ollama";
}

export function recordRequests(ctx: DaemonContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== "POST") return next();
    const startedAt = new Date();
    const started = performance.now();
    const traceId = trace.getActiveSpan()?.spanContext().traceId;
    const via = viaOf(req.headers);
    const loop = loopRefusal(via);
    if (loop) return next(loop);
    const record: RequestRecord = {
      api: apiOf(req.path),
      ...(via.length ? { via } : {}),
      // A routed generation's tokens in the same GenAI metrics a local one updates, under the name the caller used.
      // A count the upstream never reported (a stream left before its usage) is no observation: a 0 would skew the
      // token-usage histogram.
      onRemoteUsage: (usage) => {
        const model = record.model ?? "";
        for (const type of ["input", "output"] as const) {
          const count = type === "input" ? usage.inputTokens : usage.outputTokens;
          if (count === undefined) continue;
          ctx.metrics.tokens.inc({ model, type }, count);
          ctx.metrics.tokenUsage.observe({ model, type }, count);
        }
        ctx.metrics.cachedInputTokens.inc({ model }, usage.cachedInputTokens ?? 0);
      },
      onBackend: (backend) => {
        // A header value is Latin-1 without control characters; a model name may be anything (Node throws otherwise).
        if (!res.headersSent) res.setHeader(BACKEND_HEADER, headerSafe(backend));
      },
    };
    res.once("close", () => {
      // Only requests that reached the model service are usage; others (routes admin, pulls) are not.
      if (record.model === undefined) return;
      let store;
      try {
        store = ctx.services().store;
      } catch {
        return;
      }
      const statusCode = res.writableFinished ? res.statusCode : 499;
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      // Not req.path: when the response ends inside a router, that is relative to the router's mount.
      const route = routeTemplate(req, res) ?? req.originalUrl.split("?")[0]!;
      // A generation the client walked away from is still stopping: its row waits for the tokens it generated.
      void recordSettled(record)
        .then(() =>
          store.requests.insert({
            // Not the x-request-id: a caller may reuse one, and a usage row must never be lost to a conflict.
            id: crypto.randomUUID(),
            trace_id: traceId && !/^0+$/.test(traceId) ? traceId : null,
            method: req.method,
            route,
            model: record.model!,
            status_code: statusCode,
            duration_ms: durationMs,
            input_tokens: record.inputTokens ?? null,
            output_tokens: record.outputTokens ?? null,
            // An upstream's message may quote a key: scrubbed as span messages are.
            error: record.error === undefined ? null : scrubText(record.error),
            created_at: startedAt.toISOString(),
            api: record.api,
            backend: record.backend ?? null,
            cached_tokens: record.cachedTokens ?? null,
            cache_creation_tokens: record.cacheCreationTokens ?? null,
            ttft_ms: record.ttftMs ?? null,
            cost_usd: record.costUsd ?? null,
          }),
        )
        .catch((err: unknown) => ctx.logger.warn({ err }, "could not record a request row"));
    });
    runWithRecord(record, next);
  };
}

/** `value` as a header can carry it: printable ASCII kept, anything else percent-encoded (UTF-8). */
export function headerSafe(value: string): string {
  // A lone surrogate has no UTF-8 form (encodeURIComponent throws): it becomes U+FFFD's.
  return value.replace(/[^\x20-\x7e]/gu, (c) => (c.length === 1 && c >= "\ud800" && c <= "\udfff" ? "%EF%BF%BD" : encodeURIComponent(c)));
}
