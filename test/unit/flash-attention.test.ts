import { expect } from "chai";
import { ConfigError, resolveConfig } from "../../src/config/config.js";
import { flashAttentionOption, parseFlashAttention } from "../../src/config/flash-attention.js";

describe("MLXM_FLASH_ATTENTION", () => {
  it("defaults to auto and reads on and off in their usual spellings", () => {
    expect(resolveConfig({}).engine.flashAttention).to.equal("auto");
    expect(resolveConfig({ MLXM_FLASH_ATTENTION: "OFF" }).engine.flashAttention).to.equal("off");
    for (const on of ["on", "true", "1", "yes", " On "]) expect(parseFlashAttention("MLXM_FLASH_ATTENTION", on)).to.equal("on");
    for (const off of ["off", "false", "0", "no"]) expect(parseFlashAttention("MLXM_FLASH_ATTENTION", off)).to.equal("off");
  });

  it("refuses anything else, naming the variable and the choices", () => {
    expect(() => parseFlashAttention("MLXM_FLASH_ATTENTION", "fast")).to.throw(ConfigError, /MLXM_FLASH_ATTENTION must be auto, on or off, got "fast"/);
    expect(() => resolveConfig({ MLXM_FLASH_ATTENTION: "sometimes" })).to.throw(ConfigError, /MLXM_FLASH_ATTENTION/);
  });

  it("maps to node-llama-cpp's context option", () => {
    expect([flashAttentionOption("auto"), flashAttentionOption("on"), flashAttentionOption("off"), flashAttentionOption(undefined)]).to.deep.equal(["auto", true, false, "auto"]);
  });
});
