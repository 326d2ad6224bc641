/**
 * engine/chat-wrappers.ts on real node-llama-cpp: a model file's chat wrapper is resolved once per file version (the
 * loader's stat identity; here any string), and what a later load of the same file gets renders prompts exactly as
 * a fresh `resolveChatWrapper` would, for a model whose template node-llama-cpp recognizes (ChatML: the wrapper
 * itself is kept) and for one it does not (the Jinja template wrapper, which holds the model's tokenizer: only the
 * decision is kept, and each load gets its own).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JinjaTemplateChatWrapper, resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel } from "node-llama-cpp";
import { chatWrapperFor } from "../../src/daemon/engine/chat-wrappers.js";
import { writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";

/** A template none of node-llama-cpp's specialized wrappers renders the same way. */
const CUSTOM_TEMPLATE =
  "{% for message in messages %}[{{ message.role | upper }}] {{ message.content }}\n{% endfor %}" +
  "{% if add_generation_prompt %}[ASSISTANT] {% endif %}";

const HISTORY: ChatHistoryItem[] = [
  { type: "system", text: "You are terse." },
  { type: "user", text: "Name a colour." },
  { type: "model", response: ["Teal."] },
  { type: "user", text: "Another one?" },
];

const rendered = (wrapper: ChatWrapper) => wrapper.generateContextState({ chatHistory: HISTORY }).contextText.toString();

describe("chat wrappers resolved once per model file (real node-llama-cpp)", function () {
  let hold: LlamaLease;
  let dir: string;
  const loaded: LlamaModel[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlxm-chat-wrappers-"));
    await writeTinyLlama(join(dir, "chatml.gguf"), { seed: 3 });
    await writeTinyLlama(join(dir, "custom.gguf"), { seed: 4, chatTemplate: CUSTOM_TEMPLATE });
    hold = leaseLlama({ threads: 1 });
  });

  after(async () => {
    for (const model of loaded) if (!model.disposed) await model.dispose();
    await hold?.release();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function load(file: string): Promise<LlamaModel> {
    const model = await (await hold.llama()).loadModel({ modelPath: join(dir, file) });
    loaded.push(model);
    return model;
  }

  it("keeps a recognized template's wrapper across loads of the same file", async () => {
    const first = await load("chatml.gguf");
    const wrapper = chatWrapperFor(first, "chatml-v1");
    expect(wrapper).to.not.be.instanceOf(JinjaTemplateChatWrapper);
    const fresh = resolveChatWrapper(first);
    expect(wrapper.wrapperName).to.equal(fresh.wrapperName);
    await first.dispose();

    const again = await load("chatml.gguf");
    expect(chatWrapperFor(again, "chatml-v1")).to.equal(wrapper);
    expect(rendered(wrapper)).to.equal(rendered(resolveChatWrapper(again)));
    // Another version of the file (replaced on disk: another identity) is resolved afresh; without one, nothing
    // is remembered.
    expect(chatWrapperFor(again, "chatml-v2")).to.not.equal(wrapper);
    expect(chatWrapperFor(again, undefined)).to.not.equal(chatWrapperFor(again, undefined));
  });

  it("gives each load of a file with an unrecognized template a Jinja wrapper of its own, rendering the same", async () => {
    const first = await load("custom.gguf");
    const wrapper = chatWrapperFor(first, "custom-v1");
    expect(wrapper).to.be.instanceOf(JinjaTemplateChatWrapper);
    const before = rendered(wrapper);
    expect(before).to.contain("[USER] Another one?");
    await first.dispose();

    const again = await load("custom.gguf");
    const next = chatWrapperFor(again, "custom-v1");
    expect(next).to.be.instanceOf(JinjaTemplateChatWrapper);
    expect(next).to.not.equal(wrapper);
    // The first model is gone: the new wrapper renders with the new model, exactly as a fresh resolution does.
    expect(rendered(next)).to.equal(before);
    expect(rendered(next)).to.equal(rendered(resolveChatWrapper(again)));
  });
});
