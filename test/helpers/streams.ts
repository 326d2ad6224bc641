/** Small helpers for testing stream translators: feed events in, collect what comes out, catch a 400's param. */
import { expect } from "chai";
import type { ChatEvent } from "../../src/daemon/core/chat.js";
import { HttpError } from "../../src/daemon/errors.js";

export async function* replay(events: ChatEvent[]): AsyncGenerator<ChatEvent> {
  for (const e of events) yield e;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The `param` of the 400 that `fn` throws (fails the test when it throws anything else or nothing). */
export function paramOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    expect((err as HttpError).status).to.equal(400);
    return (err as HttpError).param;
  }
  throw new Error("expected a 400");
}
