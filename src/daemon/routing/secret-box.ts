/**
 * Seals upstream API keys at rest with AES-256-GCM. The 32-byte key lives in a file of its own under MLXM_HOME,
 * mode 0600, so a copied database alone does not reveal the keys. Sealed text: `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { makePrivateDir } from "../../home/home-dir.js";

export const SECRET_KEY_FILE = "secret.key";

export class SecretBoxError extends Error {
  readonly code = "secret_unreadable";
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

export class SecretBox {
  #key: Buffer | undefined;

  constructor(private readonly home: string) {}

  /** The key file's path (created on the first seal). */
  get keyFile(): string {
    return path.join(this.home, SECRET_KEY_FILE);
  }

  seal(plain: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", this.#keyBytes(true), iv);
    const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return ["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), data.toString("base64url")].join(".");
  }

  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(".");
    if (version !== "v1" || !iv || !tag || data === undefined) throw new SecretBoxError("a stored key is not in a known format");
    try {
      const decipher = crypto.createDecipheriv("aes-256-gcm", this.#keyBytes(false), Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
    } catch (err) {
      if (err instanceof SecretBoxError) throw err;
      throw new SecretBoxError(`a stored key cannot be decrypted with ${this.keyFile} (was the file replaced?)`);
    }
  }

  #keyBytes(create: boolean): Buffer {
    if (this.#key) return this.#key;
    try {
      this.#key = fs.readFileSync(this.keyFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || !create) throw new SecretBoxError(`cannot read ${this.keyFile}`);
      makePrivateDir(this.home);
      // "wx": never overwrite a key another process just wrote; then read back whichever won.
      try {
        fs.writeFileSync(this.keyFile, crypto.randomBytes(32), { mode: 0o600, flag: "wx" });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      this.#key = fs.readFileSync(this.keyFile);
    }
    if (this.#key.length !== 32) throw new SecretBoxError(`${this.keyFile} does not hold a 32-byte key`);
    return this.#key;
  }
}
