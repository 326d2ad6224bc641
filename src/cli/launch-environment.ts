/**
 * What a daemon that mlxm launches itself gets on top of the caller's environment: `mlxm daemon start`, autostart
 * and the service unit `mlxm service install` writes. Only a launcher can set these: libuv reads
 * `UV_THREADPOOL_SIZE` once, when its pool starts, before any of the daemon's code runs.
 *
 * Why `UV_THREADPOOL_SIZE`: node-llama-cpp runs every decode on a libuv pool thread, and so do a pull's file writes
 * and fdatasyncs. A pool of 1 keeps consecutive decodes on one OS thread, which decoded 5-14 % faster, but it queues
 * the pull's disk work behind decodes and the reverse: pulls took 1.35-1.5x as long, alone or beside a generation,
 * and a pool of 2 was no faster than 4 at anything (bench/launch-environment.ts, 2 cores, Nov 2026). So daemons get
 * libuv's own default of 4, pinned here so that the measured setting does not change with Node. A value the user
 * set is kept.
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
