import { expect } from "chai";
import { REDACTED, redactAttributes, scrubText } from "../../src/observability/redact.js";

describe("redaction", () => {
  it("masks secret-named attributes but keeps token counts", () => {
    const out = redactAttributes(
      {
        "http.request.header.authorization": "Bearer abc",
        "mlxm.flag.api-key": "k",
        "mlxm.flag.hf_token": "hf_x",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.request.max_tokens": 64,
        "http.route": "/v1/chat/completions",
      },
      false,
    );
    expect(out["http.request.header.authorization"]).to.equal(REDACTED);
    expect(out["mlxm.flag.api-key"]).to.equal(REDACTED);
    expect(out["mlxm.flag.hf_token"]).to.equal(REDACTED);
    expect(out["gen_ai.usage.input_tokens"]).to.equal(12);
    expect(out["gen_ai.request.max_tokens"]).to.equal(64);
    expect(out["http.route"]).to.equal("/v1/chat/completions");
  });

  it("scrubs credentials inside free text and URL queries", () => {
    expect(scrubText("Authorization: Bearer sk-abcdefghijklmnop1234")).to.not.contain("sk-abcdefghijklmnop1234");
    expect(scrubText("/api/tags?api_key=s3cr3t&x=1")).to.equal(`/api/tags?api_key=${REDACTED}&x=1`);
    expect(scrubText("https://h/?token=abc#f")).to.equal(`https://h/?token=${REDACTED}#f`);
    expect(scrubText("hf_abcdefghijklmnopqrstu in a message")).to.equal(`${REDACTED} in a message`);
    expect(scrubText("nothing secret here")).to.equal("nothing secret here");
  });

  it("drops prompt and completion content unless recording it was opted into", () => {
    const attrs = { "gen_ai.input.messages": "[{\"role\":\"user\"}]", "gen_ai.output.messages": "x", "gen_ai.request.model": "m" };
    expect(redactAttributes(attrs, false)).to.deep.equal({ "gen_ai.request.model": "m" });
    expect(redactAttributes(attrs, true)).to.deep.equal(attrs);
  });
});
