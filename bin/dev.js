#!/usr/bin/env -S node --import tsx
// Development entrypoint: runs the TypeScript sources without a build.
import { startObservability } from "../src/observability/entry.ts";

const observability = await startObservability(process.argv.slice(2));
const { execute } = await import("@oclif/core");
await execute({ development: true, dir: import.meta.url }).finally(() => observability.finish());
