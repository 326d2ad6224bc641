/** Reading the daemon's JSON-lines log for `mlxm daemon logs`, pretty on a terminal. */
import fs from "node:fs";
import { prettyFactory } from "pino-pretty";
import { CLIError } from "@oclif/core/errors";

const prettify = prettyFactory({ colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" });

function format(line: string, pretty: boolean): string {
  if (!pretty || !line.startsWith("{")) return line;
  try {
    return prettify(JSON.parse(line)).trimEnd();
  } catch {
    return line;
  }
}

/** Print the last `lines` lines; returns the byte offset reached, for following. */
export function printLog(file: string, lines: number, pretty: boolean, out: (l: string) => void): number {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new CLIError(`no daemon log at ${file} (the background daemon has not run for this MLXM_HOME)`, { exit: 4 });
  }
  // slice(-0) would be the whole log.
  if (lines > 0) for (const l of text.split("\n").filter(Boolean).slice(-lines)) out(format(l, pretty));
  return Buffer.byteLength(text);
}

/** Print lines appended after `offset` until the process is interrupted. */
export async function followLog(file: string, offset: number, pretty: boolean, out: (l: string) => void): Promise<never> {
  let position = offset;
  let partial = "";
  for (;;) {
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size < position) position = 0; // rotated
    if (size > position) {
      const fd = fs.openSync(file, "r");
      const buf = Buffer.alloc(size - position);
      fs.readSync(fd, buf, 0, buf.length, position);
      fs.closeSync(fd);
      position = size;
      const chunks = (partial + buf.toString("utf8")).split("\n");
      partial = chunks.pop() ?? "";
      for (const l of chunks) if (l) out(format(l, pretty));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
