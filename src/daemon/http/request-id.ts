/**
 * Every response carries `x-request-id` (and, for Anthropic's API, `request-id`): the caller's own id when it sent a
 * sane one, else a new one.
 * The id is also put on the request's server span, so a user can go from a client error to its trace.
 */
import crypto from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { serverSpanOf } from "./server-span.js";

declare module "express-serve-static-core" {
  interface Request {
    requestId: string;
  }
}

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.header("x-request-id");
  req.requestId = incoming && SANE_ID.test(incoming) ? incoming : `req_${crypto.randomUUID().replace(/-/g, "")}`;
  res.setHeader("x-request-id", req.requestId);
  // Anthropic's name for it, which its SDK reads as `_request_id` (OpenAI's SDK reads x-request-id).
  if (req.path === "/v1/messages" || req.path.startsWith("/v1/messages/")) res.setHeader("request-id", req.requestId);
  serverSpanOf(req)?.setAttribute("mlxm.request_id", req.requestId);
  next();
}
