/**
 * Prompt-prefix reuse is invisible in what is generated: the same conversations run on an engine that keeps and
 * reuses each sequence's cache and on one that clears every sequence after use (MLXM_PREFIX_REUSE=false), and every
 * reply must be identical, greedy and with a fixed seed: multi-turn, with an edit in the middle of the history,
 * with two system prompts interleaved with unrelated requests, and with two conversations competing for sequences.
 * The reuse engine must also say it reused: each later turn reports at least the previous turn's prompt as cached
 * (less what it evaluated again to fill a flash-attention tile: attention-tile.ts).
 */
import fs from "node:fs";
import os from "node:os";
import { expect } from "chai";
import { resolveConfig } from "../../src/config/config.js";
import type { ChatMessage, ChatRequest, SamplingOptions, Usage } from "../../src/daemon/core/chat.js";
import { FLASH_ATTENTION_TILE, MIN_TOKENS_TO_FILL } from "../../src/daemon/engine/attention-tile.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";
import { MIN_COPY_GAIN } from "../../src/daemon/engine/sequence-choice.js";
import { LocalModelService } from "../../src/daemon/engine/local-model-service.js";
import { Store } from "../../src/daemon/store/store.js";
import { silentLogger } from "../../src/observability/logger.js";
import { addTestModel } from "../helpers/models.js";

const GREEDY: SamplingOptions = { temperature: 0, maxTokens: 10 };
const SEEDED: SamplingOptions = { temperature: 0.8, topK: 40, seed: 11, maxTokens: 10 };
const SYSTEM_A = "You are a careful assistant for a test. " + "Remember the rules of the house and follow them. ".repeat(6);
const SYSTEM_B = "You answer tersely. " + "Never forget the second system prompt of this test. ".repeat(5);

interface Reply {
  text: string;
  usage: Usage;
}

describe("prompt-prefix reuse (real node-llama-cpp)", function () {
  let store: Store;
  let hold: LlamaLease;
  let reuse: LocalModelService;
  let fresh: LocalModelService;

  function engine(prefixReuse: boolean, numParallel = 4, env: Record<string, string> = {}): LocalModelService {
    const config = resolveConfig(
      {},
      { MLXM_HOME: "/tmp/unused", MLXM_CONTEXT_SIZE: "2048", MLXM_NUM_PARALLEL: String(numParallel), MLXM_PREFIX_REUSE: String(prefixReuse), ...env },
    );
    return new LocalModelService({ store, engine: config.engine, logger: silentLogger(), totalMemoryBytes: 8 * 2 ** 30 });
  }

  async function ask(models: LocalModelService, messages: ChatMessage[], sampling: SamplingOptions, extra: Partial<ChatRequest> = {}): Promise<Reply> {
    let text = "";
    let usage: Usage | undefined;
    for await (const event of models.chat({ model: "tiny", messages, sampling, ...extra }, new AbortController().signal)) {
      if (event.type === "text") text += event.text;
      if (event.type === "tool_call_delta") text += `[${event.index}:${event.argumentsDelta}]`;
      if (event.type === "done") usage = event.usage;
    }
    return { text, usage: usage! };
  }

  /**
   * Runs a conversation of `turns` user messages on both engines, feeding each engine's own replies back, and
   * checks the replies match turn by turn. Returns the reuse engine's replies.
   */
  async function converse(system: string, turns: string[], sampling: SamplingOptions, extra: Partial<ChatRequest> = {}): Promise<Reply[]> {
    const replies: Reply[] = [];
    const history: ChatMessage[] = [{ role: "system", content: system }];
    for (const turn of turns) {
      history.push({ role: "user", content: turn });
      const withReuse = await ask(reuse, history, sampling, extra);
      const without = await ask(fresh, history, sampling, extra);
      expect(withReuse.text, `turn "${turn}"`).to.equal(without.text);
      expect(withReuse.usage.outputTokens).to.equal(without.usage.outputTokens);
      expect(withReuse.usage.inputTokens).to.equal(without.usage.inputTokens);
      expect(without.usage.cachedInputTokens).to.equal(0);
      history.push({ role: "assistant", content: withReuse.text });
      replies.push(withReuse);
    }
    return replies;
  }

  /**
   * From the second turn on, at least the previous turn's whole prompt was reused, or all but one flash-attention tile
   * of this turn's (the tiny model's turns add about 50 tokens: on the CPU a few cached ones are evaluated again).
   */
  function expectReused(replies: Reply[]): void {
    expect(replies[0]!.usage.cachedInputTokens).to.be.lessThan(replies[0]!.usage.inputTokens);
    for (let i = 1; i < replies.length; i++) {
      const reusable = Math.min(replies[i - 1]!.usage.inputTokens, replies[i]!.usage.inputTokens - FLASH_ATTENTION_TILE);
      expect(replies[i]!.usage.cachedInputTokens, `turn ${i + 1}`).to.be.at.least(reusable);
      expect(replies[i]!.usage.cachedInputTokens).to.be.lessThan(replies[i]!.usage.inputTokens);
    }
  }

  before(async () => {
    hold = leaseLlama({ threads: 1 });
    await hold.llama();
    store = await Store.open(":memory:");
    await addTestModel(store, "tiny", { seed: 5 });
    reuse = engine(true);
    fresh = engine(false);
  });

  after(async () => {
    await reuse?.dispose();
    await fresh?.dispose();
    await store?.close();
    await hold?.release();
  });

  for (const [name, sampling] of [["greedy", GREEDY], ["a fixed seed", SEEDED]] as const) {
    it(`generates the same multi-turn conversation with and without reuse (${name})`, async () => {
      const replies = await converse(SYSTEM_A, ["hello there", "tell me more", "and then?", "thanks"], sampling);
      expectReused(replies);
    });
  }

  it("evaluates a whole flash-attention tile where a turn leaves 52-63 new tokens, and only the new ones with it off", async () => {
    const off = engine(true, 4, { MLXM_FLASH_ATTENTION: "off" });
    try {
      const turns = ["hello there", "tell me more", "and then?", "thanks", "one more thing"];
      const fresh = async (models: LocalModelService): Promise<number[]> => {
        const history: ChatMessage[] = [{ role: "system", content: SYSTEM_A }];
        const evaluated: number[] = [];
        for (const turn of turns) {
          history.push({ role: "user", content: turn });
          const reply = await ask(models, history, GREEDY);
          history.push({ role: "assistant", content: reply.text });
          evaluated.push(reply.usage.inputTokens - reply.usage.cachedInputTokens!);
        }
        return evaluated.slice(1);
      };
      // Flash attention off: some later turn leaves 52-63 new tokens, and that is what is evaluated.
      const plain = await fresh(off);
      expect(plain.some((n) => n >= MIN_TOKENS_TO_FILL && n < FLASH_ATTENTION_TILE), plain.join(", ")).to.equal(true);
      // On (the CPU's default): such a turn evaluates exactly one tile; none is left with 52-63.
      const tiled = await fresh(reuse);
      expect(tiled.some((n) => n >= MIN_TOKENS_TO_FILL && n < FLASH_ATTENTION_TILE), tiled.join(", ")).to.equal(false);
      expect(tiled, tiled.join(", ")).to.include(FLASH_ATTENTION_TILE);
    } finally {
      await off.dispose();
    }
  });

  it("generates the same after an edit in the middle of the history, reusing only the unchanged prefix", async () => {
    // One sequence, so the edited history lands on the one holding the original (with an empty sequence free, it
    // would start there instead and leave the original's cache alone: see sequence-choice.ts).
    const single = engine(true, 1);
    try {
      const history: ChatMessage[] = [{ role: "system", content: SYSTEM_A }];
      const turns = ["first question", "second question", "third question"];
      for (const turn of turns) {
        history.push({ role: "user", content: turn });
        const reply = await ask(single, history, GREEDY);
        history.push({ role: "assistant", content: reply.text });
      }
      // The second question is rewritten; the first exchange and the system prompt are unchanged.
      const edited: ChatMessage[] = [...history.slice(0, 3), { role: "user", content: "an edited second question" }, ...history.slice(4)];
      edited.push({ role: "user", content: "fourth question" });
      const withReuse = await ask(single, edited, GREEDY);
      const without = await ask(fresh, edited, GREEDY);
      expect(withReuse.text).to.equal(without.text);
      const upToEdit = await ask(fresh, history.slice(0, 3), { ...GREEDY, maxTokens: 1 });
      expect(withReuse.usage.cachedInputTokens).to.be.greaterThan(0);
      expect(withReuse.usage.cachedInputTokens).to.be.at.most(upToEdit.usage.inputTokens + 8);
    } finally {
      await single.dispose();
    }
  });

  it("keeps two conversations behind the same system prompt on their own sequences, turn after turn", async () => {
    // A new engine, so sequences are empty: the second conversation's first turn must start on one of them, not cut
    // into the first conversation's sequence for the system prompt they share (they would then evict each other).
    const shared = engine(true);
    try {
      const a: ChatMessage[] = [{ role: "system", content: SYSTEM_A }];
      const b: ChatMessage[] = [{ role: "system", content: SYSTEM_A }];
      const repliesA: Reply[] = [];
      const repliesB: Reply[] = [];
      for (let turn = 0; turn < 3; turn++) {
        for (const [history, replies, label] of [[a, repliesA, "a"], [b, repliesB, "b"]] as const) {
          history.push({ role: "user", content: `${label} says turn ${turn}` });
          const reply = await ask(shared, history, GREEDY);
          history.push({ role: "assistant", content: reply.text });
          replies.push(reply);
        }
      }
      expectReused(repliesA);
      expectReused(repliesB);
    } finally {
      await shared.dispose();
    }
  });

  it("keeps two conversations' caches while they take turns with unrelated requests between", async () => {
    const a: ChatMessage[] = [{ role: "system", content: SYSTEM_A }];
    const b: ChatMessage[] = [{ role: "system", content: SYSTEM_B }];
    const repliesA: Reply[] = [];
    const repliesB: Reply[] = [];
    for (let turn = 0; turn < 3; turn++) {
      for (const [history, replies, label] of [[a, repliesA, "a"], [b, repliesB, "b"]] as const) {
        history.push({ role: "user", content: `${label} turn ${turn}` });
        const withReuse = await ask(reuse, history, SEEDED);
        const without = await ask(fresh, history, SEEDED);
        expect(withReuse.text).to.equal(without.text);
        history.push({ role: "assistant", content: withReuse.text });
        replies.push(withReuse);
        const unrelated = [{ role: "user" as const, content: `unrelated ${label}${turn}` }];
        expect((await ask(reuse, unrelated, GREEDY)).text).to.equal((await ask(fresh, unrelated, GREEDY)).text);
      }
    }
    expectReused(repliesA);
    expectReused(repliesB);
  });

  it("generates the same when two conversations run at once and compete for one sequence", async () => {
    // One sequence: the two requests of each turn queue for it, and each finds the other conversation's cache there,
    // so reuse must erase that tail and evaluate its own history. (With several sequences decoding in one batch,
    // llama.cpp's numerics depend on the batch's make-up, with or without reuse: the next test checks the choice.)
    const single = engine(true, 1);
    try {
      const a: ChatMessage[] = [{ role: "system", content: SYSTEM_A }];
      const b: ChatMessage[] = [{ role: "system", content: SYSTEM_B }];
      for (let turn = 0; turn < 3; turn++) {
        a.push({ role: "user", content: `a ${turn}` });
        b.push({ role: "user", content: `b ${turn}` });
        const [ra, rb] = await Promise.all([ask(single, a, GREEDY), ask(single, b, SEEDED)]);
        expect(ra.text).to.equal((await ask(fresh, a, GREEDY)).text);
        expect(rb.text).to.equal((await ask(fresh, b, SEEDED)).text);
        a.push({ role: "assistant", content: ra.text });
        b.push({ role: "assistant", content: rb.text });
      }
    } finally {
      await single.dispose();
    }
  });

  it("gives each of two conversations running at once the sequence holding its history", async () => {
    const a: ChatMessage[] = [{ role: "system", content: SYSTEM_A }];
    const b: ChatMessage[] = [{ role: "system", content: SYSTEM_B }];
    const repliesA: Reply[] = [];
    const repliesB: Reply[] = [];
    for (let turn = 0; turn < 3; turn++) {
      a.push({ role: "user", content: `a ${turn} at once` });
      b.push({ role: "user", content: `b ${turn} at once` });
      const [ra, rb] = await Promise.all([ask(reuse, a, GREEDY), ask(reuse, b, SEEDED)]);
      a.push({ role: "assistant", content: ra.text });
      b.push({ role: "assistant", content: rb.text });
      repliesA.push(ra);
      repliesB.push(rb);
    }
    expectReused(repliesA);
    expectReused(repliesB);
  });

  it("starts a new conversation behind another's system prompt from a copy of that evaluation, leaving the other's cache", async () => {
    const system = "You are the shared system prompt of two conversations. " + "Answer in the voice of the lighthouse keeper. ".repeat(12);
    const a: ChatMessage[] = [{ role: "system", content: system }, { role: "user", content: "first conversation, first turn" }];
    const b: ChatMessage[] = [{ role: "system", content: system }, { role: "user", content: "second conversation, first turn" }];
    for (const sampling of [GREEDY, SEEDED]) {
      // Fresh sequences (earlier tests filled them), so B finds an empty one, as a daemon mostly does.
      await reuse.unload("tiny");
      const firstA = await ask(reuse, a, sampling);
      expect(firstA.text).to.equal((await ask(fresh, a, sampling)).text);
      // B's prompt shares the system prompt with A's sequence: it gets an empty sequence, seeded with A's cache.
      const firstB = await ask(reuse, b, sampling);
      const freshB = await ask(fresh, b, sampling);
      expect(firstB.text).to.equal(freshB.text);
      expect(firstB.usage.inputTokens).to.equal(freshB.usage.inputTokens);
      expect(firstB.usage.cachedInputTokens, "copied from the other conversation").to.be.greaterThan(MIN_COPY_GAIN);
      expect(firstB.usage.cachedInputTokens).to.be.lessThan(firstB.usage.inputTokens);
      // A's own sequence was left alone: its next turn reuses all of its first.
      const nextA = await ask(reuse, [...a, { role: "assistant", content: firstA.text }, { role: "user", content: "and then?" }], sampling);
      expect(nextA.usage.cachedInputTokens).to.be.at.least(firstA.usage.inputTokens);
    }
    // The state files went through private temporary folders, removed after each copy.
    expect(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("mlxm-sequence-"))).to.deep.equal([]);
  });

  it("generates the same with a JSON grammar and with tools", async () => {
    const json = await converse(SYSTEM_B, ["give json", "more json"], GREEDY, { responseFormat: { type: "json_object" } });
    expectReused(json);
    const tools = [{ name: "lookup", description: "Look a word up", parameters: { type: "object", properties: { word: { type: "string" } } } }];
    const withTools = await converse(SYSTEM_A, ["look up cat", "look up dog"], SEEDED, { tools, toolChoice: { type: "auto" } });
    expect(withTools[1]!.usage.cachedInputTokens).to.be.greaterThan(0);
  });
});
