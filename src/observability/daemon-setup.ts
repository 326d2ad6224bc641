/**
 * The daemon's observability, configured before anything else is imported (bin/run.js calls this for `serve`).
 * `@pydantic/logfire-node` owns the OpenTelemetry SDK and its auto-instrumentations; mlxm adds redaction, the
 * local span store and, when configured, an OTLP/HTTP exporter. With no token and no endpoint nothing leaves
 * the machine and no connection is attempted.
 */
import type { IncomingMessage } from "node:http";
import { register } from "node:module";
import type { Span } from "@opentelemetry/api";
import { resolveConfig } from "../config/config.js";
import { LocalSpanExporter } from "./local-span-exporter.js";
import { RedactingSpanProcessor } from "./redacting-span-processor.js";

export const DAEMON_SERVICE_NAME = "mlxm-daemon";
/** Where instrumentation-http leaves the server span on the request, for the request-id middleware. */
export const SERVER_SPAN = Symbol.for("mlxm.serverSpan");

export interface DaemonObservability {
  localExporter: LocalSpanExporter;
  /** True when spans are also sent to Logfire or an OTLP collector. */
  exporting: { logfire: boolean; otlp?: string };
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
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
  // before express, pino, openai and the rest are first imported.
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);

  const [logfire, { BatchSpanProcessor }, { OTLPTraceExporter }] = await Promise.all([
    import("@pydantic/logfire-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
  ]);

  const localExporter = new LocalSpanExporter();
  const processors = [
    new RedactingSpanProcessor(settings.recordContent),
    new BatchSpanProcessor(localExporter, { scheduledDelayMillis: 250, maxExportBatchSize: 512 }),
  ];
  if (settings.otlpEndpoint) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${settings.otlpEndpoint}/v1/traces` })));
  }

  const before = { SIGTERM: process.listeners("SIGTERM"), beforeExit: process.listeners("beforeExit") };
  logfire.configure({
    serviceName: DAEMON_SERVICE_NAME,
    serviceVersion: version,
    token: settings.logfireToken,
    sendToLogfire: "if-token-present",
    metrics: settings.logfireToken ? undefined : false,
    console: false,
    additionalSpanProcessors: processors,
    nodeAutoInstrumentations: {
      "@opentelemetry/instrumentation-fs": { enabled: false },
      "@opentelemetry/instrumentation-dns": { enabled: false },
      "@opentelemetry/instrumentation-net": { enabled: false },
      "@opentelemetry/instrumentation-runtime-node": { enabled: false },
      "@opentelemetry/instrumentation-http": {
        // Scrapes every few seconds, and the CLI handing over its own span, would drown real traces.
        ignoreIncomingRequestHook: (req: IncomingMessage) =>
          req.url === "/metrics" || (req.method === "POST" && req.url === "/api/traces"),
        requestHook: (span: Span, req: unknown) => {
          if (isIncoming(req)) (req as unknown as Record<symbol, Span>)[SERVER_SPAN] = span;
        },
      },
      // One span per middleware layer is noise (20 spans per request); route handlers and http.route stay.
      "@opentelemetry/instrumentation-express": { ignoreLayersType: ["middleware" as never, "router" as never] },
      // Express 5 routes through the `router` package, whose instrumentation adds the same layer spans again.
      "@opentelemetry/instrumentation-router": { enabled: false },
      "@opentelemetry/instrumentation-openai": { captureMessageContent: settings.recordContent },
    },
  });
  // logfire-node shuts the SDK down on SIGTERM at once; the daemon drains first and shuts it down itself.
  for (const l of process.listeners("SIGTERM")) if (!before.SIGTERM.includes(l)) process.off("SIGTERM", l);
  for (const l of process.listeners("beforeExit")) if (!before.beforeExit.includes(l)) process.off("beforeExit", l);

  current = {
    localExporter,
    exporting: { logfire: Boolean(settings.logfireToken), otlp: settings.otlpEndpoint },
    forceFlush: () => logfire.forceFlush({ timeoutMillis: 5000 }),
    shutdown: () => logfire.shutdown({ timeoutMillis: 5000 }),
  };
  return current;
}

function isIncoming(req: unknown): req is IncomingMessage {
  return typeof req === "object" && req !== null && "socket" in req && !("setHeader" in req);
}
