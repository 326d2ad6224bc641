/**
 * Typed errors of the local engine. They extend the daemon's `HttpError`, so the HTTP layer serialises them with
 * their stable code like any other daemon error.
 */
import { HttpError } from "../errors.js";

/**
 * A model file that must not be handed to llama.cpp: not GGUF, truncated, or missing what llama.cpp needs. Some of
 * these would make llama.cpp abort the whole process rather than fail the load, hence checking before loading.
 */
export class InvalidModelError extends HttpError {
  declare readonly code: "invalid_model";

  constructor(
    message: string,
    /** Every problem found, each a sentence naming the key, tensor or offset at fault. */
    readonly problems: readonly string[] = [message],
    /** The file that was checked, when there was one. Kept out of `details`: clients need not see local paths. */
    readonly path?: string,
  ) {
    super("invalid_model", message, { problems: [...problems] });
    this.name = "InvalidModelError";
  }
}
