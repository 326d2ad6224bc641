/**
 * The chat wrapper of a model file, resolved once per file rather than on every load.
 *
 * Why. node-llama-cpp's `resolveChatWrapper(model)` decides between its specialized wrappers and the GGUF's own Jinja
 * template by rendering the template against each compatible wrapper in a matrix of options: 0.5-0.9 s of
 * main-thread JavaScript for a ChatML model on this project's 2-core machine, on every call (it keeps nothing). While
 * it runs, every other request's stream stops: loading a second model paused a stream on the first for 258-497 ms
 * (bench/launch-environment.ts), and a model unloaded after its keep-alive paid it again on every load. Kept per
 * file, a load after the first paused the other stream for 87-91 ms (43-60 ms once the loader kept its parse too).
 *
 * What is kept, per version of a model file (its identity from a stat, as the loader validated it: device, inode,
 * size and times; with the file name, which the decision reads too):
 * - a specialized, template or general wrapper itself: they hold only their settings, no model state, and are
 *   already shared by every request of a loaded model;
 * - for the Jinja template wrapper, which holds the model's tokenizer, only the decision: a later load builds one for
 *   its own model through node-llama-cpp's explicit `jinjaTemplate` type (8-10 ms: the same constructor and
 *   options, without the equivalence checks).
 */
import { JinjaTemplateChatWrapper, resolveChatWrapper, type ChatWrapper, type LlamaModel } from "node-llama-cpp";

/** File versions remembered at most; the oldest is forgotten first (a library rarely holds this many). */
const MAX_FILES = 64;

const resolved = new Map<string, ChatWrapper | "jinja">();

/** `resolveChatWrapper(model)`, remembered for the file version `fileIdentity` names (see the module comment). */
export function chatWrapperFor(model: LlamaModel, fileIdentity: string | undefined): ChatWrapper {
  if (!fileIdentity) return resolveChatWrapper(model);
  const key = `${fileIdentity}\0${model.filename ?? ""}`;
  const known = resolved.get(key);
  if (known === "jinja") return resolveChatWrapper(model, { type: "jinjaTemplate" });
  if (known) return known;
  const wrapper = resolveChatWrapper(model);
  resolved.set(key, wrapper instanceof JinjaTemplateChatWrapper ? "jinja" : wrapper);
  if (resolved.size > MAX_FILES) resolved.delete(resolved.keys().next().value!);
  return wrapper;
}
