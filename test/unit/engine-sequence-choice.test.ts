import { expect } from "chai";
import type { Token } from "node-llama-cpp";
import { chooseSequence, commonPrefixLength, type SequenceCandidate } from "../../src/daemon/engine/sequence-choice.js";

const t = (...ids: number[]) => ids as Token[];
const seq = (tokens: Token[], lastUse: number): SequenceCandidate => ({ tokens, lastUse });

describe("sequence choice by longest common prefix", () => {
  it("measures the common prefix", () => {
    expect(commonPrefixLength(t(1, 2, 3), t(1, 2, 4))).to.equal(2);
    expect(commonPrefixLength(t(1, 2), t(1, 2, 3))).to.equal(2);
    expect(commonPrefixLength(t(), t(1))).to.equal(0);
    expect(commonPrefixLength(t(5), t(1))).to.equal(0);
  });

  it("takes the sequence holding the longest prefix of the prompt, wherever it is", () => {
    const candidates = [seq(t(1, 2, 9), 5), seq(t(1, 2, 3, 4, 5), 1), seq(t(1, 2, 3, 9), 9)];
    expect(chooseSequence(candidates, t(1, 2, 3, 4, 5, 6, 7))).to.deep.equal({ index: 1, prefix: 5 });
  });

  it("leaves a sequence that would lose more than half of what it holds, taking an empty one instead", () => {
    // Shares 2 of the 6 tokens the first holds (another conversation with the same template start).
    const candidates = [seq(t(1, 2, 3, 4, 5, 6), 7), seq(t(), 0)];
    expect(chooseSequence(candidates, t(1, 2, 8, 8))).to.deep.equal({ index: 1, prefix: 0 });
  });

  it("reuses a sequence that keeps exactly half of what it holds", () => {
    expect(chooseSequence([seq(t(1, 2, 3, 4), 3), seq(t(), 0)], t(1, 2, 8))).to.deep.equal({ index: 0, prefix: 2 });
  });

  it("falls back to the least recently used when nothing matches, reporting the prefix it happens to hold", () => {
    const candidates = [seq(t(7, 7), 9), seq(t(1, 8, 8, 8), 2), seq(t(6), 4)];
    expect(chooseSequence(candidates, t(1, 2, 3))).to.deep.equal({ index: 1, prefix: 1 });
  });

  it("prefers empty sequences, the lowest first, over the least recently used one", () => {
    const candidates = [seq(t(7, 7), 1), seq(t(), 8), seq(t(), 3)];
    expect(chooseSequence(candidates, t(1, 2))).to.deep.equal({ index: 1, prefix: 0 });
  });

  it("keeps the earlier candidate when two hold the same prefix", () => {
    expect(chooseSequence([seq(t(1, 2), 4), seq(t(1, 2), 9)], t(1, 2, 3))).to.deep.equal({ index: 0, prefix: 2 });
  });

  it("refuses an empty candidate list", () => {
    expect(() => chooseSequence([], t(1))).to.throw(RangeError);
  });
});
