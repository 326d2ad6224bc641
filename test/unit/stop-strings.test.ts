import { expect } from "chai";
import { StopStrings } from "../../src/daemon/engine/stop-strings.js";

/** Feeds `pieces` one at a time; what came out, and the stop string that ended it. */
function run(stops: string[], pieces: string[]): { out: string[]; matched: string | undefined; rest: string } {
  const s = new StopStrings(stops);
  const out = pieces.map((p) => s.push(p));
  return { out, matched: s.matched, rest: s.flush() };
}

describe("stop strings", () => {
  it("passes text through untouched when there are none (or only empty ones)", () => {
    expect(run([], ["a", "b"])).to.deep.equal({ out: ["a", "b"], matched: undefined, rest: "" });
    expect(run([""], ["a", "b"])).to.deep.equal({ out: ["a", "b"], matched: undefined, rest: "" });
  });

  it("holds back a possible start of a stop string and gives it out once it is not one", () => {
    expect(run(["END"], ["hello E", "N", "x more"])).to.deep.equal({ out: ["hello ", "", "ENx more"], matched: undefined, rest: "" });
  });

  it("ends at a stop string split across pieces, giving out only what precedes it", () => {
    expect(run(["END"], ["ab E", "N", "Dcd"])).to.deep.equal({ out: ["ab ", "", ""], matched: "END", rest: "" });
    expect(run(["\n\nUser:"], ["Hi.\n", "\nUs", "er: more"])).to.deep.equal({ out: ["Hi.", "", ""], matched: "\n\nUser:", rest: "" });
  });

  it("gives back what it held when the generation ends another way (the bug it exists for)", () => {
    expect(run(["many\u0000zz"], ["world x ma", "ny"])).to.deep.equal({ out: ["world x ", ""], matched: undefined, rest: "many" });
  });

  it("finds a match after a false start that overlaps it (KMP fallback)", () => {
    expect(run(["aab"], ["aaa", "ab!"])).to.deep.equal({ out: ["a", "a"], matched: "aab", rest: "" });
    expect(run(["abab"], ["ababab"]).matched).to.equal("abab");
    expect(run(["abac"], ["ababac"]).out).to.deep.equal(["ab"]);
  });

  it("stops at the first stop string to complete, the longer of two completing together", () => {
    expect(run(["abcd", "c"], ["xabcd"])).to.deep.equal({ out: ["xab"], matched: "c", rest: "" });
    expect(run(["b", "ab"], ["xab"])).to.deep.equal({ out: ["x"], matched: "ab", rest: "" });
  });

  it("gives out nothing more once matched", () => {
    const s = new StopStrings(["x"]);
    expect(s.push("ax")).to.equal("a");
    expect(s.push("more")).to.equal("");
    expect(s.flush()).to.equal("");
  });

  it("holds a stop string of a million characters' worth of possible start, and no more", () => {
    const long = "a".repeat(1_000_000) + "b";
    const s = new StopStrings([long]);
    let out = "";
    for (let i = 0; i < 2000; i++) out += s.push("a".repeat(600));
    expect(s.matched).to.equal(undefined);
    // 1.2 M 'a's pushed: the last million may still be the stop string's first million characters.
    expect(out.length).to.equal(200_000);
    expect(s.flush().length).to.equal(1_000_000);
  });
});
