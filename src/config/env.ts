/**
 * Reads one environment variable at the moment it is needed. Routes name the variable holding their upstream key
 * (`--api-key-env`), read per request so a rotated key needs no restart; this keeps that read inside `src/config`.
 */
export function readEnvVariable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}
