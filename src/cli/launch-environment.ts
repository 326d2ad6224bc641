/**
 * What a daemon that mlxm launches itself gets on top of the caller's environment: `mlxm daemon start`, autostart
 * and the service unit `mlxm service install` writes. Only a launcher can set these: libuv reads
 * `UV_THREADPOOL_SIZE` once, when its pool starts, before any of the daemon's code runs.
 *
 * Why `UV_THREADPOOL_SIZE`: node-llama-cpp runs every decode and every sample on a libuv pool thread, and so do
 * model loads, a pull's file writes and fdatasyncs, and DNS lookups. A request generating alone is fastest when the
 * pool runs one job at a time (the lean loop queues each sample right behind its decode: engine/direct-decode.ts).
 * The daemon gets that for just that time by parking all pool threads but one (engine/pool-parking.ts), and gives
 * them back the moment another request, a load or a pull needs them. A pool of 1 would get it for good, and make
 * everything else wait behind decodes: a pull beside a generation took 1.19-1.85x as long, two models never decode
 * at once (two streaming together: 0.76-1.03x the tokens/s), a model load pauses other models' streams longer, and
 * a cloud route's DNS lookup waits for the decode step in progress. Measured with a 58M model on 2 cores (Dec 2026,
 * bench/inference.ts paired, single stream against llama-server, four runs): 0.968-1.026x with 4 and parking,
 * 0.991-1.027x with a pool of 1, 0.931-0.956x with 4 and no parking. So daemons get libuv's own default of 4, pinned
 * here so that the measured setting does not change with Node. A value the user set is kept.
 */
export const LAUNCH_DEFAULTS: Readonly<Record<string, string>> = {
  UV_THREADPOOL_SIZE: "4",
};

/** The launch settings for `env`: each launch default, or the value `env` gives it (an empty value counts as unset). */
export function launchSettings(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(LAUNCH_DEFAULTS).map(([name, value]) => [name, env[name] || value]));
}

/** `env` with the launch defaults for whatever it leaves unset. */
export function withLaunchDefaults<T extends Record<string, string | undefined>>(env: T): T & Record<string, string> {
  return { ...env, ...launchSettings(env) };
}
