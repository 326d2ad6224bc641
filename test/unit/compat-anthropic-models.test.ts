/** Anthropic's `/v1/models` paging: `limit`, `after_id`, `before_id`, `has_more`, `first_id`, `last_id`. */
import { expect } from "chai";
import { toAnthropicModelPage } from "../../src/daemon/compat/anthropic-models.js";

describe("compat: Anthropic model list", () => {
  const models = ["a", "b", "c", "d"].map((name) => ({ name, createdAt: "2026-01-02T03:04:05.000Z" }));
  const ids = (query: Record<string, unknown>) => {
    const page = toAnthropicModelPage(models, query);
    return [page.data.map((m) => m.id).join(""), page.has_more, page.first_id, page.last_id];
  };

  it("pages forwards from after_id and backwards from before_id", () => {
    expect(ids({})).to.deep.equal(["abcd", false, "a", "d"]);
    expect(ids({ limit: "2" })).to.deep.equal(["ab", true, "a", "b"]);
    expect(ids({ limit: "2", after_id: "b" })).to.deep.equal(["cd", false, "c", "d"]);
    expect(ids({ limit: "2", before_id: "d" })).to.deep.equal(["bc", true, "b", "c"]);
    expect(ids({ limit: "2", before_id: "b" })).to.deep.equal(["a", false, "a", "a"]);
    expect(ids({ after_id: "d" })).to.deep.equal(["", false, null, null]);
    expect(toAnthropicModelPage(models, {}).data[0]).to.deep.equal({ type: "model", id: "a", display_name: "a", created_at: "2026-01-02T03:04:05.000Z" });
  });

  it("refuses a limit outside 1..1000", () => {
    for (const limit of ["0", "1001", "x", "1.5"]) expect(() => toAnthropicModelPage(models, { limit }), limit).to.throw(/limit/);
  });
});
