/**
 * What a daemon that mlxm launches itself gets on top of the caller's environment: `mlxm daemon start`, autostart
 * and the service unit `mlxm service install` writes. Only a launcher can set these: libuv reads
 * `UV_THREADPOOL_SIZE` once, when its pool starts, before any of the daemon's code runs.
 *
 * Why `UV_THREADPOOL_SIZE`: node-llama-cpp runs every decode and every sample on a libuv pool thread, and so do
 * model loads, a pull's file writes and fdatasyncs, and DNS lookups. A pool of 1 is faster for a request generating
 * alone: consecutive decodes stay on one OS thread, and the lean loop queues each sample right behind its decode
 * (engine/direct-decode.ts). Measured with a 58M model on 2 cores (bench/launch-environment.ts, Dec 2026):
 * single-stream decode 1.12-1.26x as fast; a pull 1.03-1.06x as long alone and 1.19-1.25x beside a generation. But
 * on one thread everything else waits behind decodes: two models never decode at once, a model load holds up other
 * models' streams, a cloud route's DNS lookup waits for a prompt's decode step. A manager of several models and
 * routes should not have that head-of-line blocking by default, so daemons get libuv's own default of 4, pinned
 * here so that the measured setting does not change with Node; a pool of 2 was no faster than 4. A value the user
 * set is kept (README: 1 for a machine that serves one local model).
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
