/**
 * Anthropic's Messages API under `/v1/messages`, which the official `@anthropic-ai/sdk` (and Claude Code) use
 * unmodified. Each route translates the body with a pure compat function, asks the model service, and translates
 * the answer back (JSON, or named SSE events). `x-api-key`, `Authorization`, `anthropic-version` and `anthropic-beta`
 * are accepted as sent; the key check belongs to the auth middleware. Errors reach `anthropicErrorHandler` (mounted
 * after this router in app.ts) or, mid-stream, go in-band as an `error` event.
 */
import crypto from "node:crypto";
import express, { Router } from "express";
import { fromCountTokensRequest, fromMessagesRequest, toMessage, toMessageStreamEvents } from "../compat/anthropic-messages.js";
import { toAnthropicError } from "../compat/anthropic-errors.js";
import { collectChat } from "../core/chat.js";
import type { DaemonContext } from "../context.js";
import { markApi } from "./api-attribute.js";
import { clientAbortSignal, failOnErrorFinish, namedSseFormat, prefetchFirst, sendStream } from "./streaming.js";

/** Anthropic's id style: `msg_` and 24 base62-ish characters. */
const newMessageId = () => `msg_${crypto.randomBytes(18).toString("base64url").replace(/[-_]/g, "0")}`;

export function createAnthropicRouter(ctx: DaemonContext): Router {
  const router = Router();
  router.use(markApi("anthropic"));
  // Any content type, as for the OpenAI routes: some clients omit it.
  router.use(express.json({ limit: "32mb", type: () => true }));

  router.post("/", async (req, res) => {
    const { request, stream } = fromMessagesRequest(req.body);
    const { models } = ctx.services();
    const meta = { id: newMessageId(), model: request.model };
    const events = failOnErrorFinish(models.chat(request, clientAbortSignal(req, res)));
    if (!stream) {
      res.json(toMessage(await collectChat(events), meta));
      return;
    }
    const started = await prefetchFirst(events);
    await sendStream(res, toMessageStreamEvents(started, meta), namedSseFormat(toAnthropicError), ctx.logger);
  });

  router.post("/count_tokens", async (req, res) => {
    const request = fromCountTokensRequest(req.body);
    const { inputTokens } = await ctx.services().models.countTokens(request, clientAbortSignal(req, res));
    res.json({ input_tokens: inputTokens });
  });

  return router;
}
