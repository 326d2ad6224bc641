/**
 * Deadlines for every generation, whoever serves it (local engine or an upstream): a whole-request limit and a
 * limit on the silence between two events (the wait for the first token included). A decorator over the model
 * service, so every protocol's routes get them; when one passes, generation is aborted (its sequence freed) and
 * the caller gets a 504 `timeout`, in-band when the stream has already started.
 */
import type { ChatEvent } from "./chat.js";
import type { ModelService } from "./model-service.js";
import { HttpError } from "../errors.js";

export interface DeadlineLimits {
  /** 0: no limit. */
  requestMs: number;
  tokenMs: number;
}

/** `inner` with deadlines on chat, complete and embed; every other member is `inner`'s own. */
export function withDeadlines<S extends ModelService>(inner: S, limits: DeadlineLimits): S {
  if (!limits.requestMs && !limits.tokenMs) return inner;
  const overrides: Partial<ModelService> = {
    chat: (request, signal) => guardStream((s) => inner.chat(request, s), signal, limits),
    complete: (request, signal) => guardStream((s) => inner.complete(request, s), signal, limits),
    embed: async (request, signal) => {
      const deadline = new Deadline(signal, limits.requestMs);
      try {
        return await inner.embed(request, deadline.signal);
      } catch (err) {
        throw deadline.error() ?? err;
      } finally {
        deadline.clear();
      }
    },
  };
  // A Proxy rather than a copy: methods added to the service later pass through bound to the real object.
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof ModelService];
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function* guardStream(
  run: (signal: AbortSignal) => AsyncIterable<ChatEvent>,
  signal: AbortSignal,
  limits: DeadlineLimits,
): AsyncGenerator<ChatEvent> {
  const deadline = new Deadline(signal, limits.requestMs);
  try {
    deadline.idle(limits.tokenMs);
    for await (const event of run(deadline.signal)) {
      const expired = deadline.error();
      if (expired) throw expired;
      deadline.idle(limits.tokenMs);
      yield event;
    }
    const expired = deadline.error();
    if (expired) throw expired;
  } catch (err) {
    throw deadline.error() ?? err;
  } finally {
    deadline.clear();
  }
}

/** An abort signal that follows the caller's and fires on its own when a limit passes. */
class Deadline {
  private readonly controller = new AbortController();
  private expired: HttpError | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly onParentAbort = () => this.controller.abort(this.parent.reason);

  constructor(private readonly parent: AbortSignal, requestMs: number) {
    if (parent.aborted) this.controller.abort(parent.reason);
    else parent.addEventListener("abort", this.onParentAbort, { once: true });
    if (requestMs > 0) this.requestTimer = setTimeout(() => this.expire(`the request ran longer than ${requestMs} ms (MLXM_REQUEST_TIMEOUT)`), requestMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** (Re)start the between-events limit. */
  idle(ms: number): void {
    if (ms <= 0 || this.expired) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.expire(`no token for ${ms} ms (MLXM_TOKEN_TIMEOUT)`), ms);
  }

  error(): HttpError | undefined {
    return this.expired;
  }

  clear(): void {
    clearTimeout(this.requestTimer);
    clearTimeout(this.idleTimer);
    this.parent.removeEventListener("abort", this.onParentAbort);
  }

  private expire(message: string): void {
    if (this.expired || this.controller.signal.aborted) return;
    this.expired = new HttpError("timeout", message);
    this.controller.abort(this.expired);
  }
}
