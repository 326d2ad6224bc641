/**
 * The bridge between commands and the CLI tracer (configured in bin/run.js before oclif loads). With tracing
 * off there is no tracer: no header is sent and nothing is recorded.
 */
import type { CliTracer, CommandInfo } from "../observability/cli-tracer.js";

let tracer: CliTracer | undefined;

export function setCliTracer(t: CliTracer | undefined): void {
  tracer = t;
}

export function cliTraceHeaders(): Record<string, string> {
  return tracer ? tracer.headers() : {};
}

export function traceCommand(info: CommandInfo): void {
  tracer?.setCommand(info);
}

export function traceCommandFailure(code: string, message: string, exitCode: number): void {
  tracer?.recordFailure(code, message, exitCode);
}
