/**
 * What a daemon that mlxm launches itself gets on top of the caller's environment: `mlxm daemon start`, autostart
 * and the service unit `mlxm service install` writes. Only a launcher can set these: libuv reads
 * `UV_THREADPOOL_SIZE` once, when its pool starts, before any of the daemon's code runs.
 *
 * Why `UV_THREADPOOL_SIZE`: node-llama-cpp runs every decode and every sample on a libuv pool thread, and so do
 * model loads, a pull's file writes and fdatasyncs, and DNS lookups. A pool of 1 is faster for a request generating
 * alone: consecutive decodes stay on one OS thread, and the lean loop queues each sample right behind its decode
 * (engine/direct-decode.ts). Measured with a 58M model on 2 cores (Dec 2026): single stream against llama-server
 * 0.99-1.03x with a pool of 1 against 0.92-0.94x with 4 (bench/inference.ts, paired, three runs); a pull alone as
 * fast (bench/launch-environment.ts). But on one thread everything else waits behind decodes: a pull beside a
 * generation took 1.19-1.85x as long, two models never decode at once (two streaming together: 0.76-1.03x the
 * tokens/s), a model load pauses other models' streams longer, and a cloud route's DNS lookup waits for the decode
 * step in progress. The saving is a fixed ~0.2 ms per token, which matters for a small model on a small machine
 * only, while the waits grow with the model; a manager of several models and routes should not have that
 * head-of-line blocking by default. So daemons get libuv's own default of 4, pinned here so that the measured
 * setting does not change with Node; a pool of 2 was not measurably faster than 4. A value the user set is kept
 * (README: 1 for a machine that serves one small local model).
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
