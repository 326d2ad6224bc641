/**
 * OpenAI's Responses API under `/v1/responses`, which the official openai SDK (`responses.create`,
 * `responses.stream`), the OpenAI Agents SDK and Codex CLI use. Translate with a pure compat function, call the model
 * service (the router: local models and every route, with fallback, limits, usage rows and `x-mlxm-backend`), and
 * translate back: JSON, or named SSE events numbered by `sequence_number`.
 *
 * Every backend is reached through the core chat model: a request routed to an OpenAI upstream goes there as a Chat
 * Completions request, not passed through as a Responses one, so what only OpenAI's Responses API offers (built-in
 * tools, stored conversations) is refused here rather than forwarded. Nothing is stored, so there is no retrieving,
 * cancelling or deleting a response later. Errors reach `openAIErrorHandler` (mounted after this router in app.ts)
 * or, mid-stream, go in-band as an `error` event.
 */
import crypto from "node:crypto";
import { Router, type RequestHandler } from "express";
import { collectChat } from "../core/chat.js";
import { fromResponsesRequest } from "../compat/openai-responses.js";
import { toResponse } from "../compat/openai-response-output.js";
import { toResponseErrorEvent, toResponseStreamEvents, type ResponseEvent } from "../compat/openai-response-stream.js";
import type { DaemonContext } from "../context.js";
import { HttpError } from "../errors.js";
import { markApi } from "./api-attribute.js";
import { clientAbortSignal, failOnErrorFinish, namedSseFormat, prefetchFirst, sendStream, type StreamFormat } from "./streaming.js";
import { depthLimitedJson } from "./json-depth.js";

/** OpenAI's id style: `resp_` and 48 hex digits. */
const newResponseId = () => `resp_${crypto.randomBytes(24).toString("hex")}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Named SSE events with no `[DONE]` (the last event says the response ended); a failure after the first event is
 * an `error` event numbered after the last one sent, so one format per stream.
 */
function responsesSseFormat(): StreamFormat<ResponseEvent> {
  let next = 0;
  const named = namedSseFormat<ResponseEvent>((err) => toResponseErrorEvent(err, next));
  return {
    ...named,
    encode: (event) => {
      next = event.sequence_number + 1;
      return named.encode(event);
    },
  };
}

/** Retrieving, cancelling or listing the items of an earlier response: there is none to find. */
const notStored: RequestHandler = (req, _res, next) =>
  next(new HttpError("not_found", `response "${String(req.params.id)}" not found: mlxm does not store responses; send the whole conversation in \`input\``));

export function createResponsesRouter(ctx: DaemonContext): Router {
  const router = Router();
  router.use(markApi("openai"));
  // Any content type, as for the other OpenAI routes: some clients omit it.
  const json = depthLimitedJson(ctx.config.security.maxBodyBytes);

  router.post("/", json, async (req, res) => {
    const { request, stream, echo } = fromResponsesRequest(req.body);
    const meta = { id: newResponseId(), createdAt: nowSeconds(), model: request.model, echo };
    const events = failOnErrorFinish(ctx.services().models.chat(request, clientAbortSignal(req, res)));
    if (!stream) {
      res.json(toResponse(await collectChat(events), meta));
      return;
    }
    const started = await prefetchFirst(events);
    await sendStream(res, toResponseStreamEvents(started, meta), responsesSseFormat(), ctx.logger, { source: started });
  });

  router.get("/:id", notStored);
  router.delete("/:id", notStored);
  router.get("/:id/input_items", notStored);
  router.post("/:id/cancel", notStored);

  return router;
}
