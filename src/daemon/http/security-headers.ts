/**
 * helmet's security headers for an API that answers JSON, never pages (nosniff, no framing, no referrer, CSP
 * `default-src 'none'`; no HSTS on plain HTTP). helmet decides the headers; they are the same for every request, so
 * its middleware chain (a dozen functions, each setting one header) runs once at start-up on a recorder, and each
 * request gets the recorded headers in one pass.
 */
import type { RequestHandler, Response } from "express";
import helmet from "helmet";

export const HELMET_OPTIONS: Parameters<typeof helmet>[0] = {
  contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  strictTransportSecurity: false,
};

type HeaderChange = [name: string, value: string | undefined];

export function securityHeaders(): RequestHandler {
  const changes = recordHelmet();
  return (_req, res, next) => {
    for (const [name, value] of changes) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}

function recordHelmet(): HeaderChange[] {
  const changes: HeaderChange[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => changes.push([name, String(value)]),
    removeHeader: (name: string) => changes.push([name, undefined]),
  };
  let done = false;
  const middleware = helmet(HELMET_OPTIONS);
  middleware({} as never, recorder as unknown as Response, (err?: unknown) => {
    if (err) throw err;
    done = true;
  });
  // helmet sets constant headers synchronously; if a version ever depended on the request, this must not hide it.
  if (!done) throw new Error("helmet did not finish synchronously: its headers cannot be computed once");
  return changes;
}
