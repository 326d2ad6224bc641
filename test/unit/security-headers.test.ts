import { expect } from "chai";
import express from "express";
import helmet from "helmet";
import type { AddressInfo } from "node:net";
import { HELMET_OPTIONS, securityHeaders } from "../../src/daemon/http/security-headers.js";

/** The headers a GET to an app with `middleware` in front of a JSON route answers with (minus the volatile ones). */
async function headersWith(middleware: express.RequestHandler): Promise<Record<string, string>> {
  const app = express();
  app.use(middleware);
  app.get("/", (_req, res) => res.json({ ok: true }));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.text();
    const headers = Object.fromEntries(res.headers);
    delete headers.date;
    delete headers.etag;
    return headers;
  } finally {
    server.close();
  }
}

describe("security headers", () => {
  it("are exactly the headers helmet sets when it runs per request", async () => {
    const once = await headersWith(securityHeaders());
    const perRequest = await headersWith(helmet(HELMET_OPTIONS));
    expect(once).to.deep.equal(perRequest);
    expect(once["x-content-type-options"]).to.equal("nosniff");
    expect(once["content-security-policy"]).to.contain("default-src 'none'");
    expect(once["x-powered-by"]).to.equal(undefined);
  });

  it("are those that protect an API's answers, not those that only act on a page", async () => {
    const headers = await headersWith(securityHeaders());
    expect(headers).to.include({
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "cross-origin-resource-policy": "same-origin",
      "content-security-policy": "default-src 'none';frame-ancestors 'none'",
    });
    for (const documentOnly of ["x-dns-prefetch-control", "x-download-options", "x-permitted-cross-domain-policies", "x-xss-protection", "origin-agent-cluster", "cross-origin-opener-policy", "referrer-policy", "strict-transport-security"]) {
      expect(headers, documentOnly).not.to.have.property(documentOnly);
    }
  });
});
