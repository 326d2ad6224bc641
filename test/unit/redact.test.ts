import { expect } from "chai";
import { REDACTED, displayUrl, isSecretKey, redactAttribute, redactAttributes, scrubSecret, scrubText } from "../../src/observability/redact.js";

/** Measurements, as mlxm and other instrumentations (OpenLLMetry, OpenInference, Logfire) name them. */
const MEASURED = [
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "gen_ai.usage.cache_read_input_tokens",
  "gen_ai.usage.cache_creation_input_tokens",
  "gen_ai.usage.reasoning_tokens",
  "gen_ai.usage.prompt_tokens",
  "gen_ai.usage.completion_tokens",
  "gen_ai.usage.total_tokens",
  "gen_ai.request.max_tokens",
  "gen_ai.server.time_to_first_token",
  "gen_ai.server.time_to_first_token_ms",
  "gen_ai.server.time_per_output_token",
  "mlxm.tokens_per_second",
  "mlxm.prompt.token_count",
  "llm.token_count.prompt",
  "llm.token_count.completion",
  "llm.token_count.total",
  "llm.usage.total_tokens",
  "gen_ai.token.type",
  "mlxm.flag.max-tokens",
  "maxTokens",
  "http.route",
  "url.path",
  "mlxm.keep_alive",
  "db.query.text",
];

/** Credentials, in the spellings headers, flags, variables and SDKs use. */
const SECRET = [
  "authorization",
  "http.request.header.authorization",
  "Proxy-Authorization",
  "x-api-key",
  "http.request.header.x-api-key",
  "api-key",
  "api_key",
  "apiKey",
  "mlxm.flag.api-key",
  "OPENAI_API_KEY",
  "HF_TOKEN",
  "mlxm.flag.hf-token",
  "token",
  "mlxm.flag.token",
  "access_token",
  "id_token",
  "refresh_token",
  "session_token",
  "password",
  "db.password",
  "cookie",
  "set-cookie",
  "http.request.header.cookie",
  "secret",
  "client_secret",
  "private_key",
  "privateKey",
  "x-goog-api-key",
  "credentials",
];

describe("redaction", () => {
  describe("attribute names", () => {
    for (const name of MEASURED) {
      it(`keeps ${name}`, () => {
        expect(isSecretKey(name)).to.equal(false);
        expect(redactAttribute(name, 42, false)).to.equal(42);
      });
    }
    for (const name of SECRET) {
      it(`masks ${name}`, () => {
        expect(isSecretKey(name)).to.equal(true);
        expect(redactAttribute(name, "plain-looking-value", false)).to.equal(REDACTED);
      });
    }
  });

  it("masks values that look like credentials under any name", () => {
    const values = [
      "Bearer abcdefgh12345678",
      "sk-abcdefghijklmnop1234",
      "sk-ant-api03-abcdefghijklmnop",
      "hf_abcdefghijklmnopqrstu",
      "pylf_v1_us_abcdefghijklmnopqrstuvwxyz",
      "ghp_abcdefghijklmnopqrstuvwxyz0123",
      "AKIAABCDEFGHIJKLMNOP",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl",
    ];
    for (const value of values) {
      expect(redactAttribute("gen_ai.usage.input_tokens", value, false), value).to.equal(REDACTED);
      expect(redactAttribute("http.route", `x ${value} y`, false), value).to.equal(`x ${REDACTED} y`);
    }
    expect(redactAttribute("mlxm.list", ["ok", "sk-abcdefghijklmnop1234"], false)).to.deep.equal(["ok", REDACTED]);
  });

  it("masks secret-named attributes but keeps token counts", () => {
    const out = redactAttributes(
      {
        "http.request.header.authorization": "Bearer abc",
        "mlxm.flag.api-key": "k",
        "mlxm.flag.hf_token": "hf_x",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.request.max_tokens": 64,
        "http.route": "/v1/chat/completions",
      },
      false,
    );
    expect(out["http.request.header.authorization"]).to.equal(REDACTED);
    expect(out["mlxm.flag.api-key"]).to.equal(REDACTED);
    expect(out["mlxm.flag.hf_token"]).to.equal(REDACTED);
    expect(out["gen_ai.usage.input_tokens"]).to.equal(12);
    expect(out["gen_ai.request.max_tokens"]).to.equal(64);
    expect(out["http.route"]).to.equal("/v1/chat/completions");
  });

  it("scrubs credentials inside free text and URL queries", () => {
    expect(scrubText("Authorization: Bearer sk-abcdefghijklmnop1234")).to.not.contain("sk-abcdefghijklmnop1234");
    expect(scrubText("/api/tags?api_key=s3cr3t&x=1")).to.equal(`/api/tags?api_key=${REDACTED}&x=1`);
    expect(scrubText("https://h/?token=abc#f")).to.equal(`https://h/?token=${REDACTED}#f`);
    expect(scrubText("hf_abcdefghijklmnopqrstu in a message")).to.equal(`${REDACTED} in a message`);
    expect(scrubText("nothing secret here")).to.equal("nothing secret here");
    // A span's url.query has no leading `?`: its first pair was kept in clear.
    expect(redactAttribute("url.query", "api_key=SECRETQUERY77&limit=5", false)).to.equal(`api_key=${REDACTED}&limit=5`);
    for (const name of ["token", "key", "apikey", "access_token", "sig", "password", "x-api-key", "auth"]) {
      expect(scrubText(`${name}=SECRETQUERY77`), name).to.equal(`${name}=${REDACTED}`);
    }
    expect(scrubText("model=a&max_tokens=5&limit=10")).to.equal("model=a&max_tokens=5&limit=10");
    // A collector or Hub URL as logs, /api/health and route lists show it.
    expect(displayUrl("https://user:s3cretpass@collector.invalid:4318/?token=abc123&x=1")).to.equal(`https://***@collector.invalid:4318/?token=${REDACTED}&x=1`);
    expect(displayUrl("http://127.0.0.1:4318")).to.equal("http://127.0.0.1:4318");
  });

  it("scrubs a key a vendor echoes masked, even when the key is not known", () => {
    // OpenAI's answer to a wrong key, in its older and its project-key form.
    const older = "Incorrect API key provided: sk-abc12***************************************xyz9. You can find your API key at https://platform.openai.com/account/api-keys.";
    expect(scrubText(older)).to.equal(`Incorrect API key provided: ${REDACTED}. You can find your API key at https://platform.openai.com/account/api-keys.`);
    expect(scrubText(`key sk-proj-${"*".repeat(40)}wxYZ is invalid`)).to.equal(`key ${REDACTED} is invalid`);
    expect(scrubText("key sk-abc***…xyz rejected")).to.equal(`key ${REDACTED} rejected`);
    // Emphasis and footnotes are no keys.
    expect(scrubText("***really*** important, see note*** below")).to.equal("***really*** important, see note*** below");
  });

  it("scrubs every echo of a known key: whole, masked however the vendor masks, or cut to a prefix of 8 or more", () => {
    const key = "sk-live0abcdefgh0ijklmnop0qrstuvw0xyz9";
    const echoes = [
      `Incorrect API key provided: sk-live0***************0xyz9.`,
      `Incorrect API key provided: ${key}.`,
      `bad key ${key.slice(0, 8)}`,
      `bad key ${key.slice(0, 20)}... (truncated)`,
      `bad key ${key.slice(0, 12)}…`,
      `key ending ***0xyz9 refused`,
      `key AIza***xyz9 refused`.replace("AIza", key.slice(0, 4)),
      `{"error":{"message":"Incorrect API key provided: ${key.slice(0, 9)}*******${key.slice(-4)}"}}`,
    ];
    for (const echo of echoes) {
      const scrubbed = scrubSecret(echo, key);
      expect(scrubbed, echo).to.contain(REDACTED);
      for (let n = 8; n <= key.length; n++) expect(scrubbed, echo).not.to.contain(key.slice(0, n));
      expect(scrubbed, echo).not.to.contain("***");
    }
    // JSON stays JSON: what replaces an echo has no quote or backslash.
    expect(JSON.parse(scrubSecret(echoes.at(-1)!, key)).error.message).to.equal(`Incorrect API key provided: ${REDACTED}`);
    // Shorter prefixes are every key's (`sk-live`), and masked text that shares nothing with the key is another's.
    expect(scrubSecret("keys start with sk-live", key)).to.equal("keys start with sk-live");
    expect(scrubSecret("***bold*** text", key)).to.equal("***bold*** text");
  });

  it("drops prompt and completion content unless recording it was opted into", () => {
    const attrs = { "gen_ai.input.messages": "[{\"role\":\"user\"}]", "gen_ai.output.messages": "x", "gen_ai.request.model": "m" };
    expect(redactAttributes(attrs, false)).to.deep.equal({ "gen_ai.request.model": "m" });
    expect(redactAttributes(attrs, true)).to.deep.equal(attrs);
    // A CLI command's --system is a system prompt.
    expect(redactAttributes({ "mlxm.flag.system": "MYSECRETSYSTEMPROMPT", "mlxm.flag.seed": 1 }, false)).to.deep.equal({ "mlxm.flag.seed": 1 });
  });
});
