/**
 * The native generation endpoints in Ollama's shapes: `/api/chat`, `/api/generate`, `/api/embed` (and the legacy
 * `/api/embeddings`), `/api/show`. Streams are NDJSON (Ollama streams unless `stream: false`); errors before the
 * first line get a status and `{error, code}`, errors after it one `{error, code}` line.
 */
import { Router, type Response } from "express";
import { collectChat } from "../core/chat.js";
import type { ModelService } from "../core/model-service.js";
import { fromOllamaChatRequest, toOllamaChatChunks, toOllamaChatLoadResponse, toOllamaChatResponse } from "../compat/ollama-chat.js";
import { fromOllamaEmbeddingsRequest, fromOllamaEmbedRequest, toOllamaEmbedResponse } from "../compat/ollama-embed.js";
import { fromOllamaGenerateRequest, toOllamaGenerateChunks, toOllamaGenerateLoadResponse, toOllamaGenerateResponse } from "../compat/ollama-generate.js";
import { fromOllamaShowRequest, toOllamaShowResponse } from "../compat/ollama-show.js";
import type { DaemonContext } from "../context.js";
import { markApi } from "./api-attribute.js";
import { clientAbortSignal, failOnErrorFinish, ndjsonFormat, prefetchFirst, sendStream } from "./streaming.js";
import { depthLimitedJson } from "./json-depth.js";
import { HttpError } from "../errors.js";

export function createOllamaRouter(ctx: DaemonContext): Router {
  const router = Router();
  // Ollama reads the body as JSON whatever its content type (`curl -d` sends form encoding). Per route, so the
  // other `/api` routers keep their own parsing.
  const json = depthLimitedJson(ctx.config.security.maxBodyBytes);
  router.use(["/chat", "/generate", "/embed", "/embeddings", "/show"], markApi("ollama"));

  // Ollama's registry push and its blob upload (what `ollama create` sends a local file with) have no mlxm
  // counterpart: a 501 that says what to use, not a 404 that reads as a wrong address.
  router.all("/push", () => {
    throw new HttpError("not_implemented", "pushing models is not supported: mlxm has no registry to push to; models come from the Hugging Face Hub (`mlxm pull`) or local files (`mlxm import`)");
  });
  router.all("/blobs/:digest", () => {
    throw new HttpError("not_implemented", "blob uploads are not supported: import a local GGUF file with `mlxm import <file>`");
  });

  router.post("/chat", json, async (req, res) => {
    const startMs = Date.now();
    const intent = fromOllamaChatRequest(req.body);
    const { models } = ctx.services();
    if (intent.kind !== "generate") {
      await loadOrUnload(models, intent);
      res.json(toOllamaChatLoadResponse(intent.model, intent.kind));
      return;
    }
    const meta = { model: intent.request.model, startMs };
    const events = failOnErrorFinish(models.chat(intent.request, clientAbortSignal(req, res)));
    if (!intent.stream) {
      res.json(toOllamaChatResponse(await collectChat(events), meta));
      return;
    }
    const started = await prefetchFirst(events);
    await sendNdjson(res, toOllamaChatChunks(started, meta), started);
  });

  router.post("/generate", json, async (req, res) => {
    const startMs = Date.now();
    const intent = fromOllamaGenerateRequest(req.body);
    const { models } = ctx.services();
    if (intent.kind !== "generate") {
      await loadOrUnload(models, intent);
      res.json(toOllamaGenerateLoadResponse(intent.model, intent.kind));
      return;
    }
    const { request } = intent;
    const model = request.kind === "chat" ? request.chat.model : request.completion.model;
    const signal = clientAbortSignal(req, res);
    const events = failOnErrorFinish(request.kind === "chat" ? models.chat(request.chat, signal) : models.complete(request.completion, signal));
    const meta = { model, startMs };
    if (!intent.stream) {
      res.json(toOllamaGenerateResponse(await collectChat(events), meta));
      return;
    }
    const started = await prefetchFirst(events);
    await sendNdjson(res, toOllamaGenerateChunks(started, meta), started);
  });

  router.post("/embed", json, async (req, res) => {
    const startMs = Date.now();
    const request = fromOllamaEmbedRequest(req.body);
    const result = await ctx.services().models.embed(request, clientAbortSignal(req, res));
    res.json(toOllamaEmbedResponse(result, request.model, Date.now() - startMs, result.loadMs));
  });

  router.post("/embeddings", json, async (req, res) => {
    const request = fromOllamaEmbeddingsRequest(req.body);
    const result = await ctx.services().models.embed(request, clientAbortSignal(req, res));
    res.json({ embedding: result.embeddings[0] ?? [] });
  });

  router.post("/show", json, async (req, res) => {
    const { model } = fromOllamaShowRequest(req.body);
    res.json(toOllamaShowResponse(await ctx.services().models.show(model)));
  });

  function sendNdjson<T>(res: Response, items: AsyncIterable<T>, source: AsyncIterator<unknown>): Promise<void> {
    return sendStream(res, items, ndjsonFormat<T>(), ctx.logger, { source });
  }

  return router;
}

/**
 * A request without input only loads the model, or unloads it with keep_alive 0 (`ollama stop`). Unloading a model
 * that is not loaded is fine, but one that does not exist is a 404, so `mlxm stop typo` fails clearly.
 */
async function loadOrUnload(models: ModelService, intent: { kind: "load" | "unload"; model: string; keepAliveMs?: number }): Promise<void> {
  if (intent.kind === "load") {
    await models.load(intent.model, intent.keepAliveMs);
    return;
  }
  const unloaded = await models.unload(intent.model);
  if (!unloaded) await models.show(intent.model);
}
