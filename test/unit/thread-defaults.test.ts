/**
 * The engine's thread defaults by core count, MLXM_PROMPT_THREADS read from the environment, and the bound on every
 * thread variable (more threads than CPUs crawl or hang llama.cpp).
 */
import { expect } from "chai";
import os from "node:os";
import { ConfigError, resolveConfig } from "../../src/config/config.js";
import { defaultPromptThreadCount, defaultThreadCount } from "../../src/daemon/engine/llama-runtime.js";

describe("thread defaults", () => {
  it("gives single-token decodes one thread on 2 cores, else half the cores up to 8", () => {
    expect([1, 2, 3, 4, 16, 64].map((cores) => defaultThreadCount(cores))).to.deep.equal([1, 1, 1, 2, 8, 8]);
  });

  it("gives a prompt alone the cores up to 8, never fewer than the batch budget", () => {
    expect([1, 2, 4, 16].map((cores) => defaultPromptThreadCount(1, cores))).to.deep.equal([1, 2, 4, 8]);
    expect(defaultPromptThreadCount(12, 16)).to.equal(12);
  });

  it("reads MLXM_PROMPT_THREADS as a positive integer, unset by default", () => {
    expect(resolveConfig({}).engine.promptThreads).to.equal(undefined);
    expect(resolveConfig({ MLXM_PROMPT_THREADS: "1" }).engine.promptThreads).to.equal(1);
    expect(() => resolveConfig({ MLXM_PROMPT_THREADS: "0" })).to.throw(ConfigError, /MLXM_PROMPT_THREADS/);
    expect(() => resolveConfig({ MLXM_PROMPT_THREADS: "two" })).to.throw(ConfigError, /MLXM_PROMPT_THREADS/);
  });

  it("refuses more threads than the machine's CPUs for every thread variable, naming the limit", () => {
    const cpus = os.availableParallelism();
    for (const name of ["MLXM_THREADS", "MLXM_BATCH_THREADS", "MLXM_PROMPT_THREADS"]) {
      expect(() => resolveConfig({ [name]: String(cpus + 1) })).to.throw(ConfigError, new RegExp(`${name} must be at most ${cpus}`));
      expect(() => resolveConfig({ [name]: "100000" })).to.throw(ConfigError, new RegExp(name));
      expect(resolveConfig({ [name]: String(cpus) }).engine).to.not.equal(undefined);
    }
  });
});
