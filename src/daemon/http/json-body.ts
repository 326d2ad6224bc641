/**
 * The JSON body parser of mlxm's own endpoints, one per route (a parser on a parent router would parse first and
 * its limit would win). Bodies without a content type are JSON too: curl and scripts often omit it, and browsers,
 * which cannot omit it, are refused by the Origin check before any body is read.
 */
import express, { type RequestHandler } from "express";

export function jsonBody(limit: number | string): RequestHandler {
  return express.json({ limit, type: (req) => !req.headers["content-type"] || /\bjson\b/i.test(String(req.headers["content-type"])) });
}
