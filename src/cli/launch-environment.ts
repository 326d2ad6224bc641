/**
 * What a daemon that mlxm launches itself gets on top of the caller's environment: `mlxm daemon start`, autostart
 * and the service unit `mlxm service install` writes. Only a launcher can set these: libuv reads
 * `UV_THREADPOOL_SIZE` once, when its pool starts, before any of the daemon's code runs.
 *
 * Why `UV_THREADPOOL_SIZE`: node-llama-cpp runs every decode on a libuv pool thread, and so do a pull's file writes,
 * fdatasyncs and the model files' reads. The default pool of 4 lets consecutive decodes hop between OS threads (and
 * CPUs); a pool of 1 keeps them on one thread but queues a pull's disk work behind decodes and the reverse. What
 * measured fastest on both sides is below (bench/launch-environment.ts: decode alone, pull alone, both at once).
 * A value the user set is kept.
 */
export const LAUNCH_DEFAULTS: Readonly<Record<string, string>> = {
  UV_THREADPOOL_SIZE: "2",
};

/** `env` with the launch defaults for whatever it leaves unset. */
export function withLaunchDefaults<T extends Record<string, string | undefined>>(env: T): T & Record<string, string> {
  const defaults = Object.fromEntries(Object.entries(LAUNCH_DEFAULTS).filter(([name]) => !env[name]));
  return { ...env, ...defaults } as T & Record<string, string>;
}
