/** API key types shared by the daemon's `/api/keys` endpoints, MlxmClient and `mlxm key`. */
import { z } from "zod";

export const KeyName = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-' only");

export const CreateKeyRequest = z.object({ name: KeyName.optional() });
export type CreateKeyRequest = z.infer<typeof CreateKeyRequest>;

export const ApiKeyInfo = z.object({
  name: z.string(),
  /** The first characters of the key, to recognise it; the key itself is never stored. */
  prefix: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

/** The answer to a create: the only time the key is shown. */
export const CreateKeyResponse = ApiKeyInfo.extend({ key: z.string() });
export type CreateKeyResponse = z.infer<typeof CreateKeyResponse>;

export const KeyListResponse = z.object({ keys: z.array(ApiKeyInfo) });
export type KeyListResponse = z.infer<typeof KeyListResponse>;

export const RevokeKeyResponse = z.object({ revoked: z.string() });
export type RevokeKeyResponse = z.infer<typeof RevokeKeyResponse>;
