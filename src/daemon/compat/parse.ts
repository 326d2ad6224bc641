/**
 * Request-body validation shared by the compat translators: a zod failure becomes a 400 `bad_request` HttpError
 * naming the offending parameter (`messages[0].content`), which each protocol's error handler serialises
 * (OpenAI puts it in `error.param`).
 */
import type { z } from "zod";
import { badRequest } from "../errors.js";

/** Parse `body` with `schema`, or throw a 400 naming the first offending parameter. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("the request body must be a JSON object");
  }
  return parseAt(schema, body, "");
}

/**
 * Parse `value`, found at `at` in the body (`input[2]`; "" for the body itself), with `schema`, or throw a 400 naming
 * the first offending parameter from the body's root (`input[2].call_id`).
 */
export function parseAt<S extends z.ZodType>(schema: S, value: unknown, at: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const param = joinParam(at, paramPath([...issue.path, key]));
    throw badRequest(`Unrecognized request argument supplied: ${param}`, param);
  }
  const param = joinParam(at, paramPath(issue.path));
  throw badRequest(param ? `Invalid value for '${param}': ${issue.message}` : issue.message, param || undefined);
}

const joinParam = (at: string, inner: string) => (!at || !inner ? at + inner : inner.startsWith("[") ? at + inner : `${at}.${inner}`);

/** ["messages", 0, "content"] → "messages[0].content", the form OpenAI uses in `param`. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
