import { expect } from "chai";
import { printable, renderTable } from "../../src/cli/render.js";

describe("printing what API callers named (model names, route patterns) on a terminal", () => {
  it("shows control characters and bidi overrides as escapes, so a name cannot rewrite the screen or forge a line", () => {
    expect(printable("evil\u001b[31mRED\u001b]0;pwned\u0007\r\nFAKE-ROUTE\u202e")).to.equal("evil\\x1b[31mRED\\x1b]0;pwned\\x07\\x0d\\x0aFAKE-ROUTE\\u202e");
    expect(printable("hf.co/org/repo:Q4_K_M 模型")).to.equal("hf.co/org/repo:Q4_K_M 模型");
    const table = renderTable([{ name: "tiny\u001b[2J" }], [{ header: "NAME", get: (r) => r.name }]);
    expect(table).not.to.contain("\u001b");
    expect(table).to.contain("tiny\\x1b[2J");
    expect(table.split("\n")).to.have.length(2);
  });
});
