/**
 * Marks a request's server span with the API family that served it (`mlxm.api`: anthropic, openai, ollama), so a
 * trace says which protocol a generation came through; the generation span below it is the same for all.
 */
import type { Span } from "@opentelemetry/api";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { SERVER_SPAN } from "../../observability/daemon-setup.js";

export function markApi(api: "anthropic" | "openai" | "ollama" | "native"): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    (req as unknown as Record<symbol, Span | undefined>)[SERVER_SPAN]?.setAttribute("mlxm.api", api);
    next();
  };
}
