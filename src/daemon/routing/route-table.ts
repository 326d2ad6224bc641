/**
 * Which routes apply to a model name: exact names or globs (picomatch, with `*` crossing `/` since model names
 * contain slashes), ordered by priority, then exact before glob, then the longer pattern, then the older route.
 */
import picomatch from "picomatch";

export interface RoutePattern {
  id: number;
  pattern: string;
  priority: number;
}

/** True when `pattern` has glob syntax (so it names a family of models, not one to list). */
export function isGlob(pattern: string): boolean {
  return picomatch.scan(pattern).isGlob;
}

/** Routes matching `name`, best first. */
export function matchRoutes<R extends RoutePattern>(routes: readonly R[], name: string): R[] {
  return routes
    .filter((r) => r.pattern === name || (isGlob(r.pattern) && picomatch.isMatch(name, r.pattern, { bash: true, dot: true })))
    .sort(
      (a, b) =>
        b.priority - a.priority ||
        Number(a.pattern !== name) - Number(b.pattern !== name) ||
        b.pattern.length - a.pattern.length ||
        a.id - b.id,
    );
}
