/**
 * helmet's security headers for an API that answers JSON and event streams, never pages: the ones that protect such a
 * response (OWASP's REST Security Cheat Sheet lists these): `nosniff`, so nothing renders it as a page; no framing
 * (`X-Frame-Options` and CSP `frame-ancestors 'none'`, CSP `default-src 'none'` should anything render it anyway);
 * `Cross-Origin-Resource-Policy: same-origin`, so a web page cannot embed it cross-origin (a `<script src>` at
 * 127.0.0.1). No HSTS on plain HTTP. helmet's headers that only act on a document (opener and origin-agent isolation,
 * referrer policy, DNS prefetching, IE8's download prompt, Flash's policy files, the old XSS filter) are left out: a
 * response that is never a document gains nothing from them, and every streamed response carried their 250 bytes,
 * which each client parses before its first token.
 *
 * helmet decides the headers; they are the same for every request, so its middleware chain runs once at start-up on a
 * recorder, and each request gets the recorded headers in one pass.
 */
import type { RequestHandler, Response } from "express";
import helmet from "helmet";

export const HELMET_OPTIONS: Parameters<typeof helmet>[0] = {
  // Nothing may load or frame it; helmet's other directives (base-uri, form-action, …) only act on a page.
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  xFrameOptions: { action: "deny" },
  strictTransportSecurity: false,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
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
