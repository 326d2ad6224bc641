import { expect } from "chai";
import fs from "node:fs";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { Ollama } from "ollama";
import { MlxmClient } from "../../src/client/mlxm-client.js";
import { UnauthorizedError } from "../../src/client/errors.js";
import { resolveConfig } from "../../src/config/config.js";
import { adminTokenPath } from "../../src/daemon/auth/admin-token.js";
import { InsecureBindError, startDaemon } from "../../src/daemon/main.js";
import { silentLogger } from "../../src/observability/logger.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { makeTempHome } from "../helpers/temp-home.js";

describe("authentication", () => {
  let d: TestDaemon;
  let admin: MlxmClient;
  before(async () => {
    d = await startTestDaemon();
    admin = new MlxmClient({ baseUrl: d.baseUrl, apiKey: d.adminToken });
  });
  after(async () => d.stop());

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${d.baseUrl}${path}`, { headers });

  it("writes the admin token 0600 in MLXM_HOME", () => {
    expect(fs.statSync(adminTokenPath(d.home)).mode & 0o777).to.equal(0o600);
    expect(d.adminToken).to.match(/^mlxm-admin-[A-Za-z0-9_-]{40,}$/);
  });

  it("stays open on loopback while no key exists, but keys are managed only with the admin token", async () => {
    expect((await get("/api/tags")).status).to.equal(200);
    expect((await get("/v1/models", { authorization: "Bearer whatever-ollama-sends" })).status).to.equal(200);
    const anonymous = await fetch(`${d.baseUrl}/api/keys`, { method: "POST", body: "{}" });
    expect(anonymous.status).to.equal(403);
    expect(await anonymous.json()).to.include({ code: "forbidden" });
  });

  describe("once a key exists", () => {
    let key: string;
    before(async () => {
      const created = await admin.createKey("ci");
      key = created.key;
      expect(created).to.include({ name: "ci", prefix: key.slice(0, 9), last_used_at: null, revoked_at: null });
    });

    it("refuses every API without a key, each in its caller's shape", async () => {
      const native = await get("/api/tags");
      expect(native.status).to.equal(401);
      expect(native.headers.get("www-authenticate")).to.match(/^Bearer/);
      expect(await native.json()).to.deep.equal({ error: "an API key is required: send it as `Authorization: Bearer <key>` or `x-api-key`", code: "unauthorized" });
      for (const path of ["/api/ps", "/api/traces", "/metrics", "/api/health"]) expect((await get(path)).status, path).to.equal(401);
      const spans = await fetch(`${d.baseUrl}/api/traces`, { method: "POST", body: JSON.stringify({ spans: [] }) });
      expect(spans.status).to.equal(401);

      const openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "mlxm-wrong", maxRetries: 0 });
      const err = await openai.models.list().then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(OpenAI.AuthenticationError);
      expect((err as InstanceType<typeof OpenAI.AuthenticationError>).error).to.deep.equal({ message: "invalid API key", type: "invalid_request_error", param: null, code: "invalid_api_key" });

      const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "mlxm-wrong", maxRetries: 0 });
      const aerr = await anthropic.messages.create({ model: "mlxm-tiny", max_tokens: 4, messages: [{ role: "user", content: "hi" }] }).then(() => undefined, (e: unknown) => e);
      expect(aerr).to.be.instanceOf(Anthropic.AuthenticationError);
      expect((aerr as InstanceType<typeof Anthropic.AuthenticationError>).error).to.deep.equal({ type: "error", error: { type: "authentication_error", message: "invalid API key" } });

      // Ollama clients probe the version first: it stays readable.
      expect((await get("/api/version")).status).to.equal(200);
    });

    it("accepts the key as Bearer and as x-api-key on every API, and records its use", async () => {
      for (const path of ["/api/tags", "/api/ps", "/api/traces", "/metrics", "/v1/models"]) {
        expect((await get(path, { authorization: `Bearer ${key}` })).status, path).to.equal(200);
        expect((await get(path, { "x-api-key": key })).status, path).to.equal(200);
      }
      const openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: key, maxRetries: 0 });
      expect((await openai.models.list()).data.map((m) => m.id)).to.include("mlxm-tiny");
      const ollama = new Ollama({ host: d.baseUrl, headers: { authorization: `Bearer ${key}` } });
      expect((await ollama.list()).models.map((m) => m.name)).to.include("mlxm-tiny");
      const [listed] = (await admin.keys()).keys;
      expect(listed!.name).to.equal("ci");
      expect(listed!.last_used_at).to.be.a("string");
    });

    it("lets the admin token through (the CLI) but not an API key into key management", async () => {
      expect((await admin.ps()).models).to.be.an("array");
      const asKey = new MlxmClient({ baseUrl: d.baseUrl, apiKey: key });
      const err = await asKey.createKey("sneaky").then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(UnauthorizedError);
      expect((err as UnauthorizedError).status).to.equal(403);
      const missing = await new MlxmClient({ baseUrl: d.baseUrl }).list().then(() => undefined, (e: unknown) => e);
      expect(missing).to.be.instanceOf(UnauthorizedError);
    });

    it("keeps routes and imports (where prompts and the daemon's keys go, files on its disk) to the admin token", async () => {
      const asKey = new MlxmClient({ baseUrl: d.baseUrl, apiKey: key });
      // A key holder could otherwise send a daemon's OPENAI_API_KEY, or every prompt, to a server of theirs.
      const steal = { pattern: "*", provider: "openai" as const, base_url: "http://127.0.0.1:1/v1", prefer_remote: true };
      const refused = await asKey.addRoute(steal).then(() => undefined, (e: unknown) => e as UnauthorizedError);
      expect(refused?.status).to.equal(403);
      expect((await asKey.removeRoute("*").then(() => undefined, (e: unknown) => e as UnauthorizedError))?.status).to.equal(403);
      const probe = await fetch(`${d.baseUrl}/api/import`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ path: "/etc/shadow" }) });
      expect(probe.status).to.equal(403);
      expect((await asKey.routes()).routes).to.deep.equal([]);
      await admin.addRoute({ ...steal, pattern: "ok-route" });
      expect((await asKey.routes()).routes.map((r) => r.pattern)).to.deep.equal(["ok-route"]);
    });

    it("refuses a revoked key at once and keeps names unique", async () => {
      const second = await admin.createKey();
      expect(second.name).to.equal("key-1");
      expect((await get("/api/tags", { "x-api-key": second.key })).status).to.equal(200);
      expect(await admin.revokeKey("key-1")).to.deep.equal({ revoked: "key-1" });
      expect((await get("/api/tags", { "x-api-key": second.key })).status).to.equal(401);
      const dup = await admin.createKey("ci").then(() => undefined, (e: unknown) => e);
      expect((dup as { status?: number }).status).to.equal(409);
      const gone = await admin.revokeKey("key-1").then(() => undefined, (e: unknown) => e);
      expect((gone as { status?: number }).status).to.equal(404);
    });

    it("ends an open trace follow when its key is revoked, with an error line", async () => {
      const { key: followKey } = await admin.createKey("follower");
      const res = await fetch(`${d.baseUrl}/api/traces/follow`, { headers: { authorization: `Bearer ${followKey}` } });
      expect(res.status).to.equal(200);
      await admin.revokeKey("follower");
      // A new trace reaches the feed (a CLI command's span, sent as the CLI sends it); the revoked key's stream stops.
      let n = 0;
      const span = () => {
        const id = (++n).toString(16).padStart(16, "0");
        return { trace_id: id.padStart(32, "a"), span_id: id, parent_span_id: null, name: "mlxm ls", service: "mlxm-cli", kind: 0, start_ms: Date.now(), duration_ms: 1, status_code: 1, status_message: null, attributes: {}, events: [] };
      };
      const poke = setInterval(() => {
        void fetch(`${d.baseUrl}/api/traces`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ spans: [span()] }) });
      }, 300);
      try {
        const text = await res.text();
        const last = JSON.parse(text.trim().split("\n").at(-1)!) as { code?: string };
        expect(last.code).to.equal("unauthorized");
      } finally {
        clearInterval(poke);
      }
    });

    it("stays closed when the last key is revoked: the revoked key and no key are both refused", async () => {
      await admin.revokeKey("ci");
      expect((await get("/api/tags", { authorization: `Bearer ${key}` })).status).to.equal(401);
      expect((await get("/api/tags")).status).to.equal(401);
      expect((await admin.ps()).models).to.be.an("array");
    });
  });
});

describe("binding beyond loopback", () => {
  it("refuses to start with no API key, with an explanation", async () => {
    const { home, cleanup } = makeTempHome();
    try {
      const config = resolveConfig({}, { MLXM_HOME: home, MLXM_HOST: "0.0.0.0:0" });
      const err = await startDaemon({ config, logger: silentLogger(), version: "0.0.0-test" }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(InsecureBindError);
      expect((err as Error).message).to.match(/no API key exists.*mlxm key create/);
    } finally {
      cleanup();
    }
  });
});

describe("browser callers", () => {
  let d: TestDaemon;
  before(async () => (d = await startTestDaemon({ MLXM_ORIGINS: "https://*.example.com" })));
  after(async () => d.stop());

  it("refuses a cross-origin text/plain POST before it reaches the model", async () => {
    const res = await fetch(`${d.baseUrl}/api/generate`, {
      method: "POST",
      headers: { origin: "https://evil.test", "content-type": "text/plain" },
      body: JSON.stringify({ model: "mlxm-tiny", prompt: "hi", stream: false }),
    });
    expect(res.status).to.equal(403);
    expect(await res.json()).to.include({ code: "forbidden" });
    const v1 = await fetch(`${d.baseUrl}/v1/chat/completions`, { method: "POST", headers: { origin: "null" }, body: "{}" });
    expect(v1.status).to.equal(403);
    expect(((await v1.json()) as { error: { code: string } }).error.code).to.equal("forbidden");
  });

  it("answers CORS for allowed origins only", async () => {
    const preflight = await fetch(`${d.baseUrl}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get("access-control-allow-origin")).to.equal("https://app.example.com");
    const local = await fetch(`${d.baseUrl}/api/tags`, { headers: { origin: "http://localhost:5173" } });
    expect(local.status).to.equal(200);
    expect(local.headers.get("access-control-allow-origin")).to.equal("http://localhost:5173");
    expect(local.headers.get("x-content-type-options")).to.equal("nosniff");
  });

  it("allows in its preflight every header the official SDKs send from a page (a listed 'x-stainless-*' matched none)", async () => {
    // The headers each SDK really sends, captured from its fetch; those a browser would ask the preflight about.
    const sent: Record<string, string[]> = {};
    const capture = (name: string) => async (_url: unknown, init?: RequestInit) => {
      sent[name] = [...new Headers(init?.headers).keys()];
      return new Response("{}", { status: 500 });
    };
    const opts = { apiKey: "k", maxRetries: 0, dangerouslyAllowBrowser: true };
    await new OpenAI({ ...opts, baseURL: `${d.baseUrl}/v1`, fetch: capture("openai") }).models.list().catch(() => undefined);
    await new Anthropic({ ...opts, baseURL: d.baseUrl, fetch: capture("anthropic") }).models.list().catch(() => undefined);
    for (const [sdk, headers] of Object.entries(sent)) {
      // Safelisted or forbidden request headers never reach a preflight.
      const asked = headers.filter((h) => !["accept", "user-agent", "content-length"].includes(h));
      expect(asked.some((h) => h.startsWith("x-stainless-")), sdk).to.equal(true);
      const preflight = await fetch(`${d.baseUrl}/v1/models`, {
        method: "OPTIONS",
        headers: { origin: "http://localhost:5173", "access-control-request-method": "GET", "access-control-request-headers": asked.join(",") },
      });
      expect(preflight.status, sdk).to.equal(204);
      const allowed = preflight.headers.get("access-control-allow-headers")!.split(",");
      expect(asked.filter((h) => !allowed.includes(h)), sdk).to.deep.equal([]);
    }
  });

  it("refuses a Host that is not the daemon's (DNS rebinding)", async () => {
    const http = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${d.baseUrl}/api/tags`, { headers: { host: "rebind.evil.test:10242" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).to.equal(403);
  });
});
