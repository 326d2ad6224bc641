import { expect } from "chai";
import { describeError } from "../../src/cli/base-command.js";
import { UnauthorizedError } from "../../src/client/errors.js";
import { ExitCode } from "../../src/cli/exit-codes.js";

describe("CLI exit codes and hints for refusals", () => {
  it("sends a refused caller to MLXM_API_KEY, with a hint that fits whether one is set", () => {
    const refused = new UnauthorizedError("an API key is required", 401, "unauthorized");
    const unset = describeError(refused);
    expect(unset.exit).to.equal(ExitCode.UNAUTHORIZED);
    expect(unset.hint).to.match(/^Set MLXM_API_KEY/);
    expect(describeError(refused, { apiKeySet: true }).hint).to.match(/MLXM_API_KEY was refused/);
  });

  it("does not when the Hugging Face Hub refused a pull: that is a failure, its message names HF_TOKEN", () => {
    const gated = new UnauthorizedError("org/m is a gated model: … set HF_TOKEN", 401, "unauthorized", { repo: "org/m", refused_by: "hub" });
    expect(describeError(gated)).to.deep.equal({ code: "unauthorized", exit: ExitCode.FAILURE });
  });
});
