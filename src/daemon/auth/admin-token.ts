/**
 * The local admin token: a random secret in `MLXM_HOME/admin.token` (mode 0600), written by the daemon at start
 * and read by the CLI, so commands keep working when the daemon requires keys. Whoever can read the file is the
 * daemon's own user, which is the trust a local CLI needs anyway.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { makePrivateDir } from "../../home/home-dir.js";

export function adminTokenPath(home: string): string {
  return path.join(home, "admin.token");
}

/** The token of `home`, created (exclusively, 0600) when missing or unreadable. */
export function ensureAdminToken(home: string): string {
  const file = adminTokenPath(home);
  const existing = readAdminToken(home);
  if (existing) {
    // A copied or restored home may carry looser permissions: the token is only as safe as its mode.
    fs.chmodSync(file, 0o600);
    return existing;
  }
  makePrivateDir(home);
  const token = `mlxm-admin-${crypto.randomBytes(32).toString("base64url")}`;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return token;
}

/** The token of `home`, or undefined when there is none (no daemon ever ran there). */
export function readAdminToken(home: string): string | undefined {
  try {
    const token = fs.readFileSync(adminTokenPath(home), "utf8").trim();
    return token.length >= 32 ? token : undefined;
  } catch {
    return undefined;
  }
}
