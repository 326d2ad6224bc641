/**
 * A GBNF grammar without recursion as one JavaScript RegExp, so tests can check exactly which strings a compiled
 * grammar admits (llama.cpp itself is exercised by the integration tests). Handles what the compiler emits:
 * literals, classes, groups, alternatives, `? * +` and `{m,n}`, rule references.
 */
export function gbnfToRegExp(grammar: string, root = "root"): RegExp {
  const rules = new Map<string, string>();
  for (const line of grammar.split("\n")) {
    const m = /^([A-Za-z0-9-]+) ::= (.*)$/.exec(line);
    if (m) rules.set(m[1]!, m[2]!);
  }
  const expand = (name: string, depth: number): string => {
    if (depth > 64) throw new Error(`rule ${name} is recursive`);
    const body = rules.get(name);
    if (body === undefined) throw new Error(`no rule ${name}`);
    return `(?:${convert(body, depth)})`;
  };
  const convert = (body: string, depth: number): string => {
    let out = "";
    for (let i = 0; i < body.length; ) {
      const c = body[i]!;
      if (c === " ") i++;
      else if (c === '"') {
        let j = i + 1;
        let text = "";
        while (body[j] !== '"') {
          if (body[j] === "\\") {
            const [cp, len] = escape(body, j);
            text += String.fromCodePoint(cp);
            j += len;
          } else text += body[j++];
        }
        // fast-check's stringMatching cannot parse an empty group: write the empty string as zero repetitions.
        out += text === "" ? "(?:a{0})" : `(?:${text.replace(/[.*+?^${}()|[\]\\/]/g, (x) => `\\${x}`)})`;
        i = j + 1;
      } else if (c === "[") {
        let j = i + 1;
        let cls = "[";
        if (body[j] === "^") (cls += "^"), j++;
        while (body[j] !== "]") {
          if (body[j] === "\\") {
            const [cp, len] = escape(body, j);
            cls += `\\u{${cp.toString(16)}}`;
            j += len;
          } else if (body[j] === "-") (cls += "-"), j++;
          else cls += body[j++]!.replace(/[\\^\]]/, (x) => `\\${x}`);
        }
        out += `${cls}]`;
        i = j + 1;
      } else if (c === "(") (out += "(?:"), i++;
      else if (")|?*+".includes(c)) (out += c), i++;
      else if (c === "{") {
        const j = body.indexOf("}", i);
        out += body.slice(i, j + 1);
        i = j + 1;
      } else {
        const m = /^[A-Za-z0-9-]+/.exec(body.slice(i))!;
        out += expand(m[0], depth + 1);
        i += m[0].length;
      }
    }
    return out;
  };
  return new RegExp(`^${expand(root, 0)}$`, "u");
}

function escape(s: string, j: number): [number, number] {
  const k = s[j + 1]!;
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "\\": 92, "[": 91, "]": 93 };
  if (k in simple) return [simple[k]!, 2];
  const len = k === "x" ? 2 : k === "u" ? 4 : k === "U" ? 8 : 0;
  if (!len) throw new Error(`escape \\${k}`);
  return [parseInt(s.slice(j + 2, j + 2 + len), 16), 2 + len];
}
