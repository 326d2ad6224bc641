/** The environment variable table for `mlxm serve --help`, rendered from the one declaration in src/config. */
import { VARIABLES } from "../config/variables.js";

export function variablesHelp(): string {
  return VARIABLES.map((v) => {
    const def = typeof v.defaultValue === "function" ? v.defaultValue() : v.defaultValue;
    return `  ${v.name}\n      ${v.help}${def !== undefined ? ` [default: ${def}]` : ""}`;
  }).join("\n");
}
