/**
 * Checks of tools the model calls on its own (`auto`): a strict tool's schema must compile, any other is checked
 * as far as a validator can (MCP servers' keywords no grammar enforces), and a mismatch is reported as the model's.
 */
import { expect } from "chai";
import { SchemaGrammars } from "../../src/daemon/engine/grammar/schema-grammars.js";

describe("auto tool checks", () => {
  const unique = { type: "object", properties: { tags: { type: "array", items: { type: "string" }, uniqueItems: true } } };
  const tool = (parameters: unknown, strict?: boolean) => ({ name: "f", parameters, path: "tools[0].function.parameters", ...(strict ? { strict } : {}) });

  it("checks a non-strict tool with ajv where the compiler refuses a keyword, and refuses it when strict", () => {
    const grammars = new SchemaGrammars();
    const check = grammars.toolChecks([tool(unique)]).get("f")!;
    expect(check({ tags: ["a", "b"] })).to.deep.equal({ valid: true });
    expect(check({ tags: ["a", "a"] }).valid).to.equal(false);
    expect(() => grammars.toolChecks([tool(unique, true)])).to.throw(/uniqueItems/).with.property("param", "tools[0].function.parameters.properties.tags.uniqueItems");
  });

  it("keeps the compiler's check for a schema it enforces, and none for one no validator can read", () => {
    const grammars = new SchemaGrammars();
    const bounded = grammars.toolChecks([tool({ type: "object", properties: { n: { type: "integer", maximum: 3 } } })]).get("f")!;
    expect(bounded({ n: 4 }).valid).to.equal(false);
    // A $ref ajv cannot resolve: nothing to check against, and no 400 for a tool that is not strict.
    expect(grammars.toolChecks([tool({ type: "object", properties: { x: { $ref: "https://example.com/x.json" } } })]).has("f")).to.equal(false);
  });
});
