/**
 * startDaemon: take the per-home lock, listen, open and migrate the store, then report ready.
 * Listening comes before the store so `/api/health` can answer "starting" during migrations.
 * Shutdown drains in-flight requests within the grace period, answering new ones "unavailable" meanwhile, and
 * disposes in reverse order of creation.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { MlxmConfig } from "../config/config.js";
import { describeVariables } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { createApp } from "./app.js";
import { expressBornObjects } from "./http/express-born-objects.js";
import { createContext, type DaemonServices } from "./context.js";
import { ROOT_CONTEXT, propagation } from "@opentelemetry/api";
import { daemonObservability } from "../observability/daemon-setup.js";
import { createMetrics, type Metrics } from "../observability/metrics.js";
import { withSpan } from "../observability/spans.js";
import { ensureHome, makePrivateDir } from "../home/home-dir.js";
import { acquirePidLock } from "./pid-lock.js";
import { ensureAdminToken } from "./auth/admin-token.js";
import { KeyVerifier } from "./auth/key-verifier.js";
import { isLoopbackHost } from "./auth/loopback.js";
import { Store } from "./store/store.js";
import { startLocalEngine } from "./engine/index.js";
import { withDeadlines } from "./core/deadlines.js";
import { describeGgufModel } from "./engine/model-info.js";
import { HubClient } from "./hub/hf-client.js";
import { PullManager } from "./hub/pull/pull-manager.js";
import { recordPull } from "./hub/pull/pull-telemetry.js";
import { blobPath } from "./hub/download/blob-paths.js";
import { HfCache } from "./library/hf-cache.js";
import { ModelLibrary } from "./library/model-library.js";
import { SpanIngest } from "./traces/span-ingest.js";
import { RoutingModelService } from "./routing/router.js";
import { SecretBox } from "./routing/secret-box.js";
import { readEnvVariable } from "../config/env.js";
import { HttpError } from "./errors.js";
import { interruptStreams } from "./http/streaming.js";
import { poolParking } from "./engine/pool-parking.js";

export class PortInUseError extends Error {
  readonly code = "port_in_use";
  constructor(readonly host: string, readonly port: number) {
    super(`port ${port} on ${host} is already in use by another program; set MLXM_HOST to another address`);
    this.name = "PortInUseError";
  }
}

/** The longest a request may take to arrive (Node's own default). */
const RECEIVE_CAP_MS = 300_000;

/** Listening beyond loopback with no API key would publish an open LLM server: refused at start. */
export class InsecureBindError extends Error {
  readonly code = "insecure_bind";
  constructor(readonly host: string) {
    super(
      `refusing to listen on ${host}, which other machines can reach, while no API key exists: create one first ` +
        "(`mlxm key create` against a loopback daemon of the same MLXM_HOME), then start again",
    );
    this.name = "InsecureBindError";
  }
}

export interface StartDaemonOptions {
  config: MlxmConfig;
  logger: Logger;
  version: string;
}

export interface RunningDaemon {
  address: string;
  port: number;
  /** Stop accepting, drain, dispose. Safe to call twice. */
  close(): Promise<void>;
  /** Resolves when the daemon has fully stopped. */
  closed: Promise<void>;
  /** Requests open right now (what shutdown waits for). */
  inFlight(): number;
}

export async function startDaemon({ config, logger, version }: StartDaemonOptions): Promise<RunningDaemon> {
  // First: a home that cannot be made or written fails here with its reason (and a usage exit), before the lock.
  if (ensureHome(config.home).tightened) logger.warn({ home: config.home }, "MLXM_HOME was readable by other users: its mode is now 0700");
  const lock = acquirePidLock(config.home, version);
  const disposers: (() => Promise<void> | void)[] = [() => lock.release()];
  let address = `${config.host}:${config.port}`;
  let endFollowers: (() => void) | undefined;

  const verifier = new KeyVerifier(ensureAdminToken(config.home));
  const { context, setServices, setDraining } = createContext({
    version,
    verifier,
    config,
    logger,
    metrics: createMetrics({
      exportDropped: () => (daemonObservability()?.exporters() ?? []).map((e) => ({ exporter: e.name, dropped: e.dropped })),
      poolParks: () => poolParking.stats.parks,
    }),
    startedAt: new Date(),
    address: () => address,
  });
  daemonObservability()?.attachMetrics(context.metrics);
  const app = createApp(context);
  // Receiving a request (headers and body) is part of MLXM_REQUEST_TIMEOUT too, capped at Node's default of 5 min:
  // a body sent a byte a second would otherwise hold a connection that long whatever the setting. Node checks the
  // deadline on an interval (30 s by default), so the check runs often enough for short timeouts to mean something.
  const receiveMs = Math.min(config.security.requestTimeoutMs > 0 ? config.security.requestTimeoutMs : RECEIVE_CAP_MS, RECEIVE_CAP_MS);
  const server = http.createServer(
    { requestTimeout: receiveMs, connectionsCheckingInterval: Math.min(30_000, Math.max(250, receiveMs / 4)), ...expressBornObjects(app) },
    app,
  );
  // Keep-alive sockets would otherwise hold shutdown open until they time out.
  server.keepAliveTimeout = 5_000;

  const inFlight = new Set<http.ServerResponse>();
  server.on("request", (_req, res) => {
    inFlight.add(res);
    res.on("close", () => inFlight.delete(res));
  });

  const dispose = async () => {
    for (const d of disposers.reverse()) {
      try {
        await d();
      } catch (err) {
        logger.warn({ err }, "error during shutdown");
      }
    }
  };

  try {
    await listen(server, config.host, config.port);
    const bound = server.address() as AddressInfo;
    address = `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`;
    lock.update({ address, ...(config.security.service ? { service: config.security.service } : {}) });
    logger.info({ address, home: config.home, version }, "mlxm daemon listening");
    logger.info({ variables: describeVariables().filter((v) => v.value !== undefined).map((v) => `${v.name}=${v.value}`) }, "configuration");

    // A daemon started by `mlxm daemon start` (or autostart) joins the trace of the command that started it.
    const parent = propagation.extract(ROOT_CONTEXT, { traceparent: config.trace.parent ?? "" });
    await withSpan("mlxm-daemon start", { parent, attributes: { "mlxm.address": address } }, async () => {
      makePrivateDir(path.join(config.home, "models"));
      const store = await Store.open(path.join(config.home, "mlxm.db"));
      disposers.push(() => store.close());
      await verifier.attach(store.apiKeys);
      if (!isLoopbackHost(config.host) && !verifier.hasActiveKeys()) throw new InsecureBindError(config.host);
      const services = await startServices(store, config, logger, context.metrics);
      disposers.push(...services.disposers);
      setServices(services.services);
      endFollowers = () => services.services.spanIngest.feed.close();
    });
    logger.info({ exporting: daemonObservability()?.exporting }, "mlxm daemon ready");
  } catch (err) {
    server.close();
    await dispose();
    throw err;
  }

  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));

  const close = () => {
    closing ??= (async () => {
      logger.info({ inFlight: inFlight.size, graceMs: config.shutdownGraceMs }, "shutting down: draining requests");
      setDraining();
      endFollowers?.();
      // Still listening: a caller arriving now gets its protocol's 503 (Anthropic's 529) with Retry-After from the
      // draining middleware, which SDKs retry, instead of a refused connection that reads as "no daemon here".
      server.closeIdleConnections();
      // Only what ran before the drain is waited for: what arrives during it is refused at once.
      const running = new Set(inFlight);
      for (const res of running) res.once("close", () => running.delete(res));
      const deadline = Date.now() + config.shutdownGraceMs;
      while (running.size > 0 && Date.now() < deadline) await sleep(50);
      const serverClosed = new Promise<void>((r) => server.close(() => r()));
      if (running.size > 0) {
        logger.warn({ inFlight: running.size }, "grace period over: closing remaining requests");
        // Streams get their protocol's error event first (a cut connection says nothing), a moment to flush it.
        const told = interruptStreams(new HttpError("unavailable", "the daemon is shutting down: its grace period for running requests (MLXM_SHUTDOWN_GRACE) is over"));
        if (told > 0) await sleep(100);
      }
      server.closeAllConnections();
      await serverClosed;
      setServices(undefined);
      await dispose();
      logger.info("mlxm daemon stopped");
      resolveClosed();
    })();
    return closing;
  };

  return { address, port: (server.address() as AddressInfo).port, close, closed, inFlight: () => inFlight.size };
}

/** Everything that needs the store: span storage and retention now; engine, hub and router as they land. */
async function startServices(store: Store, config: MlxmConfig, logger: Logger, metrics: Metrics) {
  const disposers: (() => Promise<void> | void)[] = [];
  const observability = daemonObservability();
  if (observability) {
    await observability.localExporter.attach(store.spans);
    // Flush every finished span to the store while it is still open, then stop writing to it. Only the local
    // processor: remote backends get their bounded last chance after the daemon has stopped (run.ts).
    disposers.push(async () => {
      await observability.flushLocal().catch((err: unknown) => logger.warn({ err }, "could not flush spans to the local store"));
      observability.localExporter.detach();
    });
  }
  const spanIngest = new SpanIngest(store.spans, config.trace.recordContent, logger);
  if (observability) observability.localExporter.onWritten = (records) => spanIngest.feed.publish(records);
  const spooled = await spanIngest.ingestSpool(config.home);
  if (spooled) logger.debug({ spans: spooled }, "ingested spooled CLI spans");

  const prune = async () => {
    // A negative retention is forever: only the span count bounds the store (Date.now() minus it would be the future).
    const { retentionMs, maxSpans } = config.trace;
    const deleted = await store.spans.prune({ olderThanMs: retentionMs < 0 ? Number.NEGATIVE_INFINITY : Date.now() - retentionMs, maxSpans });
    if (deleted) logger.debug({ deleted }, "span retention");
  };
  await prune();
  const pruneTimer = setInterval(() => void prune().catch((err) => logger.warn({ err }, "span retention failed")), 5 * 60_000);
  pruneTimer.unref();
  disposers.push(() => clearInterval(pruneTimer));

  const models = withDeadlines(await startLocalEngine({ store, config, logger, metrics }), {
    requestMs: config.security.requestTimeoutMs,
    tokenMs: config.security.tokenTimeoutMs,
  });
  disposers.push(() => models.dispose());

  const hub = new HubClient({ endpoint: config.hub.endpoint, token: config.hub.token });
  const blobsDir = path.join(config.home, "blobs");
  const pulls = new PullManager({
    pulls: store.pulls,
    models: store.models,
    home: config.home,
    hub,
    logger,
    // A file already in the Hugging Face cache (same commit, same sha256) is taken instead of downloaded.
    localCopy: new HfCache({ dir: config.hub.cacheDir, blobsDir, blobPath: (sha256) => blobPath(blobsDir, sha256), directIo: config.hub.directIo }),
    // A pulled file is validated here, before it becomes visible, so a bad GGUF never reaches llama.cpp.
    describeModel: describeGgufModel,
    onPullFinished: (summary) => recordPull(summary, metrics),
    download: {
      concurrency: config.hub.concurrency,
      chunkSize: config.hub.chunkSizeBytes,
      stallTimeoutMs: config.hub.stallTimeoutMs,
      directIo: config.hub.directIo,
    },
  });
  disposers.push(() => pulls.dispose());
  // Pulls a restart or a kill interrupted carry on from the bytes already on disk.
  await pulls.resumeUnfinished();

  const library = new ModelLibrary({
    store,
    hub,
    blobsDir,
    blobPath: (sha256) => blobPath(blobsDir, sha256),
    describeModel: describeGgufModel,
    directIo: config.hub.directIo,
    unload: (name) => models.unload(name),
  });

  // The router is what every API calls: local models first, routes and fallbacks around them.
  const secrets = new SecretBox(config.home);
  const router = new RoutingModelService({
    local: models,
    store,
    secrets,
    readEnv: (name) => readEnvVariable(name),
    defaultBaseUrls: { openai: config.providers.openai.baseUrl, anthropic: config.providers.anthropic.baseUrl },
    logger,
  });

  const services: DaemonServices = {
    store,
    spanIngest,
    models: router,
    pulls,
    router,
    secrets,
    accelerator: () => models.acceleratorIfReady(),
    library,
  };
  return { services, disposers };
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(err.code === "EADDRINUSE" ? new PortInUseError(host, port) : err);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
