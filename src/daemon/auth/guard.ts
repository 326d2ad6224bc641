/**
 * The daemon's front door, one middleware per protocol shape (native, OpenAI, Anthropic), each refusing in its
 * caller's shape: a Host that is not the daemon's own (DNS rebinding), a browser Origin not allowed (a web page
 * POSTing `text/plain` to 127.0.0.1), then a missing or wrong credential once keys are required. CORS answers for
 * allowed origins come from the `cors` middleware.
 */
import cors from "cors";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { HttpError } from "../errors.js";
import type { ProtocolShape } from "./error-shapes.js";
import type { KeyVerifier, Principal } from "./key-verifier.js";
import { hostMatcher, originMatcher } from "./origins.js";

export interface GuardOptions {
  verifier: KeyVerifier;
  /** The address the daemon binds: loopback stays open until a key exists; anything else always needs a key. */
  boundHost: string;
  loopback: boolean;
  /** Extra allowed origins (MLXM_ORIGINS). */
  origins: readonly string[];
}

/** Paths any caller may read: Ollama clients probe the version before anything else. */
const OPEN_PATHS = new Set(["/api/version"]);

declare module "express-serve-static-core" {
  interface Request {
    /** Who the request authenticated as; undefined when the daemon is open (loopback, no keys). */
    principal?: Principal;
  }
}

/** Build the guard once per daemon; `forShape` gives the middleware of one protocol shape. */
export function createGuard(options: GuardOptions) {
  const hostAllowed = hostMatcher(options.boundHost);
  const originAllowed = originMatcher(options.origins);
  const corsHandler = cors((req, cb) =>
    cb(null, {
      origin: (origin, ok) => ok(null, origin !== undefined && originAllowed(origin)),
      allowedHeaders: allowedHeaders(req.headers["access-control-request-headers"]),
      maxAge: 600,
    }),
  );

  return {
    forShape(shape: ProtocolShape): RequestHandler {
      return (req: Request, res: Response, next: NextFunction) => {
        if (res.locals.guarded) return next();
        res.locals.guarded = true;
        const refuse = (code: "forbidden" | "unauthorized", message: string) => {
          const err = new HttpError(code, message);
          if (code === "unauthorized") res.setHeader("www-authenticate", 'Bearer realm="mlxm"');
          res.status(err.status).json(shape(err));
        };
        if (!hostAllowed(req.headers.host)) return refuse("forbidden", `host "${req.headers.host}" is not this daemon's address`);
        const origin = req.headers.origin;
        if (origin !== undefined && !originAllowed(origin)) {
          return refuse("forbidden", `origin "${origin}" is not allowed; add it to MLXM_ORIGINS to let that page call the daemon`);
        }
        const admit = (err?: unknown) => {
          if (err) return next(err);
          const presented = credentialOf(req);
          const principal = presented === undefined ? undefined : options.verifier.verify(presented);
          if (principal) {
            req.principal = principal;
            return next();
          }
          const required = !options.loopback || options.verifier.hasKeys();
          if (presented !== undefined && required) return refuse("unauthorized", "invalid API key");
          if (!required || (req.method === "GET" && OPEN_PATHS.has(req.originalUrl.split("?")[0]!))) return next();
          return refuse("unauthorized", "an API key is required: send it as `Authorization: Bearer <key>` or `x-api-key`");
        };
        // CORS only concerns a request with an Origin (and preflights): for the rest the `cors` middleware would only
        // add `Vary: Origin`, after running its whole option chain on every API call.
        if (origin === undefined && req.method !== "OPTIONS") {
          res.vary("Origin");
          return admit();
        }
        corsHandler(req, res, admit);
      };
    },
  };
}

const ALLOWED_HEADERS = [
  "authorization",
  "x-api-key",
  "content-type",
  "anthropic-version",
  "anthropic-beta",
  // The Anthropic SDK's opt-in to browser use; it sends it on every request from a page.
  "anthropic-dangerous-direct-browser-access",
  "traceparent",
  "openai-organization",
  "openai-project",
];

/**
 * The request headers a preflight allows. The SDKs send `x-stainless-*` telemetry headers, and CORS has no prefix
 * wildcard (a listed "x-stainless-*" matched no header, so every SDK call from a page failed its preflight): the
 * ones the preflight asks for are echoed.
 */
export function allowedHeaders(requested: string | undefined): string[] {
  const stainless = (requested ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => /^x-stainless-[a-z0-9-]+$/.test(h));
  return [...ALLOWED_HEADERS, ...new Set(stainless)];
}

/** The key a request carries, in `Authorization: Bearer` (OpenAI, Ollama) or `x-api-key` (Anthropic). */
export function credentialOf(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const key = req.headers["x-api-key"];
  return typeof key === "string" && key.length > 0 ? key : undefined;
}

/**
 * Only the admin token (the local CLI) may do `what`: manage keys and routes (a route decides where prompts go and
 * which of the daemon's environment variables is sent as a key) and import files from the daemon's disk. An API
 * key is for using models, not for reconfiguring the daemon.
 */
export function requireAdmin(what: string, command: string): RequestHandler {
  return (req, _res, next) => {
    next(req.principal?.kind === "admin" ? undefined : new HttpError("forbidden", `${what} needs the local admin token (run \`${command}\` on the daemon's machine)`));
  };
}
