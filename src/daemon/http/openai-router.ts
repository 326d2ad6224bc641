/**
 * The OpenAI-compatible API under `/v1`, which the official openai SDK uses unmodified. Chat and text completions go
 * to the router's `dispatch`: a route to an OpenAI-speaking upstream gets the body passed through and its answer
 * relayed; every other backend gets the body translated with a pure compat function and the answer translated back
 * (JSON, or SSE chunks).
 * Errors reach `openAIErrorHandler` (mounted after this router in app.ts) or, mid-stream, go in-band.
 */
import crypto from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Router } from "express";
import { collectChat } from "../core/chat.js";
import { fromChatCompletionRequest } from "../compat/openai-chat.js";
import { toChatCompletion, toChatCompletionChunks } from "../compat/openai-chat-response.js";
import { fromCompletionRequest, toCompletion, toCompletionChunks } from "../compat/openai-completions.js";
import { fromEmbeddingRequest, toEmbeddingResponse } from "../compat/openai-embeddings.js";
import { toOpenAIError } from "../compat/openai-errors.js";
import { toOpenAIModel, toOpenAIModelList } from "../compat/openai-models.js";
import { toAnthropicModel, toAnthropicModelPage } from "../compat/anthropic-models.js";
import type { DaemonContext } from "../context.js";
import type { WireCall } from "../routing/forward-call.js";
import { markApi } from "./api-attribute.js";
import { modelNotFound } from "../errors.js";
import { withoutLatestTag } from "../engine/model-spec.js";
import { clientAbortSignal, failOnErrorFinish, prefetchFirst, sendStream, sseFormat } from "./streaming.js";
import { forwardFormat, once, sendForwarded, wireCallOf } from "./forwarding.js";
import { depthLimitedJson } from "./json-depth.js";

const newId = (prefix: string) => `${prefix}-${crypto.randomBytes(12).toString("base64url")}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const openAIForwardFormat = forwardFormat(sseFormat(toOpenAIError));

/** An OpenAI body as a pass-through call; `model` as the translator reads it when the body is not a plain one. */
function wireCall(body: unknown, endpoint: "chat/completions" | "completions", model: () => string): WireCall {
  return wireCallOf("openai", endpoint, body, model, (b) => {
    const options = b.stream_options as { include_usage?: unknown } | null | undefined;
    return options?.include_usage === true;
  });
}

export function createOpenAIRouter(ctx: DaemonContext): Router {
  const router = Router();
  router.use(markApi("openai"));
  // Any content type: some OpenAI clients omit it, and OpenAI parses the body as JSON regardless.
  // Per route, so a `/v1` router mounted after this one (Anthropic's) keeps its own parser and limit.
  const json = depthLimitedJson(ctx.config.security.maxBodyBytes);

  router.post("/chat/completions", json, async (req, res) => {
    const translate = once(() => fromChatCompletionRequest(req.body));
    const call = wireCall(req.body, "chat/completions", () => translate().request.model);
    const served = await ctx.services().router.dispatch(call, () => translate().request, clientAbortSignal(req, res));
    if (served.kind === "forwarded") return sendForwarded(res, served.response, openAIForwardFormat, ctx.logger);
    const { request, stream, includeUsage, mayCallTools } = translate();
    const meta = { id: newId("chatcmpl"), created: nowSeconds(), model: request.model };
    const events = failOnErrorFinish(served.events);
    if (!stream) {
      res.json(toChatCompletion(await collectChat(events), meta));
      return;
    }
    const started = await prefetchFirst(events);
    await sendStream(res, toChatCompletionChunks(started, meta, { includeUsage, mayCallTools }), sseFormat(toOpenAIError), ctx.logger, { source: started });
  });

  router.post("/completions", json, async (req, res) => {
    const translate = once(() => fromCompletionRequest(req.body));
    const call = wireCall(req.body, "completions", () => translate().request.model);
    const served = await ctx.services().router.dispatchCompletion(call, () => translate().request, clientAbortSignal(req, res));
    if (served.kind === "forwarded") return sendForwarded(res, served.response, openAIForwardFormat, ctx.logger);
    const { request, stream, includeUsage, echo } = translate();
    const meta = { id: newId("cmpl"), created: nowSeconds(), model: request.model };
    const events = failOnErrorFinish(served.events);
    const echoPrompt = echo ? request.prompt : undefined;
    if (!stream) {
      res.json(toCompletion(await collectChat(events), meta, echoPrompt));
      return;
    }
    const started = await prefetchFirst(events);
    await sendStream(res, toCompletionChunks(started, meta, { includeUsage, echoPrompt }), sseFormat(toOpenAIError), ctx.logger, { source: started });
  });

  router.post("/embeddings", json, async (req, res) => {
    const { request, encodingFormat } = fromEmbeddingRequest(req.body);
    const result = await ctx.services().models.embed(request, clientAbortSignal(req, res));
    res.json(toEmbeddingResponse(result, request.model, encodingFormat));
  });

  // The Anthropic SDKs list models at the same path, sending `anthropic-version`: they get Anthropic's shape.
  const speaksAnthropic = (req: { headers: IncomingHttpHeaders }) => req.headers["anthropic-version"] !== undefined;

  router.get("/models", async (req, res) => {
    const models = await ctx.services().models.list();
    res.json(speaksAnthropic(req) ? toAnthropicModelPage(models, req.query) : toOpenAIModelList(models));
  });

  // Model names may contain slashes (`hf.co/org/repo:Q4_K_M`).
  router.get("/models/*id", async (req, res) => {
    const id = (req.params as { id: string[] }).id.join("/");
    // `name:latest` is the name, as it is for a generation request.
    const name = withoutLatestTag(id);
    const model = (await ctx.services().models.list()).find((m) => m.name === id || m.name === name);
    if (!model) throw modelNotFound(id);
    res.json(speaksAnthropic(req) ? toAnthropicModel(model) : toOpenAIModel(model));
  });

  return router;
}
