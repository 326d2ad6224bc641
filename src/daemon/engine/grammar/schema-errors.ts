/**
 * The one error the schema compiler throws: a keyword it cannot enforce (or a schema nothing can satisfy), with
 * the JSON path of the schema that holds it. The engine turns it into a 400 in the caller's protocol.
 */
export class UnsupportedSchemaError extends Error {
  constructor(
    /** The keyword at fault, e.g. `uniqueItems`. */
    readonly keyword: string,
    /** Where it sits, from the schema's root, e.g. `properties.tags`; empty for the root. */
    readonly path: string,
    /** Why it is not enforced. */
    readonly reason: string,
  ) {
    super(`JSON Schema keyword "${keyword}" at ${path || "the schema root"} is not enforced: ${reason}`);
    this.name = "UnsupportedSchemaError";
  }
}

/** `path` with one more step: a property name, an index or a keyword. */
export function childPath(path: string, step: string | number): string {
  if (typeof step === "number") return `${path}[${step}]`;
  return /^[A-Za-z_$][\w$]*$/.test(step) ? (path ? `${path}.${step}` : step) : `${path}[${JSON.stringify(step)}]`;
}

/** `path` (relative to a schema) under `base` (where the schema sits in the request). */
export function joinPath(base: string, path: string): string {
  if (!path) return base;
  if (!base) return path;
  return path.startsWith("[") ? `${base}${path}` : `${base}.${path}`;
}
