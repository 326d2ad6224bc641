import { expect } from "chai";
import { CdnAddress } from "../../src/daemon/hub/download/cdn-address.js";

const HUB = "https://hub.example/org/repo/resolve/abc/model.gguf";
const CDN = "https://cdn.example/blob?sig=1";

describe("hub CDN address (where a file's later requests go)", () => {
  it("is the address the Hub redirected an answered request to, and not the Hub's own URL", () => {
    const cdn = new CdnAddress(HUB);
    expect(cdn.target()).to.equal(undefined);
    cdn.answered(HUB);
    expect(cdn.target()).to.equal(undefined);
    cdn.answered(CDN);
    cdn.answered(CDN);
    expect(cdn.target()).to.deep.equal({ url: CDN, uses: 2 });
  });

  it("is forgotten on any failure, and only a refusal (401/403/404/410) sends the next request to the Hub uncounted", () => {
    const cdn = new CdnAddress(HUB);
    for (const [status, refused] of [[403, true], [410, true], [404, true], [401, true], [500, false], [429, false], [undefined, false]] as const) {
      cdn.answered(CDN);
      cdn.answered(CDN);
      const target = cdn.target()!;
      expect(cdn.failed(target, status), String(status)).to.equal(refused);
      expect(cdn.target(), String(status)).to.equal(undefined);
    }
  });

  it("keeps none for the rest of the file once an address is refused on its first reuse (good for one request)", () => {
    const cdn = new CdnAddress(HUB);
    cdn.answered(CDN);
    expect(cdn.failed(cdn.target()!, 403)).to.equal(true);
    cdn.answered("https://cdn.example/blob?sig=2");
    expect(cdn.target()).to.equal(undefined);
  });

  it("leaves an address another request has since replaced", () => {
    const cdn = new CdnAddress(HUB);
    cdn.answered(CDN);
    const old = cdn.target()!;
    cdn.answered("https://cdn.example/blob?sig=2");
    cdn.failed(old, 500);
    expect(cdn.target()?.url).to.equal("https://cdn.example/blob?sig=2");
  });
});
