/**
 * The JSON body parser of mlxm's own endpoints, one per route (a parser on a parent router would parse first and
 * its limit would win). Every body is read as JSON whatever its content type, as Ollama does and as the generation
 * endpoints here do: `curl -d '{…}'` sends `application/x-www-form-urlencoded`, and Ollama's documented examples are
 * exactly that. Browsers, whose simple requests are the reason to care, are refused by the Origin check before any
 * body is read.
 */
import express, { type RequestHandler } from "express";

export function jsonBody(limit: number | string): RequestHandler {
  return express.json({ limit, type: () => true });
}
