/**
 * The JSON body parser of the generation APIs, with a limit on how deeply a body may nest. JSON.parse takes any
 * depth, but what comes after recurses: a routed request is serialised again for its upstream (JSON.stringify, in
 * the SDKs and the pass-through), which runs out of stack a few thousand levels down, and that failure read as the
 * upstream's (a 502, retried, then handed to the fallback). Python's json, behind many servers, stops at about 1000
 * levels; so does this, with a 400 in the router's error shape before anything else reads the body. No real schema
 * or conversation comes near it.
 */
import type { RequestHandler } from "express";
import { badRequest } from "../errors.js";
import { jsonBody } from "./json-body.js";

export const MAX_JSON_DEPTH = 1000;

/** Whether `value` nests objects and arrays more than `max` levels deep (the body itself is level 1). Iterative. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length) {
    const [v, depth] = pending.pop()!;
    if (depth > max) return true;
    for (const child of Object.values(v as object)) if (child !== null && typeof child === "object") pending.push([child, depth + 1]);
  }
  return false;
}

/** Any content type read as JSON, as the generation endpoints always have (some clients omit it), up to `limit`. */
export function depthLimitedJson(limit: number | string): RequestHandler {
  const parse = jsonBody(limit);
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      const body: unknown = req.body;
      if (body !== null && typeof body === "object" && nestedDeeperThan(body, MAX_JSON_DEPTH)) {
        return next(badRequest(`the request body is nested more than ${MAX_JSON_DEPTH} levels deep`));
      }
      next();
    });
}
