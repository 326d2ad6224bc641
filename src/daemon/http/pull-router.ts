/**
 * `/api/pull` and `/api/delete` (Ollama's shapes) plus `/api/pull/cancel`. The daemon owns each pull: a client
 * that disconnects only detaches from the progress stream, the pull goes on.
 *
 * A pull request may carry the caller's Hugging Face token in `X-HF-Token` (hub-token.ts): a pull it starts uses that
 * token instead of the daemon's.
 */
import { jsonBody } from "./json-body.js";
import { Router } from "express";
import { CancelPullRequest, DeleteRequest, PullRequest, type DeleteResponse, type PullProgress } from "../../protocol/pull.js";
import type { DaemonContext } from "../context.js";
import { parseBody } from "../compat/parse.js";
import { modelNotFound } from "../errors.js";
import { callerHubToken } from "./hub-token.js";
import { ndjsonFormat, sendStream } from "./streaming.js";

export function createPullRouter(ctx: DaemonContext): Router {
  const router = Router();
  // Per route: a router-wide parser would also parse bodies meant for the routers mounted after this one.
  const json = jsonBody("1mb");

  router.post("/pull", json, async (req, res) => {
    const body = parseBody(PullRequest, req.body);
    const hubToken = callerHubToken(req);
    const { pulls } = ctx.services();
    const detach = new AbortController();
    res.on("close", () => detach.abort());
    // A malformed reference throws here, before anything is sent: a plain 400.
    const handle = pulls.pull((body.model ?? body.name)!, { file: body.file, revision: body.revision, signal: detach.signal, hubToken });

    if (body.stream === false) {
      for await (const _ of handle) void _;
      const summary = await handle.result;
      res.json({ status: "success", name: summary.name });
      return;
    }

    // Progress as NDJSON with backpressure; a failure after the first line goes in-band, as Ollama does, with
    // mlxm's stable code. A client that goes away only detaches (the fan-out drops it; the pull goes on).
    await sendStream(res, handle, ndjsonFormat<PullProgress>(), ctx.logger, { headersFirst: true });
  });

  router.post("/pull/cancel", json, async (req, res) => {
    const body = parseBody(CancelPullRequest, req.body);
    const cancelled = await ctx.services().pulls.cancel(body.model, { discard: body.discard });
    if (!cancelled) throw modelNotFound(body.model);
    res.json({ cancelled });
  });

  router.delete("/delete", json, async (req, res) => {
    const body = parseBody(DeleteRequest, req.body);
    const result = await ctx.services().models.delete((body.model ?? body.name)!);
    const answer: DeleteResponse = { deleted: result.name, freed_bytes: result.freedBytes };
    res.json(answer);
  });

  return router;
}
