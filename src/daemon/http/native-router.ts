/**
 * The native API under `/api`: Ollama's shapes where Ollama has the endpoint (`/api/version`, `/api/tags`,
 * `/api/ps`), mlxm's own beside them (`/api/health`). Generation and `/api/show` live in ollama-router.ts.
 */
import { Router } from "express";
import { daemonObservability } from "../../observability/daemon-setup.js";
import type { AcceleratorInfo } from "../engine/accelerator.js";
import { OLLAMA_API_VERSION, type AcceleratorState, type HealthResponse, type PsResponse, type TagsResponse, type VersionResponse } from "../../protocol/native.js";
import { toOllamaModelEntry, toOllamaRunningModel } from "../compat/ollama-models.js";
import type { DaemonContext } from "../context.js";
import { expectedUnavailable } from "./server-span.js";

export function createNativeRouter(ctx: DaemonContext): Router {
  const router = Router();

  router.get("/version", (_req, res) => {
    const body: VersionResponse = { version: OLLAMA_API_VERSION, mlxm: ctx.version };
    res.json(body);
  });

  // Answers even while starting, so `daemon start` can tell "up but not ready" from "down".
  router.get("/health", async (_req, res) => {
    const accelerator = ctx.isReady() ? await ctx.services().accelerator().catch(() => undefined) : undefined;
    const body: HealthResponse = {
      status: ctx.isReady() ? "ready" : "starting",
      version: ctx.version,
      pid: process.pid,
      address: ctx.address(),
      home: ctx.config.home,
      started_at: ctx.startedAt.toISOString(),
      uptime_s: Math.round((Date.now() - ctx.startedAt.getTime()) / 100) / 10,
      exporters: daemonObservability()?.exporters() ?? [],
      ...(ctx.config.security.service ? { service: ctx.config.security.service } : {}),
      ...(accelerator ? { accelerator: toAcceleratorState(accelerator) } : {}),
    };
    // "starting" is what `daemon start` polls for until start-up ends: an answer, not a server failure (its span).
    if (body.status === "starting") expectedUnavailable(res);
    res.status(body.status === "ready" ? 200 : 503).json(body);
  });

  router.get("/tags", async (_req, res) => {
    const body: TagsResponse = { models: (await ctx.services().models.list()).map(toOllamaModelEntry) };
    res.json(body);
  });

  router.get("/ps", (_req, res) => {
    const body: PsResponse = { models: ctx.services().models.running().map(toOllamaRunningModel) };
    res.json(body);
  });

  return router;
}

/** The engine's accelerator in the health response's shape. */
function toAcceleratorState(info: AcceleratorInfo): AcceleratorState {
  return {
    requested: info.requested,
    backend: info.backend,
    devices: info.devices,
    vram_total: info.vramTotalBytes,
    vram_used: info.vramUsedBytes,
    vram_free: info.vramFreeBytes,
    unified_memory: info.unifiedMemoryBytes,
    binary: info.binary,
  };
}
