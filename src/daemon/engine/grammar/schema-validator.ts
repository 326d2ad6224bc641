/**
 * Checks generated JSON against the caller's original schema with ajv (draft 2020-12, `definitions` and
 * OpenAPI's `nullable` included) and ajv-formats. The grammar should make a failure impossible, so a failure is a
 * compiler bug: the engine logs and counts it.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
type AddFormats = (ajv: Ajv2020) => unknown;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as unknown as AddFormats;

const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: false, logger: false });
let documents = 0;
addFormats(ajv);

/** The outcome of checking one value. */
export interface SchemaCheck {
  valid: boolean;
  /** ajv's first error, as "path message", when not valid. */
  error?: string;
}

/** A compiled validator for `schema`. Throws when ajv cannot compile it (the compiler refuses such schemas first). */
export function compileValidator(schema: unknown): (value: unknown) => SchemaCheck {
  // A fresh id per document: `$ref: "#"` resolves against it, and it is removed again after compiling (compiled
  // functions are kept by the caller's cache, not in ajv's registry).
  const id = `mlxm:schema:${++documents}`;
  const document = typeof schema === "boolean" ? { $id: id, ...(schema ? {} : { not: {} }) } : { ...stripMeta(schema as Record<string, unknown>), $id: id };
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(document);
  } finally {
    ajv.removeSchema(id);
  }
  return (value) => {
    if (validate(value)) return { valid: true };
    const e = validate.errors?.[0];
    return { valid: false, error: e ? `${e.instancePath || "/"} ${e.message ?? e.keyword}` : "invalid" };
  };
}

/**
 * `$schema` would make ajv look up that draft's meta-schema (absent for drafts other than 2020-12), `$id` would
 * register the document under a global name: neither changes what the schema accepts.
 */
function stripMeta(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}
