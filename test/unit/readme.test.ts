import { expect } from "chai";
import fs from "node:fs";
import { VARIABLES } from "../../src/config/variables.js";

describe("README", () => {
  const readme = fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8");

  it("documents every environment variable", () => {
    for (const v of VARIABLES) expect(readme, v.name).to.contain(`\`${v.name}\``);
  });

  it("documents every command", () => {
    const dir = new URL("../../src/commands/", import.meta.url);
    const ids = (fs.readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.replace(/\.ts$/, "").replaceAll("/", " "));
    for (const id of ids) expect(readme, id).to.contain(`mlxm ${id}`);
  });
});
