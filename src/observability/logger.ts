/**
 * The daemon's logger (pino). On a terminal it pretty-prints; under launchd/systemd or `daemon start`
 * it writes one JSON object per line, which `mlxm daemon logs` can pretty-print later.
 */
import { pino, type Logger, type LoggerOptions, type DestinationStream } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export interface CreateLoggerOptions {
  level?: string;
  /** Pretty output for humans; default: when stdout is a TTY. */
  pretty?: boolean;
  destination?: DestinationStream;
  /** Extra fields on every line (trace ids come from a mixin added by tracing setup). */
  mixin?: LoggerOptions["mixin"];
}

/** Keys whose values never reach a log line, at any depth pino redacts. */
export const REDACTED_LOG_PATHS = [
  "req.headers.authorization",
  "req.headers['x-api-key']",
  "req.headers['api-key']",
  "headers.authorization",
  "headers['x-api-key']",
  "*.apiKey",
  "*.api_key",
  "*.token",
  "apiKey",
  "token",
];

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const opts: LoggerOptions = {
    level: options.level ?? "info",
    base: { pid: process.pid },
    redact: { paths: REDACTED_LOG_PATHS, censor: "[redacted]" },
    mixin: options.mixin,
  };
  if (options.destination) return pino(opts, options.destination);
  if (usePretty) {
    return pino(opts, pretty({ colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" }));
  }
  return pino(opts, logDestination({ fd: 1 }));
}

/** The most log output waiting for a slow reader of stdout before new lines are dropped. */
export const LOG_BUFFER_MAX_BYTES = 16 * 2 ** 20;

/**
 * Asynchronous JSON lines to `fd`, with a bounded buffer. pino's async destination buffers whatever the reader
 * has not taken yet, without limit by default: a stalled journal or a parent that stops reading its pipe would
 * make the daemon grow by every request's log line. Past `maxLength` bytes new lines are dropped instead.
 */
export function logDestination({ fd, maxLength = LOG_BUFFER_MAX_BYTES }: { fd: number; maxLength?: number }) {
  return pino.destination({ fd, sync: false, maxLength });
}

/** A logger that discards everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
