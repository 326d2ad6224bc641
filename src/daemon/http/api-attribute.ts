/**
 * Marks a request's server span with the API family that served it (`mlxm.api`: anthropic, openai, ollama), so a
 * trace says which protocol a generation came through; the generation span below it is the same for all.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { serverSpanOf } from "./server-span.js";

export function markApi(api: "anthropic" | "openai" | "ollama" | "native"): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    serverSpanOf(req)?.setAttribute("mlxm.api", api);
    next();
  };
}
