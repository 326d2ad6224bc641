/**
 * The model library's routes under `/api`: Ollama's `/api/create` and `/api/copy` (their request shapes, so Ollama
 * clients work), and mlxm's `/api/import` (NDJSON progress like `/api/pull`) and `/api/search` (which, like a pull,
 * may carry the caller's Hugging Face token in `X-HF-Token`: hub-token.ts).
 */
import { requireAdmin } from "../auth/guard.js";
import express, { Router } from "express";
import { ImportRequest, SearchSort, type ImportProgress, type SearchResponse, type StatusResponse } from "../../protocol/library.js";
import { fromOllamaCopyRequest, fromOllamaCreateRequest } from "../compat/ollama-create.js";
import { parseBody } from "../compat/parse.js";
import type { DaemonContext } from "../context.js";
import { EventChannel } from "../engine/event-channel.js";
import { badRequest } from "../errors.js";
import { callerHubToken } from "./hub-token.js";
import { clientAbortSignal, ndjsonFormat, prefetchFirst, sendStream } from "./streaming.js";

const SEARCH_LIMIT_MAX = 50;

export function createLibraryRouter(ctx: DaemonContext): Router {
  const router = Router();
  // As Ollama, whatever the content type (`curl -d` sends form encoding).
  const json = express.json({ limit: "2mb", type: () => true });

  router.post("/create", json, async (req, res) => {
    const intent = fromOllamaCreateRequest(req.body);
    // Creating a preset is quick: done before answering, so every failure gets its status code.
    await ctx.services().library.create(intent);
    const done: StatusResponse = { status: "success" };
    if (!intent.stream) {
      res.json(done);
      return;
    }
    res.status(200).setHeader("content-type", "application/x-ndjson");
    res.end(`${JSON.stringify({ status: "using existing layers" })}\n${JSON.stringify(done)}\n`);
  });

  router.post("/copy", json, async (req, res) => {
    const { source, destination } = fromOllamaCopyRequest(req.body);
    await ctx.services().library.copy(source, destination);
    const done: StatusResponse = { status: "success" };
    res.json(done);
  });

  // An import reads (and with --move, moves) a file on the daemon's own disk: admin only, never a remote key.
  router.post("/import", requireAdmin("importing a file from the daemon's disk", "mlxm import"), json, async (req, res) => {
    const body = parseBody(ImportRequest, req.body);
    const { library } = ctx.services();
    // The import belongs to its request: a client that goes away (Ctrl-C) cancels it, and it leaves nothing behind.
    const signal = clientAbortSignal(req, res);
    const channel = new EventChannel<ImportProgress>();
    library
      .import({ path: body.path, name: body.name, mode: body.mode, signal, onProgress: (p) => channel.push(p) })
      .then(() => channel.end(), (err: unknown) => channel.fail(err));
    if (body.stream === false) {
      let name: string | undefined;
      for await (const p of channel) name = p.name ?? name;
      res.json({ status: "success", name });
      return;
    }
    await sendStream(res, await prefetchFirst(channel), ndjsonFormat<ImportProgress>(), ctx.logger);
  });

  router.get("/search", async (req, res) => {
    const q = typeof req.query.q === "string" ? req.query.q.trim() : "";
    if (!q || q.length > 200) throw badRequest("q is required (at most 200 characters)", "q");
    const limit = req.query.limit === undefined ? 10 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMIT_MAX) throw badRequest(`limit must be an integer from 1 to ${SEARCH_LIMIT_MAX}`, "limit");
    const sort = SearchSort.safeParse(req.query.sort ?? "downloads");
    if (!sort.success) throw badRequest(`sort must be one of ${SearchSort.options.join(", ")}`, "sort");
    const hubToken = callerHubToken(req);
    const body: SearchResponse = await ctx.services().library.search({ q, limit, sort: sort.data }, clientAbortSignal(req, res), hubToken);
    res.json(body);
  });

  return router;
}
