/**
 * Typed errors of the Hugging Face pull machinery. They extend the daemon's HttpError, so each carries a stable
 * protocol code (and HTTP status) plus machine-readable details, and the HTTP layer serialises them like any other
 * daemon error; callers branch on the class or code, never the text. No message or detail contains the Hub token.
 */
import type { ErrorCode } from "../../protocol/errors.js";
import { HttpError } from "../errors.js";
import { formatBinaryBytes } from "../../config/parse.js";

/** Base class: a coded error with details for the API body (`{ error, code, details }`). */
export class HubError extends HttpError {
  constructor(message: string, code: ErrorCode, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(code, message, details);
    this.name = new.target.name;
    if (options && "cause" in options) this.cause = options.cause;
  }
}

/** A model reference or pull option that cannot be parsed. */
export class InvalidModelRefError extends HubError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, "bad_request", details);
  }
}

/** The repository, revision or file does not exist (or is private and no usable token was sent). */
export class RepoNotFoundError extends HubError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, "not_found", details);
  }
}

/** A gated repository: no token (unauthorized) or a token without access to it (forbidden). */
export class GatedRepoError extends HubError {
  constructor(message: string, code: "unauthorized" | "forbidden", details: Record<string, unknown>) {
    super(message, code, details);
  }
}

/** No GGUF file matches the request; `details.available` lists the quantisations the repo does have. */
export class GgufSelectionError extends HubError {}

/** The Hub or its CDN failed (5xx, network, unexpected answer). `retryable` tells the downloader to try again. */
export class UpstreamError extends HubError {
  constructor(
    message: string,
    readonly retryable: boolean,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, "upstream_error", details, options);
  }
}

/** Downloaded bytes do not hash to the digest the Hub published; the bad data has been deleted. */
export class DigestMismatchError extends HubError {
  constructor(file: string, expected: string, actual: string) {
    super(`${file}: sha256 digest mismatch (expected ${expected}, got ${actual}); the corrupt download was deleted`,
      "upstream_error", { file, expected, actual });
  }
}

/** Not enough free disk space for the bytes still to download. */
export class InsufficientStorageError extends HubError {
  constructor(needed: number, free: number, path: string) {
    super(`not enough disk space in ${path}: need ${formatBinaryBytes(needed)}, ${formatBinaryBytes(free)} free`,
      "insufficient_storage", { needed, free, path });
  }
}

/** The pull was cancelled (`PullManager.cancel`, or the downloader's signal). The partial file is kept unless discarded. */
export class PullCancelledError extends HubError {
  constructor(message = "pull cancelled", details?: Record<string, unknown>) {
    super(message, "cancelled", details);
  }
}

/** The daemon is shutting down: the pull stops but stays unfinished, and resumes at the next start. */
export class PullInterruptedError extends HubError {
  constructor(message = "pull interrupted: the daemon is shutting down; it resumes at the next start") {
    super(message, "unavailable");
  }
}
