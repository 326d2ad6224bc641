/**
 * createApp: the daemon's HTTP application without `listen`, so tests mount the real app on port 0.
 * Routers by family, each with the error handler of its protocol.
 */
import express, { Router, type Express } from "express";
import { anthropicShape, nativeShape, openAIShape } from "./auth/error-shapes.js";
import { createGuard } from "./auth/guard.js";
import { isLoopbackHost } from "./auth/loopback.js";
import { createKeysRouter } from "./http/keys-router.js";
import type { DaemonContext } from "./context.js";
import { HttpError } from "./errors.js";
import { nativeErrorHandler } from "./http/native-errors.js";
import { accessLog } from "./http/access-log.js";
import { chain } from "./http/chain.js";
import { anthropicErrorHandler, anthropicNotFound } from "./http/anthropic-errors.js";
import { createAnthropicRouter } from "./http/anthropic-router.js";
import { createMetricsRouter, httpMetrics } from "./http/metrics-router.js";
import { attributeRoute, recordMountPath } from "./http/route-template.js";
import { createNativeRouter } from "./http/native-router.js";
import { createOllamaRouter } from "./http/ollama-router.js";
import { openAIErrorHandler, openAINotFound } from "./http/openai-errors.js";
import { createOpenAIRouter } from "./http/openai-router.js";
import { createResponsesRouter } from "./http/openai-responses-router.js";
import { createPullRouter } from "./http/pull-router.js";
import { createLibraryRouter } from "./http/library-router.js";
import { createTracesRouter } from "./http/traces-router.js";
import { requestId } from "./http/request-id.js";
import { serverSpan } from "./http/server-span.js";
import { securityHeaders } from "./http/security-headers.js";
import { recordRequests } from "./http/request-usage.js";
import { createRoutesRouter } from "./http/routes-router.js";

export function createApp(ctx: DaemonContext): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(
    chain(
      serverSpan,
      requestId,
      httpMetrics(ctx.metrics),
      attributeRoute,
      accessLog(ctx.logger),
      // While draining (the server still listens until its running requests end), new requests are refused with
      // Retry-After, in each caller's shape by the error handlers below: 503, or Anthropic's 529 overloaded_error.
      (_req, res, next) => {
        if (ctx.draining()) res.setHeader("connection", "close");
        next(ctx.draining() ? new HttpError("unavailable", "the daemon is shutting down", undefined, { "retry-after": "1" }) : undefined);
      },
      securityHeaders(),
    ),
  );
  // The front door, before any router parses a body: Host, Origin, then the key, refused in each caller's shape.
  const guard = createGuard({
    verifier: ctx.verifier,
    boundHost: ctx.config.host,
    loopback: isLoopbackHost(ctx.config.host),
    origins: ctx.config.security.origins,
  });
  app.use("/v1/messages", guard.forShape(anthropicShape));
  app.use("/v1", guard.forShape(openAIShape));
  app.use(guard.forShape(nativeShape));

  app.use(createMetricsRouter(ctx.metrics));
  app.use(recordRequests(ctx));
  // The `/api` routers behind one mount, so a request elsewhere (every `/v1` one) passes one layer, not fourteen.
  // Ollama's generation endpoints (chat, generate, embed, show) come before the native router and its body parser.
  const api = Router();
  api.use(
    recordMountPath,
    createOllamaRouter(ctx),
    createNativeRouter(ctx),
    createTracesRouter(ctx),
    createPullRouter(ctx),
    createKeysRouter(ctx, ctx.verifier),
    createLibraryRouter(ctx),
    createRoutesRouter(ctx),
  );
  app.use("/api", api);

  // OpenAI's API. Other `/v1` routers (Anthropic's) mount before the `/v1` fallback; every `/v1` failure, the
  // draining 503 above included, is answered in OpenAI's shape.
  // Anthropic's Messages API, with its own error shape for everything under /v1/messages.
  app.use("/v1/messages", recordMountPath, createAnthropicRouter(ctx));
  app.use("/v1/messages", anthropicNotFound);
  app.use("/v1/messages", anthropicErrorHandler(ctx.logger));
  // OpenAI's Responses API: its own router (stateless translation, see there), OpenAI's error shape below.
  app.use("/v1/responses", recordMountPath, createResponsesRouter(ctx));
  app.use("/v1", recordMountPath, createOpenAIRouter(ctx));
  app.use("/v1", openAINotFound);
  app.use("/v1", openAIErrorHandler(ctx.logger));

  app.use((req, _res, next) => next(new HttpError("not_found", `no route for ${req.method} ${req.path}`)));
  app.use(nativeErrorHandler(ctx.logger));
  return app;
}
