#!/usr/bin/env node
// mlxm's entrypoint. Observability is configured before anything else is imported (see src/observability/entry.ts):
// the daemon (`mlxm serve`) gets the full OpenTelemetry SDK, every other command a light tracer.
import { startObservability } from "../dist/observability/entry.js";

const observability = await startObservability(process.argv.slice(2));
const { run, flush, handle } = await import("@oclif/core");

try {
  await run(process.argv.slice(2), import.meta.url);
  await flush();
  await observability.finish();
} catch (error) {
  // oclif's error path ends the process: finish the command's span and hand it to the daemon first.
  await observability.finish(error);
  await handle(error);
}
