/**
 * Which credentials the daemon accepts: the local admin token and the active API keys. Key hashes are held in
 * memory (reloaded after each create/revoke, which only this daemon performs), so a request costs one SHA-256
 * and constant-time comparisons, never a query; `last_used_at` is written at most once a minute per key.
 */
import crypto from "node:crypto";
import { hashApiKey, type ApiKeysRepo } from "../store/repos/api-keys-repo.js";

/** Who a request authenticated as. */
export type Principal = { kind: "admin" } | { kind: "key"; id: number; name: string };

const LAST_USED_WRITE_MS = 60_000;
/** What every API key (and every generated admin token) begins with. */
const CREDENTIAL_PREFIX = "mlxm-";

export class KeyVerifier {
  private keys: { id: number; name: string; hash: Buffer }[] = [];
  private everHadKeys = false;
  private repo: ApiKeysRepo | undefined;
  private readonly adminHash: Buffer;
  private readonly adminLength: number;
  private readonly lastWritten = new Map<number, number>();

  constructor(adminToken: string) {
    this.adminHash = sha256(adminToken);
    this.adminLength = adminToken.length;
  }

  /** Start checking API keys from `repo` (once the store is open). */
  async attach(repo: ApiKeysRepo): Promise<void> {
    this.repo = repo;
    await this.reload();
  }

  /** Re-read the active keys: call after creating or revoking one. */
  async reload(): Promise<void> {
    if (!this.repo) return;
    const rows = await this.repo.activeHashes();
    this.everHadKeys = rows.length > 0 || (await this.repo.list()).length > 0;
    this.keys = rows.map((r) => ({ id: r.id, name: r.name, hash: Buffer.from(r.hash, "hex") }));
    for (const id of this.lastWritten.keys()) if (!rows.some((r) => r.id === id)) this.lastWritten.delete(id);
  }

  /**
   * True once an API key was ever created: from then on every request needs a credential. Revoking the last key
   * does not reopen the daemon (nor let a revoked key back in, which an open daemon would not even look at).
   */
  hasKeys(): boolean {
    return this.everHadKeys;
  }

  /** True while some API key is not revoked (what a daemon listening beyond loopback needs to start). */
  hasActiveKeys(): boolean {
    return this.keys.length > 0;
  }

  /** The principal `presented` belongs to, or undefined. Every candidate is compared, in constant time. */
  verify(presented: string): Principal | undefined {
    // Clients that must send some key to an open daemon send anything ("none", "ollama", "sk-…"): those need no hash
    // to be refused, which keeps a SHA-256 off every such request's way to its first token. Every key the daemon
    // issues starts with `mlxm-` (api-keys-repo.ts), and so does a generated admin token; one provisioned by hand
    // (admin-token.ts takes any file of 32 characters or more) is recognised by its length. Only the prefix and that
    // length can be told apart by timing; the secret is compared in constant time as before.
    if (!presented.startsWith(CREDENTIAL_PREFIX) && presented.length !== this.adminLength) return undefined;
    const hash = sha256(presented);
    let found: Principal | undefined = crypto.timingSafeEqual(hash, this.adminHash) ? { kind: "admin" } : undefined;
    for (const key of this.keys) {
      if (crypto.timingSafeEqual(hash, key.hash) && !found) found = { kind: "key", id: key.id, name: key.name };
    }
    if (found?.kind === "key") this.touch(found.id);
    return found;
  }

  private touch(id: number): void {
    const now = Date.now();
    if (now - (this.lastWritten.get(id) ?? 0) < LAST_USED_WRITE_MS) return;
    this.lastWritten.set(id, now);
    // Best effort: a failed bookkeeping write must not fail the request it describes.
    void this.repo?.markUsed(id).catch(() => {});
  }
}

function sha256(text: string): Buffer {
  return Buffer.from(hashApiKey(text), "hex");
}
