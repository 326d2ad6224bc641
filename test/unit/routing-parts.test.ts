/** Route matching, sealed keys, per-route limits and prices: the router's small parts on their own. */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { calcPrice } from "@pydantic/genai-prices";
import { HttpError } from "../../src/daemon/errors.js";
import { costOf } from "../../src/daemon/routing/pricing.js";
import { RouteLimiter } from "../../src/daemon/routing/route-limiter.js";
import { isGlob, matchRoutes } from "../../src/daemon/routing/route-table.js";
import { SecretBox } from "../../src/daemon/routing/secret-box.js";
import { makeTempHome } from "../helpers/temp-home.js";

describe("routing: route table", () => {
  const routes = [
    { id: 1, pattern: "gpt-*", priority: 0 },
    { id: 2, pattern: "gpt-4*", priority: 0 },
    { id: 3, pattern: "gpt-4o", priority: 0 },
    { id: 4, pattern: "*", priority: -1 },
    { id: 5, pattern: "hf.co/*", priority: 5 },
  ];
  it("orders matches by priority, then exact before glob, then the longer pattern", () => {
    expect(matchRoutes(routes, "gpt-4o").map((r) => r.id)).to.deep.equal([3, 2, 1, 4]);
    expect(matchRoutes(routes, "gpt-3.5").map((r) => r.id)).to.deep.equal([1, 4]);
  });
  it("lets a glob cross slashes (model names have them) and matches nothing else", () => {
    expect(matchRoutes(routes, "hf.co/org/repo:Q4_K_M").map((r) => r.id)).to.deep.equal([5, 4]);
    expect(matchRoutes(routes.slice(0, 3), "claude")).to.deep.equal([]);
  });
  it("tells globs from names", () => {
    expect([isGlob("gpt-*"), isGlob("gpt-4o"), isGlob("hf.co/org/repo:Q4")]).to.deep.equal([true, false, false]);
  });
});

describe("routing: secret box", () => {
  it("seals with AES-256-GCM under a 0600 key file, opens again, and refuses tampering", () => {
    const { home, cleanup } = makeTempHome();
    try {
      const box = new SecretBox(home);
      const sealed = box.seal("sk-secret-value");
      expect(sealed).to.match(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/).and.not.contain("sk-secret");
      expect(fs.statSync(path.join(home, "secret.key")).mode & 0o777).to.equal(0o600);
      expect(new SecretBox(home).open(sealed)).to.equal("sk-secret-value");
      const parts = sealed.split(".");
      parts[3] = Buffer.from("tampered").toString("base64url");
      expect(() => box.open(parts.join("."))).to.throw(/cannot be decrypted/);
      expect(box.seal("same")).to.not.equal(box.seal("same"));
    } finally {
      cleanup();
    }
  });
});

describe("routing: route limiter", () => {
  it("caps requests per minute with a Retry-After until the window moves", () => {
    let now = 1_000_000;
    const limiter = new RouteLimiter("r", { maxConcurrency: null, requestsPerMinute: 2 }, () => now);
    limiter.acquire()();
    now += 10_000;
    limiter.acquire()();
    let err: HttpError | undefined;
    try {
      limiter.acquire();
    } catch (e) {
      err = e as HttpError;
    }
    expect(err?.status).to.equal(429);
    expect(err?.headers).to.deep.equal({ "retry-after": "50" });
    now += 50_000;
    expect(() => limiter.acquire()).not.to.throw();
  });
  it("caps concurrency and frees a slot on release (once)", () => {
    const limiter = new RouteLimiter("r", { maxConcurrency: 1, requestsPerMinute: null });
    const release = limiter.acquire();
    expect(() => limiter.acquire()).to.throw(HttpError);
    release();
    release();
    const again = limiter.acquire();
    expect(() => limiter.acquire()).to.throw(HttpError);
    again();
  });
});

describe("routing: pricing", () => {
  it("prices cloud models from genai-prices, local ones at 0, unknown ones as null", () => {
    const usage = { inputTokens: 1000, outputTokens: 100 };
    expect(costOf("openai", "gpt-4o-mini", usage)).to.equal(calcPrice({ input_tokens: 1000, output_tokens: 100 }, "gpt-4o-mini", { providerId: "openai" })!.total_price);
    expect(costOf("local", "anything", usage)).to.equal(0);
    expect(costOf("mlxm", "anything", usage)).to.equal(0);
    expect(costOf("openai", "no-such-model-xyz", usage)).to.equal(null);
    expect(costOf("openai-compatible", "llama", usage)).to.equal(null);
  });

  it("prices Anthropic prompt-cache writes and reads the way genai-prices takes them (the whole prompt as input)", () => {
    const usage = { inputTokens: 4013, outputTokens: 9, cachedInputTokens: 3000, cacheCreationInputTokens: 1000 };
    const expected = calcPrice({ input_tokens: 4013, output_tokens: 9, cache_read_tokens: 3000, cache_write_tokens: 1000 }, "claude-3-5-haiku-latest", { providerId: "anthropic" })!.total_price;
    expect(costOf("anthropic", "claude-3-5-haiku-latest", usage)).to.equal(expected);
    // Writes cost more than plain input: pricing them as plain input would undercharge.
    expect(expected).to.be.greaterThan(costOf("anthropic", "claude-3-5-haiku-latest", { ...usage, cacheCreationInputTokens: 0 })!);
  });
});
