/**
 * Wait for a condition, not the clock: poll `condition` until it holds, failing with `what` after `timeoutMs`.
 * The deadline only bounds a broken run; a passing test never waits longer than the condition takes.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
