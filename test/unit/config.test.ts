import { expect } from "chai";
import os from "node:os";
import path from "node:path";
import { ConfigError, describeVariables, resolveConfig } from "../../src/config/config.js";
import { parseBytes, parseDuration, parseHost } from "../../src/config/parse.js";
import { VARIABLES } from "../../src/config/variables.js";

describe("config", () => {
  it("uses declared defaults when nothing is set", () => {
    const c = resolveConfig({});
    expect(c.host).to.equal("127.0.0.1");
    expect(c.port).to.equal(10242);
    expect(c.baseUrl).to.equal("http://127.0.0.1:10242");
    expect(c.home).to.equal(path.join(os.homedir(), ".mlxm"));
    expect(c.engine.keepAliveMs).to.equal(5 * 60_000);
    expect(c.noAutostart).to.equal(false);
    expect(c.hub.directIo).to.equal(true);
    expect(resolveConfig({ MLXM_PULL_DIRECT_IO: "false" }).hub.directIo).to.equal(false);
  });

  it("lets the environment beat the default and a flag beat the environment", () => {
    const env = { MLXM_HOST: "127.0.0.1:9000", MLXM_HOME: "/tmp/from-env", MLXM_NO_AUTOSTART: "1" };
    const fromEnv = resolveConfig(env);
    expect(fromEnv.port).to.equal(9000);
    expect(fromEnv.home).to.equal("/tmp/from-env");
    expect(fromEnv.noAutostart).to.equal(true);

    const fromFlag = resolveConfig(env, { MLXM_HOST: "0.0.0.0:7000", MLXM_NO_AUTOSTART: "false" });
    expect(fromFlag.port).to.equal(7000);
    expect(fromFlag.host).to.equal("0.0.0.0");
    // A wildcard listen address is reached through loopback.
    expect(fromFlag.baseUrl).to.equal("http://127.0.0.1:7000");
    expect(fromFlag.noAutostart).to.equal(false);
    expect(fromFlag.home).to.equal("/tmp/from-env");
  });

  it("treats an empty environment value as unset", () => {
    expect(resolveConfig({ MLXM_HOST: "" }).port).to.equal(10242);
  });

  it("expands ~ in MLXM_HOME", () => {
    expect(resolveConfig({ MLXM_HOME: "~/models-here" }).home).to.equal(path.join(os.homedir(), "models-here"));
  });

  it("rejects invalid values with an error naming the variable", () => {
    expect(() => resolveConfig({ MLXM_NUM_PARALLEL: "many" })).to.throw(ConfigError, /MLXM_NUM_PARALLEL/);
    expect(() => resolveConfig({ MLXM_HOST: "localhost:http" })).to.throw(ConfigError, /MLXM_HOST/);
    expect(() => resolveConfig({ MLXM_KEEP_ALIVE: "soon" })).to.throw(ConfigError, /MLXM_KEEP_ALIVE/);
    expect(() => resolveConfig({ MLXM_MAX_MEMORY: "lots" })).to.throw(ConfigError, /MLXM_MAX_MEMORY/);
    // A retention of 0 would keep nothing; negative is forever (it used to delete every span: the cut-off was ahead).
    expect(() => resolveConfig({ MLXM_TRACE_RETENTION: "0s" })).to.throw(ConfigError, /MLXM_TRACE_RETENTION/);
    expect(resolveConfig({ MLXM_TRACE_RETENTION: "-1" }).trace.retentionMs).to.be.below(0);
  });

  it("parses hosts, sizes and durations", () => {
    expect(parseHost("X", "http://localhost:8080/", 1)).to.deep.equal({ host: "localhost", port: 8080 });
    expect(parseHost("X", "0.0.0.0", 10242)).to.deep.equal({ host: "0.0.0.0", port: 10242 });
    expect(parseHost("X", "[::1]:9", 1)).to.deep.equal({ host: "::1", port: 9 });
    expect(parseBytes("X", "8GiB")).to.equal(8 * 2 ** 30);
    expect(parseBytes("X", "512MB")).to.equal(512e6);
    expect(parseDuration("X", "1h30m")).to.equal(90 * 60_000);
    expect(parseDuration("X", "30")).to.equal(30_000);
    expect(parseDuration("X", "-1")).to.equal(-1);
    expect(parseDuration("X", "0")).to.equal(0);
    expect(parseDuration("X", -5)).to.equal(-1);
  });

  it("declares every variable once and masks secrets when describing them", () => {
    const names = VARIABLES.map((v) => v.name);
    expect(new Set(names).size).to.equal(names.length);
    const rows = describeVariables({ HF_TOKEN: "hf_supersecret", MLXM_HOST: "127.0.0.1:1" });
    const token = rows.find((r) => r.name === "HF_TOKEN")!;
    expect(token.value).to.equal("(set)");
    expect(JSON.stringify(rows)).not.to.contain("hf_supersecret");
    expect(rows.find((r) => r.name === "MLXM_HOST")!.source).to.equal("env");
    // A URL's credentials (the start-up log writes these rows) are masked too.
    const urls = describeVariables({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://user:s3cretpass@collector.invalid/?token=abc123", HF_ENDPOINT: "https://u:hubpass@hub.invalid" });
    expect(JSON.stringify(urls)).not.to.contain("s3cretpass").and.not.to.contain("abc123").and.not.to.contain("hubpass");
  });

  it("cleans tokens and keys as huggingface_hub does, and refuses one no header could carry without showing it", () => {
    // A token pasted from a file keeps its line break: removed, as huggingface_hub removes it.
    expect(resolveConfig({ HF_TOKEN: "hf_pasted\r\n" }).hub.token).to.equal("hf_pasted");
    expect(resolveConfig({ OPENAI_API_KEY: "  sk-x \n" }).providers.openai.apiKey).to.equal("sk-x");
    expect(resolveConfig({ HF_TOKEN: " \n " }).hub.token).to.equal(undefined);
    for (const [name, bad] of [["HF_TOKEN", "hf_é_secret"], ["ANTHROPIC_API_KEY", "sk-ant secret"], ["MLXM_API_KEY", "k\u0000secret"], ["LOGFIRE_TOKEN", "pylf\tsecret"]] as const) {
      let error: unknown;
      try {
        resolveConfig({ [name]: bad });
      } catch (err) {
        error = err;
      }
      expect(error, name).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.contain(name).and.not.to.contain("secret");
    }
  });
});
