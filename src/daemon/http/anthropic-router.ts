/**
 * Anthropic's Messages API under `/v1/messages`, which the official `@anthropic-ai/sdk` (and Claude Code) use
 * unmodified. Messages go to the router's `dispatch`: a route to Anthropic gets the body passed through (with the
 * caller's `anthropic-beta`) and its answer relayed; every other backend gets the body translated with a pure compat
 * function and the answer translated back (JSON, or named SSE events). `x-api-key`, `Authorization`, `anthropic-version` and `anthropic-beta`
 * are accepted as sent; the key check belongs to the auth middleware. Errors reach `anthropicErrorHandler` (mounted
 * after this router in app.ts) or, mid-stream, go in-band as an `error` event.
 */
import crypto from "node:crypto";
import { Router, type Request } from "express";
import { fromCountTokensRequest, fromMessagesRequest } from "../compat/anthropic-messages.js";
import { toMessage, toMessageStreamEvents } from "../compat/anthropic-message-response.js";
import { toAnthropicError } from "../compat/anthropic-errors.js";
import { collectChat } from "../core/chat.js";
import type { DaemonContext } from "../context.js";
import { markApi } from "./api-attribute.js";
import { clientAbortSignal, failOnErrorFinish, namedSseFormat, prefetchFirst, sendStream } from "./streaming.js";
import { forwardFormat, once, sendForwarded, wireCallOf } from "./forwarding.js";
import { depthLimitedJson } from "./json-depth.js";

/** Anthropic's id style: `msg_` and 24 base62-ish characters. */
const anthropicForwardFormat = forwardFormat(namedSseFormat(toAnthropicError));

const newMessageId = () => `msg_${crypto.randomBytes(18).toString("base64url").replace(/[-_]/g, "0")}`;

/** The caller's `anthropic-beta`, passed on to an Anthropic upstream (betas change what a body may hold). */
function betaHeader(req: Request): Record<string, string> | undefined {
  const beta = req.headers["anthropic-beta"];
  return typeof beta === "string" ? { "anthropic-beta": beta } : undefined;
}

export function createAnthropicRouter(ctx: DaemonContext): Router {
  const router = Router();
  router.use(markApi("anthropic"));
  // Any content type, as for the OpenAI routes: some clients omit it.
  router.use(depthLimitedJson(ctx.config.security.maxBodyBytes));

  router.post("/", async (req, res) => {
    const translate = once(() => fromMessagesRequest(req.body));
    const call = wireCallOf("anthropic", "messages", req.body, () => translate().request.model, () => false, betaHeader(req));
    const served = await ctx.services().router.dispatch(call, () => translate().request, clientAbortSignal(req, res));
    if (served.kind === "forwarded") return sendForwarded(res, served.response, anthropicForwardFormat, ctx.logger);
    const { request, stream } = translate();
    const meta = { id: newMessageId(), model: request.model };
    const events = failOnErrorFinish(served.events);
    if (!stream) {
      res.json(toMessage(await collectChat(events), meta));
      return;
    }
    const started = await prefetchFirst(events);
    await sendStream(res, toMessageStreamEvents(started, meta), namedSseFormat(toAnthropicError), ctx.logger, { source: started });
  });

  router.post("/count_tokens", async (req, res) => {
    const translate = once(() => fromCountTokensRequest(req.body));
    const call = wireCallOf("anthropic", "messages/count_tokens", req.body, () => translate().model, () => false, betaHeader(req));
    const counted = await ctx.services().router.dispatchCountTokens(call, translate, clientAbortSignal(req, res));
    res.json(counted.kind === "forwarded" ? counted.body : { input_tokens: counted.inputTokens });
  });

  return router;
}
