/** The environment variable table for `mlxm serve --help`, rendered from the one declaration in src/config. */
import { VARIABLES, type VariableSpec } from "../config/variables.js";

export function variablesHelp(): string {
  return VARIABLES.map((v) => {
    const spec: VariableSpec = v;
    const def = spec.shownDefault ?? (typeof spec.defaultValue === "function" ? spec.defaultValue() : spec.defaultValue);
    return `  ${v.name}\n      ${v.help}${def !== undefined ? ` [default: ${def}]` : ""}`;
  }).join("\n");
}
