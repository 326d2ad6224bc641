import { expect } from "chai";
import type { Token } from "node-llama-cpp";
import { chooseDonor, chooseSequence, commonPrefixLength, MIN_COPY_GAIN, type SequenceCandidate } from "../../src/daemon/engine/sequence-choice.js";

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

  it("with no empty sequence, reuses one that keeps exactly half of what it holds", () => {
    expect(chooseSequence([seq(t(1, 2, 3, 4), 3), seq(t(7, 7), 1)], t(1, 2, 8))).to.deep.equal({ index: 0, prefix: 2 });
  });

  it("takes an empty sequence before cutting into one that would keep half of what it holds", () => {
    expect(chooseSequence([seq(t(1, 2, 3, 4), 3), seq(t(), 0)], t(1, 2, 8))).to.deep.equal({ index: 1, prefix: 0 });
  });

  it("takes a sequence whose whole content is a prefix of the prompt before an empty one or a longer partial match", () => {
    const candidates = [seq(t(), 0), seq(t(1, 2, 3, 4, 5, 6, 9, 9), 5), seq(t(1, 2, 3), 2)];
    expect(chooseSequence(candidates, t(1, 2, 3, 4, 5, 6, 7))).to.deep.equal({ index: 2, prefix: 3 });
  });

  it("counts a conversation's sequence as a prefix when its prompt is one, though its generated reply re-tokenizes differently", () => {
    // Held: prompt 1..4, then the reply 50 51 as generated; the next prompt renders that reply as 52, then 60.
    const candidates = [seq(t(), 0), { tokens: t(1, 2, 3, 4, 50, 51), lastUse: 3, promptLength: 4 }];
    expect(chooseSequence(candidates, t(1, 2, 3, 4, 52, 60))).to.deep.equal({ index: 1, prefix: 4 });
    // Another conversation sharing only part of that prompt (a system prompt) is not a continuation.
    expect(chooseSequence(candidates, t(1, 2, 3, 70))).to.deep.equal({ index: 0, prefix: 0 });
  });

  it("keeps two conversations behind one system prompt on their own sequences, turn after turn", () => {
    // A 6-token system prompt both share, then each conversation's turns (user, then the model's answer).
    const system = [1, 2, 3, 4, 5, 6];
    const held: Token[][] = [[], []]; // two sequences, empty at first
    const lastUse = [0, 0];
    let clock = 0;
    const turns = { a: [...system], b: [...system] };
    const chosen: Record<"a" | "b", number[]> = { a: [], b: [] };
    const reused: Record<"a" | "b", number[]> = { a: [], b: [] };
    for (let turn = 0; turn < 4; turn++) {
      for (const [name, base] of [["a", 100], ["b", 200]] as const) {
        turns[name].push(base + turn * 2); // the user's message
        const prompt = t(...turns[name]);
        const { index, prefix } = chooseSequence(held.map((tokens, i) => seq(tokens, lastUse[i]!)), prompt);
        chosen[name].push(index);
        reused[name].push(prefix);
        turns[name].push(base + turn * 2 + 1); // the model's answer, now in that sequence too
        held[index] = [...prompt, base + turn * 2 + 1] as Token[];
        lastUse[index] = ++clock;
      }
    }
    expect(chosen).to.deep.equal({ a: [0, 0, 0, 0], b: [1, 1, 1, 1] });
    // After the first turn each evaluates only its new message: everything before it is its own sequence's.
    expect(reused.a.slice(1)).to.deep.equal([8, 10, 12]);
    expect(reused.b.slice(1)).to.deep.equal([8, 10, 12]);
  });

  it("falls back to the least recently used when nothing matches well enough, reporting the prefix it happens to hold", () => {
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

describe("a cache worth copying into the chosen sequence", () => {
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) as Token);
  const system = range(1, 300);
  const prompt = [...system, ...range(5000, 20)];

  it("takes the sequence holding the longest shared prefix, when it adds enough and is most of what that sequence holds", () => {
    const other = { tokens: [...system, ...range(9000, 40)] };
    const shorter = { tokens: [...system.slice(0, 200), ...range(7000, 10)] };
    expect(chooseDonor([shorter, other], prompt, 0)).to.deep.equal({ index: 1, prefix: 300 });
    // Already holding most of it: the copy would not gain enough.
    expect(chooseDonor([other], prompt, 300 - MIN_COPY_GAIN + 1)).to.equal(undefined);
    expect(chooseDonor([other], prompt, 300 - MIN_COPY_GAIN)).to.deep.equal({ index: 0, prefix: 300 });
  });

  it("leaves a sequence whose shared prefix is a small part of what it holds, and never copies the whole prompt", () => {
    expect(chooseDonor([{ tokens: [...system, ...range(9000, 400)] }], prompt, 0)).to.equal(undefined);
    expect(chooseDonor([{ tokens: [] }, { tokens: range(1, 50) }], prompt, 0)).to.equal(undefined);
    // Holding the whole prompt: at most all but its last token counts (one token is always decoded).
    expect(chooseDonor([{ tokens: prompt }], prompt, 0)).to.deep.equal({ index: 0, prefix: prompt.length - 1 });
  });
});
