/**
 * Typed errors of MlxmClient. A status and code from the daemon become one of these classes
 * (as openai-node's APIError.generate does), so callers branch on the class or the code, never the text.
 */
import { isBadRequestCode, isErrorCode, type ErrorCode } from "../protocol/errors.js";

export class MlxmError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode | "daemon_unreachable" | "daemon_start_failed" | "already_running" | "interrupted",
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The daemon answered with an error status. */
export class ApiError extends MlxmError {
  constructor(
    message: string,
    readonly status: number,
    code: ErrorCode,
    details?: Record<string, unknown>,
    readonly requestId?: string,
  ) {
    super(message, code, details);
  }

  /** Build the most specific error class for a response. */
  static generate(status: number, body: unknown, requestId?: string): ApiError {
    const obj = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const message = typeof obj.error === "string" ? obj.error : `daemon answered HTTP ${status}`;
    const code: ErrorCode = isErrorCode(obj.code) ? obj.code : codeForStatus(status);
    const details = obj.details && typeof obj.details === "object" ? (obj.details as Record<string, unknown>) : undefined;
    const Cls =
      code === "not_found" || code === "model_not_found" ? NotFoundError
      : isBadRequestCode(code) ? BadRequestError
      : code === "conflict" ? ConflictError
      : code === "unauthorized" || code === "forbidden" ? UnauthorizedError
      : code === "starting" || code === "unavailable" || code === "queue_full" ? UnavailableError
      : ApiError;
    return new Cls(message, status, code, details, requestId);
  }
}

export class NotFoundError extends ApiError {}
export class BadRequestError extends ApiError {}
export class ConflictError extends ApiError {}
export class UnavailableError extends ApiError {}
/** The daemon refused the credential (401) or the action (403). */
export class UnauthorizedError extends ApiError {}

/** Nothing answered at the daemon's address (not running, or autostart disabled). */
export class DaemonUnreachableError extends MlxmError {
  constructor(message: string, readonly address: string) {
    super(message, "daemon_unreachable", { address });
  }
}

/** A background daemon was started but did not become ready; `logPath` holds the reason. */
export class DaemonStartError extends MlxmError {
  constructor(message: string, readonly logPath?: string) {
    super(message, "daemon_start_failed", logPath ? { log: logPath } : undefined);
  }
}

/** A daemon already runs for this MLXM_HOME. */
export class AlreadyRunningError extends MlxmError {
  constructor(message: string, readonly pid: number) {
    super(message, "already_running", { pid });
  }
}

function codeForStatus(status: number): ErrorCode {
  if (status === 404) return "not_found";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 409) return "conflict";
  if (status === 429) return "queue_full";
  if (status === 503) return "unavailable";
  if (status >= 400 && status < 500) return "bad_request";
  return "internal";
}

/** The user interrupted the command (Ctrl-C); whatever the daemon was doing may go on. */
export class InterruptedError extends MlxmError {
  constructor(message: string) {
    super(message, "interrupted");
  }
}
