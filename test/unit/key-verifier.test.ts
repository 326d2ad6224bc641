/**
 * The daemon's credential check (auth/key-verifier.ts) on its own: the admin token, generated or provisioned by hand,
 * and anything else a client sends.
 */
import { expect } from "chai";
import { KeyVerifier } from "../../src/daemon/auth/key-verifier.js";

describe("KeyVerifier", () => {
  it("knows a generated admin token and refuses what clients of an open daemon send", () => {
    const token = "mlxm-admin-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
    const verifier = new KeyVerifier(token);
    expect(verifier.verify(token)).to.deep.equal({ kind: "admin" });
    for (const other of ["none", "ollama", "sk-proj-abc", "", `${token}x`, token.slice(0, -1), `${token.slice(0, -1)}H`]) {
      expect(verifier.verify(other), other).to.equal(undefined);
    }
  });

  it("knows an admin token provisioned by hand, without the mlxm- prefix", () => {
    const token = "provisioned-by-config-management-0123456789";
    const verifier = new KeyVerifier(token);
    expect(verifier.verify(token)).to.deep.equal({ kind: "admin" });
    expect(verifier.verify(`${token.slice(0, -1)}X`)).to.equal(undefined);
    expect(verifier.verify("none")).to.equal(undefined);
  });
});
