import { expect } from "chai";
import { hubTokenForDaemon } from "../../src/cli/base-command.js";
import { resolveConfig } from "../../src/config/config.js";

describe("the CLI's HF_TOKEN for the daemon's pulls", () => {
  const settings = (host: string, token: string | null = "hf_cliToken") =>
    resolveConfig({}, { MLXM_HOME: "/tmp/mlxm-hub-token-test", MLXM_HOST: host, ...(token ? { HF_TOKEN: token } : {}) });

  it("goes with a pull to a daemon on this machine", () => {
    for (const host of ["127.0.0.1:11434", "localhost:11434", "[::1]:11434", "0.0.0.0:11434"]) {
      expect(hubTokenForDaemon(settings(host)), host).to.equal("hf_cliToken");
    }
  });

  it("never crosses the network to a daemon elsewhere (the CLI speaks plain HTTP)", () => {
    expect(hubTokenForDaemon(settings("192.0.2.7:11434"))).to.equal(undefined);
    expect(hubTokenForDaemon(settings("gpu-box.lan:11434"))).to.equal(undefined);
  });

  it("is absent when the CLI has none", () => {
    expect(hubTokenForDaemon(settings("127.0.0.1:11434", null))).to.equal(undefined);
  });
});
