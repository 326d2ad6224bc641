/**
 * Routing loops. A route may lead back to the daemon itself (`--provider mlxm --base-url <its own address>`), or
 * through other mlxm daemons to one a request already passed. Each hop retries, so one request used to multiply
 * into thousands of connections. Every request mlxm sends upstream says which daemons it passed (`x-mlxm-via`, each
 * daemon's random id for this run); a daemon that finds its own id there, or a chain longer than any real setup,
 * refuses at once and tells the sender not to retry.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { HttpError } from "../errors.js";
import { currentRecord } from "./request-record.js";

export const VIA_HEADER = "x-mlxm-via";
/** This daemon, for this run: random, so it says nothing about the machine. */
const SELF = randomBytes(8).toString("hex");
/** More hops than any fleet of daemons in front of each other needs. */
const MAX_HOPS = 8;

/** The daemons a request says it passed, from its `x-mlxm-via` header. */
export function viaOf(headers: IncomingHttpHeaders): string[] {
  const raw = headers[VIA_HEADER];
  const value = Array.isArray(raw) ? raw.join(",") : raw;
  return value ? value.split(",").map((s) => s.trim()).filter(Boolean) : [];
}

/** The refusal for a request that came round again (or through too many daemons); undefined when it may go on. */
export function loopRefusal(via: readonly string[]): HttpError | undefined {
  if (!via.includes(SELF) && via.length < MAX_HOPS) return undefined;
  const why = via.includes(SELF) ? "this request already passed through this daemon" : `this request passed ${via.length} mlxm daemons`;
  return new HttpError("loop_detected", `routing loop: ${why}; check the routes' base URLs (mlxm route ls)`, undefined, { "x-should-retry": "false" });
}

/** The `x-mlxm-via` header for a request sent upstream while serving the current one. */
export function onwardVia(): Record<string, string> {
  return { [VIA_HEADER]: [...(currentRecord()?.via ?? []), SELF].join(",") };
}
