/**
 * `/api/pull` and `/api/delete` (Ollama's shapes) plus `/api/pull/cancel`. The daemon owns each pull: a client
 * that disconnects only detaches from the progress stream, the pull goes on.
 */
import fs from "node:fs";
import { jsonBody } from "./json-body.js";
import { Router, type Response } from "express";
import { CancelPullRequest, DeleteRequest, PullRequest, type DeleteResponse, type PullProgress } from "../../protocol/pull.js";
import type { ApiErrorBody } from "../../protocol/errors.js";
import type { DaemonContext } from "../context.js";
import { parseBody } from "../compat/parse.js";
import { modelNotFound } from "../errors.js";
import { toHttpError } from "./native-errors.js";

export function createPullRouter(ctx: DaemonContext): Router {
  const router = Router();
  // Per route: a router-wide parser would also parse bodies meant for the routers mounted after this one.
  const json = jsonBody("1mb");

  router.post("/pull", json, async (req, res) => {
    const body = parseBody(PullRequest, req.body);
    const { pulls } = ctx.services();
    const detach = new AbortController();
    res.on("close", () => detach.abort());
    // A malformed reference throws here, before anything is sent: a plain 400.
    const handle = pulls.pull((body.model ?? body.name)!, { file: body.file, revision: body.revision, signal: detach.signal });

    if (body.stream === false) {
      for await (const _ of handle) void _;
      const summary = await handle.result;
      res.json({ status: "success", name: summary.name });
      return;
    }

    res.status(200).setHeader("content-type", "application/x-ndjson");
    res.setHeader("cache-control", "no-cache");
    res.flushHeaders();
    try {
      for await (const progress of handle) writeLine(res, progress);
    } catch (err) {
      // The stream has started: the error goes in-band, as Ollama does, with mlxm's stable code.
      if (!detach.signal.aborted) {
        const e = toHttpError(err);
        const line: ApiErrorBody = { error: e.message, code: e.code, ...(e.details ? { details: e.details } : {}) };
        writeLine(res, line);
      }
    }
    res.end();
  });

  router.post("/pull/cancel", json, async (req, res) => {
    const body = parseBody(CancelPullRequest, req.body);
    const cancelled = await ctx.services().pulls.cancel(body.model, { discard: body.discard });
    if (!cancelled) throw modelNotFound(body.model);
    res.json({ cancelled });
  });

  router.delete("/delete", json, async (req, res) => {
    const body = parseBody(DeleteRequest, req.body);
    const name = (body.model ?? body.name)!;
    const { store, models } = ctx.services();
    const row = await store.models.findByName(name);
    if (!row) throw modelNotFound(name);
    await models.unload(name);
    const { orphanBlobs } = await store.models.delete(name);
    let freed = 0;
    for (const blob of orphanBlobs) {
      freed += fs.statSync(blob.path, { throwIfNoEntry: false })?.size ?? 0;
      fs.rmSync(blob.path, { force: true });
    }
    const answer: DeleteResponse = { deleted: name, freed_bytes: freed };
    res.json(answer);
  });

  return router;
}

function writeLine(res: Response, value: PullProgress | ApiErrorBody): void {
  res.write(`${JSON.stringify(value)}\n`);
}
