/** The structured-output schema corpus checked in under test/fixtures/schemas (see make-corpus.ts there). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "schemas");
const read = (name: string) => JSON.parse(readFileSync(path.join(dir, name), "utf8")) as unknown[];

/** Every schema the compiler must enforce, named by source and index. */
export function enforcedCorpus(): { name: string; schema: Record<string, unknown> }[] {
  return ["hand-written", "zod", "pydantic"].flatMap((source) =>
    read(`${source}.json`).map((schema, i) => ({ name: `${source}[${i}]`, schema: schema as Record<string, unknown> })),
  );
}

/** Schemas the compiler must refuse, with the keyword the refusal names. */
export function refusedCorpus(): { keyword: string; schema: Record<string, unknown> }[] {
  return read("refused.json") as { keyword: string; schema: Record<string, unknown> }[];
}
