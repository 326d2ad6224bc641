import { expect } from "chai";
import { FLASH_ATTENTION_TILE, MIN_TOKENS_TO_FILL, tileFilledPrefix } from "../../src/daemon/engine/attention-tile.js";

describe("flash-attention tile filling", () => {
  it("reuses all that is held when the new tokens fill a tile or are too few to be worth filling", () => {
    expect(tileFilledPrefix(1000, 1000 + FLASH_ATTENTION_TILE)).to.equal(1000);
    expect(tileFilledPrefix(1000, 1200)).to.equal(1000);
    expect(tileFilledPrefix(1000, 1000 + MIN_TOKENS_TO_FILL - 1)).to.equal(1000);
    expect(tileFilledPrefix(0, 30)).to.equal(0);
  });

  it("gives back cached tokens so that exactly one tile is evaluated when 52-63 are new", () => {
    expect(tileFilledPrefix(1000, 1000 + MIN_TOKENS_TO_FILL)).to.equal(1000 + MIN_TOKENS_TO_FILL - FLASH_ATTENTION_TILE);
    expect(tileFilledPrefix(1558, 1622)).to.equal(1558);
    expect(tileFilledPrefix(1565, 1622)).to.equal(1622 - 64);
    // A prompt shorter than a tile cannot fill one: what is held stays reused.
    expect(tileFilledPrefix(5, 55)).to.equal(5);
  });
});
