/**
 * The CLI's tracer. The CLI must start fast, so instead of the OpenTelemetry SDK (~1.2 s to import) it keeps one
 * root span per command by hand: W3C ids, a `traceparent` header for every daemon request (so the daemon's spans
 * are its children), and at the end it hands the span to the daemon's local store. When no daemon answers, the
 * span waits in a spool file under MLXM_HOME that the daemon ingests when it next starts.
 */
import crypto from "node:crypto";
import { appendToSpool, SPOOL_MAX_BYTES } from "../home/spool.js";
import type { SpanRecord } from "../protocol/traces.js";
import { isSecretKey, REDACTED, scrubText } from "./redact.js";

export const CLI_SERVICE_NAME = "mlxm-cli";

/** Hands finished spans to the daemon at `baseUrl`, with the command's credential; rejects when it could not. */
export type SpanSender = (baseUrl: string, spans: SpanRecord[], apiKey: string | undefined) => Promise<void>;

export interface CliTracerOptions {
  /** Default: `MlxmClient.ingestSpans` with a short timeout (tracing must not hold a command up). */
  send?: SpanSender;
  /** Spool size cap; default SPOOL_MAX_BYTES. */
  spoolMaxBytes?: number;
}

/** Through the client like every other daemon call; imported late because most commands never get this far first. */
const sendThroughClient: SpanSender = async (baseUrl, spans, apiKey) => {
  const { MlxmClient } = await import("../client/mlxm-client.js");
  await new MlxmClient({ baseUrl, timeoutMs: 1000, ...(apiKey ? { apiKey } : {}) }).ingestSpans(spans);
};

export interface CommandInfo {
  id: string;
  flags: Record<string, unknown>;
  baseUrl: string;
  home: string;
  /**
   * What the command authenticates with, read when the span is sent: once a key exists the daemon refuses span
   * uploads without one too, and the command's own span would be lost (left in the spool until the next start).
   */
  credential?: () => string | undefined;
}

export class CliTracer {
  readonly traceId = crypto.randomBytes(16).toString("hex");
  readonly spanId = crypto.randomBytes(8).toString("hex");
  private readonly startMs = performance.timeOrigin + performance.now();
  private command: CommandInfo | undefined;
  private failure: { code: string; message: string; exitCode: number } | undefined;
  private daemonContacted = false;
  private finished = false;

  constructor(private readonly options: CliTracerOptions = {}) {}

  /** W3C trace context for a request to the daemon. */
  headers(): Record<string, string> {
    this.daemonContacted = true;
    return { traceparent: `00-${this.traceId}-${this.spanId}-01` };
  }

  /** Called by the base command once oclif has parsed the command: only commands are traced, not --version. */
  setCommand(info: CommandInfo): void {
    this.command = info;
  }

  recordFailure(code: string, message: string, exitCode: number): void {
    this.failure = { code, message, exitCode };
  }

  /** The finished root span, or undefined when no command ran. */
  toRecord(error?: unknown): SpanRecord | undefined {
    if (!this.command) return undefined;
    const endMs = performance.timeOrigin + performance.now();
    const attributes: SpanRecord["attributes"] = {
      "mlxm.command": this.command.id,
      "process.pid": process.pid,
    };
    for (const [name, value] of Object.entries(this.command.flags)) {
      if (value === undefined) continue;
      const key = `mlxm.flag.${name}`;
      attributes[key] = isSecretKey(name) ? REDACTED : typeof value === "string" ? scrubText(value) : typeof value === "number" || typeof value === "boolean" ? value : JSON.stringify(value);
    }
    const exitError = error as { oclif?: { exit?: number }; message?: string } | undefined;
    const exitCode = this.failure?.exitCode ?? exitError?.oclif?.exit ?? (error ? 1 : 0);
    attributes["process.exit.code"] = exitCode;
    const failed = exitCode !== 0;
    if (failed) attributes["error.type"] = this.failure?.code ?? "failure";
    return {
      trace_id: this.traceId,
      span_id: this.spanId,
      parent_span_id: null,
      name: `mlxm ${this.command.id}`,
      service: CLI_SERVICE_NAME,
      kind: 0,
      start_ms: this.startMs,
      duration_ms: endMs - this.startMs,
      status_code: failed ? 2 : 1,
      status_message: failed ? scrubText(this.failure?.message ?? exitError?.message ?? "failed") : null,
      attributes,
      events: [],
    };
  }

  /** End the root span and hand it over. Never throws: tracing must not change a command's outcome. */
  async finish(error?: unknown): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const record = this.toRecord(error);
    if (!record || !this.command) return;
    try {
      if (this.daemonContacted && (await this.send(record))) return;
      this.spool(record);
    } catch {
      /* tracing is best effort */
    }
  }

  private async send(record: SpanRecord): Promise<boolean> {
    try {
      await (this.options.send ?? sendThroughClient)(this.command!.baseUrl, [record], this.command!.credential?.());
      return true;
    } catch {
      return false;
    }
  }

  private spool(record: SpanRecord): void {
    appendToSpool(this.command!.home, record, this.options.spoolMaxBytes ?? SPOOL_MAX_BYTES);
  }
}
