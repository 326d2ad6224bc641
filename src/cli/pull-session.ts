/**
 * One `mlxm pull` in the terminal: follow the daemon's progress stream, render it, and handle Ctrl-C. The pull
 * belongs to the daemon, so interrupting only detaches, unless the user (on a terminal) says to cancel it.
 */
import readline from "node:readline/promises";
import { InterruptedError } from "../client/errors.js";
import type { MlxmClient } from "../client/mlxm-client.js";
import { createProgressView } from "./pull-progress.js";

export interface PullOutcome {
  model: string;
  status: "success" | "detached" | "cancelled";
  /** The local name the model is stored under, once known. */
  name?: string;
}

export interface PullSessionOptions {
  file?: string;
  revision?: string;
  detach?: boolean;
  /** The CLI's HF_TOKEN, when it may go to this daemon (hubTokenForDaemon). */
  hubToken?: string;
  json: boolean;
  log: (line: string) => void;
}

export async function runPull(client: MlxmClient, model: string, options: PullSessionOptions): Promise<PullOutcome> {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !options.json;
  const view = createProgressView(options.json ? "json" : process.stderr.isTTY ? "tty" : "plain", options.log);
  const detach = new AbortController();
  let name: string | undefined;
  let paused = false;
  let interrupted: "detached" | "cancelled" | undefined;

  const onSigint = async () => {
    if (interrupted || paused) return;
    if (!interactive) {
      interrupted = "detached";
      detach.abort();
      return;
    }
    paused = true;
    view.stop();
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`\nCancel the pull of ${name ?? model}? It goes on in the daemon otherwise. [y/N] `).catch(() => "");
    rl.close();
    interrupted = /^y(es)?$/i.test(answer.trim()) ? "cancelled" : "detached";
    if (interrupted === "cancelled") await client.cancelPull(name ?? model).catch(() => {});
    detach.abort();
  };
  process.on("SIGINT", onSigint);

  try {
    for await (const p of client.pull(model, { file: options.file, revision: options.revision, signal: detach.signal, hubToken: options.hubToken })) {
      if (p.name) name = p.name;
      if (!paused) view.update(p);
      if (options.detach && p.digest) {
        view.stop();
        if (!options.json) options.log(`pulling ${name ?? model} in the daemon; \`mlxm pull ${model}\` shows its progress`);
        return { model, status: "detached", name };
      }
    }
    view.stop();
    return { model, status: "success", name };
  } catch (err) {
    view.stop();
    if (!interrupted) throw err;
    // Cancelled at the prompt: not a success (`mlxm pull x && mlxm run x` must not go on), and said so.
    if (interrupted === "cancelled") {
      throw new InterruptedError(`cancelled the pull of ${name ?? model}; what it downloaded is kept for the next pull (\`mlxm pull --cancel ${model} --discard\` deletes it)`);
    }
    throw new InterruptedError(
      `interrupted; the pull of ${name ?? model} goes on in the daemon (\`mlxm pull ${model}\` to follow it, \`mlxm pull --cancel ${model}\` to stop it)`,
    );
  } finally {
    process.off("SIGINT", onSigint);
  }
}
