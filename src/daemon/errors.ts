/**
 * Typed errors inside the daemon. Each carries a stable code from `src/protocol/errors.ts`; the HTTP layer
 * turns it into the caller's protocol (native `{error, code}`, OpenAI's or Anthropic's shape).
 */
import { STATUS_OF, type ErrorCode } from "../protocol/errors.js";

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers, e.g. Retry-After on 429/503. */
    readonly headers?: Record<string, string>,
    /** The request parameter at fault, for OpenAI's `param`. */
    readonly param?: string,
  ) {
    super(message);
    this.name = "HttpError";
    this.status = STATUS_OF[code];
  }
}

export const badRequest = (message: string, param?: string) => new HttpError("bad_request", message, undefined, undefined, param);

/**
 * A 400 that is this backend's, not the request's: the local model cannot take an input (images, fill-in-the-middle,
 * token-id or shortened embeddings) that another backend of the name may. The router tries the next backend (a route
 * of the name, its fallback) before answering it; with none left, the caller gets it as any bad request.
 */
export class UnsupportedInputError extends HttpError {
  /** The backend declined the input rather than failed: its span records it without ERROR (`recordError`). */
  readonly declined = true;

  constructor(message: string, param?: string) {
    super("bad_request", message, undefined, undefined, param);
    this.name = "UnsupportedInputError";
  }
}
export const notFound = (message: string) => new HttpError("not_found", message);
/** `details` may say the sizes (`prompt_tokens`, `context_size`), for protocols whose clients read them from the message. */
export const contextLengthExceeded = (message: string, param?: string, details?: { prompt_tokens: number; context_size: number }) =>
  new HttpError("context_length_exceeded", message, details, undefined, param);
export const modelNotFound = (model: string) => new HttpError("model_not_found", `model "${model}" not found`, { model }, undefined, "model");
