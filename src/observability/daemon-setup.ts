/**
 * The daemon's observability, configured before anything else is imported (bin/run.js calls this for `serve`).
 * `@pydantic/logfire-node` owns the OpenTelemetry SDK and its auto-instrumentations; mlxm adds redaction, the
 * local span store and, when configured, bounded exporters to Logfire and an OTLP/HTTP collector (spans, the CLI's
 * forwarded spans, GenAI metrics). With no token and no endpoint nothing leaves the machine and no connection is
 * attempted.
 *
 * Shutdown order (issue: a dead backend must not hold the daemon hostage): the daemon drains requests, flushes
 * the local store completely (`flushLocal`), and `shutdown` then gives the remote exporters a bounded last chance
 * (MLXM_TRACE_EXPORT_GRACE) and drops, counts and logs what they could not send.
 */
import { createRequire, register } from "node:module";
import { resolveConfig } from "../config/config.js";
import type { ExporterState } from "../protocol/native.js";
import type { SpanRecord } from "../protocol/traces.js";
import { LocalSpanExporter } from "./local-span-exporter.js";
import type { Metrics } from "./metrics.js";
import { PromGenAiProducer } from "./otel-metrics.js";
import { displayUrl } from "./redact.js";
import { RedactingSpanProcessor } from "./redacting-span-processor.js";
import { throughSelfTracedAgent } from "./self-traced-agent.js";
import { TimeOrderedIdGenerator } from "./span-ids.js";
import { enableDeferredSpans } from "./deferred-span.js";
import { keepOnlySpanProcessors, useIdGenerator } from "./sdk-overrides.js";
import { fromSpanRecord } from "./span-record.js";

export const DAEMON_SERVICE_NAME = "mlxm-daemon";

export interface DaemonObservability {
  localExporter: LocalSpanExporter;
  /** True when spans are also sent to Logfire or an OTLP collector. */
  exporting: { logfire: boolean; otlp?: string };
  /** Send spans that ended elsewhere (the CLI's, already redacted) to the remote exporters, with their own ids. */
  forward(records: SpanRecord[]): void;
  /** Each remote exporter's state, for `/api/health`. */
  exporters(): ExporterState[];
  /** Export the GenAI metrics of this daemon's registry to the remote backends too. */
  attachMetrics(metrics: Metrics): void;
  /** Write every finished span to the local store now (bounded only by the store). */
  flushLocal(): Promise<void>;
  /** Give remote exporters their last chance (MLXM_TRACE_EXPORT_GRACE), then stop the SDK. Returns spans dropped. */
  shutdown(): Promise<number>;
}

let current: DaemonObservability | undefined;

/** The configured daemon observability, if `setupDaemonObservability` ran in this process. */
export function daemonObservability(): DaemonObservability | undefined {
  return current;
}

export async function setupDaemonObservability(version: string, env: NodeJS.ProcessEnv = process.env): Promise<DaemonObservability> {
  if (current) return current;
  const { trace: settings } = resolveConfig(env);

  // logfire-node's NodeSDK would otherwise export metrics and logs to localhost:4318 and hang ~8 s at exit.
  env.OTEL_METRICS_EXPORTER ??= "none";
  env.OTEL_LOGS_EXPORTER ??= "none";
  env.OTEL_TRACES_EXPORTER ??= "none";
  // The Anthropic SDK traces itself; its own traceparent would duplicate the one the fetch instrumentation adds.
  env.ANTHROPIC_OPEN_TELEMETRY_PROPAGATION ??= "false";
  if (settings.recordContent) env.ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE ??= "content";

  // Under ESM, modules loaded with `import` are patched only through this loader hook. It must be registered
  // before express, pino, openai and the rest are first imported. It wraps only the modules an instrumentation
  // hooks: each one names its modules to the loader when logfire.configure (below) enables it. Wrapping every
  // module the daemon imports, as the hook does by default, cost more CPU than all the rest of start-up.
  const loaderHook = instrumentedModulesChannel();
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url, loaderHook.registerOptions);

  const remoteConfigured = Boolean(settings.logfireToken || settings.otlpEndpoint);
  const [logfire, { BatchSpanProcessor }, remoteModules] = await Promise.all([
    import("@pydantic/logfire-node"),
    import("@opentelemetry/sdk-trace-base"),
    // The exporters and the metrics SDK are only loaded when something is configured: start-up stays as fast.
    remoteConfigured
      ? Promise.all([import("./remote-exporters.js"), import("@opentelemetry/sdk-metrics"), import("@opentelemetry/resources")])
      : undefined,
  ]);

  const localExporter = new LocalSpanExporter();
  const localProcessor = new BatchSpanProcessor(localExporter, { scheduledDelayMillis: 250, maxExportBatchSize: 512 });
  const producer = new PromGenAiProducer();
  const remote = remoteModules
    ? remoteModules[0].createRemoteExporters(settings, producer, logfire.resolveBaseUrl)
    : { processors: [], metricReaders: [] };
  const processors = [new RedactingSpanProcessor(settings.recordContent), localProcessor, ...remote.processors];
  // Not the global meter provider: only the GenAI metrics /metrics serves are exported, from the same registry.
  const meterProvider = remoteModules
    ? new remoteModules[1].MeterProvider({
        resource: remoteModules[2].resourceFromAttributes({ "service.name": DAEMON_SERVICE_NAME, "service.version": version }),
        readers: remote.metricReaders,
      })
    : undefined;

  const before = { SIGTERM: process.listeners("SIGTERM"), beforeExit: process.listeners("beforeExit") };
  logfire.configure({
    serviceName: DAEMON_SERVICE_NAME,
    serviceVersion: version,
    // Logfire's exporters are mlxm's own, bounded ones (remote-exporters.ts).
    sendToLogfire: false,
    metrics: false,
    console: false,
    additionalSpanProcessors: processors,
    nodeAutoInstrumentations: {
      "@opentelemetry/instrumentation-fs": { enabled: false },
      "@opentelemetry/instrumentation-dns": { enabled: false },
      "@opentelemetry/instrumentation-net": { enabled: false },
      "@opentelemetry/instrumentation-runtime-node": { enabled: false },
      // The server span is the daemon's own (daemon/http/server-span.ts: the same attributes, measured cheaper). The
      // outgoing side traces pulls and Hub calls; the routing pass-through traces its own calls (self-traced-agent.ts).
      "@opentelemetry/instrumentation-http": { disableIncomingRequestInstrumentation: true, ignoreOutgoingRequestHook: throughSelfTracedAgent },
      // Its layer spans are noise (20 per request) and ignoring them still wraps every layer of every request in
      // its bookkeeping; the server span gets its `http.route` from route-template.ts, so it adds nothing.
      "@opentelemetry/instrumentation-express": { enabled: false },
      // Express 5 routes through the `router` package, whose instrumentation adds the same layer spans again.
      "@opentelemetry/instrumentation-router": { enabled: false },
      "@opentelemetry/instrumentation-openai": { captureMessageContent: settings.recordContent },
    },
  });
  // logfire-node's own span processors and id generator, costly on every span for nothing here (sdk-overrides.ts).
  keepOnlySpanProcessors(processors);
  const ids = new TimeOrderedIdGenerator();
  enableDeferredSpans(useIdGenerator(ids) && defaultSampler(env) ? ids : undefined);
  // Every instrumented module is named to the loader before the daemon imports any of them.
  await loaderHook.waitForAllMessagesAcknowledged();
  // logfire-node shuts the SDK down on SIGTERM at once; the daemon drains first and shuts it down itself.
  for (const l of process.listeners("SIGTERM")) if (!before.SIGTERM.includes(l)) process.off("SIGTERM", l);
  for (const l of process.listeners("beforeExit")) if (!before.beforeExit.includes(l)) process.off("beforeExit", l);

  const cliResource = { "service.version": version };
  current = {
    localExporter,
    exporting: { logfire: Boolean(settings.logfireToken), ...(settings.otlpEndpoint ? { otlp: displayUrl(settings.otlpEndpoint) } : {}) },
    forward(records) {
      if (remote.processors.length === 0 || records.length === 0) return;
      const spans = records.map((r) =>
        fromSpanRecord(r, { ...cliResource, ...(typeof r.attributes["process.pid"] === "number" ? { "process.pid": r.attributes["process.pid"] } : {}) }),
      );
      for (const p of remote.processors) p.enqueue(spans);
    },
    exporters: () => remote.processors.map((p) => p.state()),
    attachMetrics: (metrics) => producer.attach(metrics),
    flushLocal: () => localProcessor.forceFlush(),
    async shutdown() {
      const grace = settings.exportGraceMs;
      const [dropped] = await Promise.all([
        Promise.all(remote.processors.map((p) => p.close(grace))).then((counts) => counts.reduce((a, b) => a + b, 0)),
        // A metric reader's shutdown pushes once more; bounded by the same grace.
        meterProvider ? raceTimeout(meterProvider.shutdown({ timeoutMillis: grace }).catch(() => {}), grace) : undefined,
      ]);
      // The remote processors are closed, the local one flushed: what is left is the SDK's own teardown.
      await raceTimeout(logfire.shutdown({ timeoutMillis: grace }).catch(() => {}), grace);
      return dropped;
    },
  };
  return current;
}

interface InstrumentedModulesChannel {
  registerOptions: { data: unknown; transferList: unknown[] };
  waitForAllMessagesAcknowledged(): Promise<void>;
}

/**
 * import-in-the-middle's channel through which `Hook` tells the loader which modules to wrap. It must be the copy
 * the OpenTelemetry instrumentations call `Hook` from (and the loader hook imports), so it is required from there.
 */
function instrumentedModulesChannel(): InstrumentedModulesChannel {
  const fromInstrumentation = createRequire(createRequire(import.meta.url).resolve("@opentelemetry/instrumentation"));
  const iitm = fromInstrumentation("import-in-the-middle") as { createAddHookMessageChannel(): InstrumentedModulesChannel };
  return iitm.createAddHookMessageChannel();
}

function raceTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise((r) => {
      timer = setTimeout(r, ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Whether spans are sampled as the SDK does by default (record a root, follow the parent), which deferred spans
 * assume: not when OTEL_TRACES_SAMPLER or logfire's LOGFIRE_TRACE_SAMPLE_RATE chooses another sampler.
 */
function defaultSampler(env: NodeJS.ProcessEnv): boolean {
  const sampler = env.OTEL_TRACES_SAMPLER?.trim();
  return (!sampler || sampler === "parentbased_always_on") && !env.LOGFIRE_TRACE_SAMPLE_RATE?.trim();
}
