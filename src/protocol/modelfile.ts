/**
 * The small part of Ollama's Modelfile that a preset needs, shared by `mlxm create -f` and `/api/create`'s
 * `modelfile` field: `FROM <model>`, `SYSTEM <text>` (or `"""…"""` over several lines) and `PARAMETER <key> <value>`
 * (repeat `stop` for several). Lines starting with `#` are comments. Anything else is an error naming the line.
 */
import { PresetParameters } from "./library.js";

/** What a Modelfile says. */
export interface ParsedModelfile {
  from?: string;
  system?: string;
  parameters: PresetParameters;
}

/** Numbers for every parameter but `stop`. */
const STRING_PARAMS = new Set(["stop"]);

/** Parse Modelfile text; throws an Error whose message names the line at fault. */
export function parseModelfile(text: string): ParsedModelfile {
  const lines = text.split(/\r?\n/);
  const out: ParsedModelfile = { parameters: {} };
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`line ${i + 1}: expected an instruction and a value`);
    const instruction = m[1]!.toUpperCase();
    let value = m[2]!.trim();
    if (value.startsWith('"""')) {
      // A multi-line value runs to the closing triple quote.
      let body = value.slice(3);
      while (!body.includes('"""')) {
        if (++i >= lines.length) throw new Error(`line ${i}: unterminated """`);
        body += `\n${lines[i]}`;
      }
      value = body.slice(0, body.indexOf('"""'));
    } else if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = JSON.parse(value) as string;
    }
    switch (instruction) {
      case "FROM":
        out.from = value;
        break;
      case "SYSTEM":
        out.system = value;
        break;
      case "PARAMETER": {
        const pm = /^(\w+)\s+([\s\S]+)$/.exec(value);
        if (!pm) throw new Error(`line ${i + 1}: PARAMETER needs a name and a value`);
        const key = pm[1]!;
        let v = pm[2]!.trim();
        if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = JSON.parse(v) as string;
        if (STRING_PARAMS.has(key)) raw[key] = [...((raw[key] as string[] | undefined) ?? []), v];
        else if (Number.isFinite(Number(v)) && v !== "") raw[key] = Number(v);
        else throw new Error(`line ${i + 1}: PARAMETER ${key} needs a number, got "${v}"`);
        break;
      }
      default:
        throw new Error(`line ${i + 1}: ${instruction} is not supported (FROM, SYSTEM and PARAMETER are)`);
    }
  }
  const parsed = PresetParameters.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys[0] : issue.path.join(".");
    throw new Error(`PARAMETER ${key}: ${issue.code === "unrecognized_keys" ? "not supported" : issue.message}`);
  }
  out.parameters = parsed.data;
  return out;
}
