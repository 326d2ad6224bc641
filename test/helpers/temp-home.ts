/** A throwaway MLXM_HOME per test, removed afterwards. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function makeTempHome(prefix = "mlxm-test-"): { home: string; cleanup: () => void } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { home, cleanup: () => fs.rmSync(home, { recursive: true, force: true }) };
}
