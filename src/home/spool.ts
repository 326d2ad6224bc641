/**
 * The CLI span spool: where a command's span waits, under MLXM_HOME, when no daemon answered. The CLI appends to
 * it and the daemon takes it in when it next starts, so both sides share this one module (neither imports the other).
 */
import fs from "node:fs";
import path from "node:path";
import { makePrivateDir, PRIVATE_FILE_MODE } from "./home-dir.js";

/** The spool's path relative to MLXM_HOME. */
export const SPOOL_FILE = path.join("spool", "cli-spans.jsonl");

/** A CLI that never meets a daemon must not fill the disk: past this size new lines are dropped. */
export const SPOOL_MAX_BYTES = 5 * 1024 * 1024;

/** The spool file of `home`. */
export function spoolPath(home: string): string {
  return path.join(home, SPOOL_FILE);
}

/** Append one JSON line; returns false (and writes nothing) when the spool is already at its cap. */
export function appendToSpool(home: string, value: unknown, maxBytes = SPOOL_MAX_BYTES): boolean {
  const file = spoolPath(home);
  if ((fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) > maxBytes) return false;
  // The home first, so a CLI that never met a daemon leaves it private too (a parent of the spool would not be).
  makePrivateDir(home);
  makePrivateDir(path.dirname(file));
  fs.appendFileSync(file, JSON.stringify(value) + "\n", { mode: PRIVATE_FILE_MODE });
  return true;
}

/**
 * Take the spool's lines and remove it once `consume` has stored them. The file is renamed first, so a CLI
 * appending meanwhile starts a new spool instead of losing its line. Returns what `consume` returned, or
 * undefined when there was no spool.
 */
export async function takeSpool<T>(home: string, consume: (lines: string[]) => Promise<T>): Promise<T | undefined> {
  const file = spoolPath(home);
  const taken = `${file}.${process.pid}`;
  try {
    fs.renameSync(file, taken);
  } catch {
    return undefined;
  }
  const lines = fs.readFileSync(taken, "utf8").split("\n").filter((line) => line.trim() !== "");
  const result = await consume(lines);
  fs.rmSync(taken, { force: true });
  return result;
}
