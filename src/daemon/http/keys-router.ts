/**
 * `/api/keys`: create, list and revoke API keys. Only the local admin token (the CLI on the daemon's machine) may
 * call these; the verifier reloads after each change, so a new key works and a revoked one fails at once.
 */
import { jsonBody } from "./json-body.js";
import { Router } from "express";
import { CreateKeyRequest, KeyName, type ApiKeyInfo, type CreateKeyResponse, type KeyListResponse, type RevokeKeyResponse } from "../../protocol/keys.js";
import { requireAdmin } from "../auth/guard.js";
import type { KeyVerifier } from "../auth/key-verifier.js";
import { parseBody } from "../compat/parse.js";
import type { DaemonContext } from "../context.js";
import { HttpError, badRequest, notFound } from "../errors.js";
import type { ApiKeyRow } from "../store/repos/api-keys-repo.js";

export function createKeysRouter(ctx: DaemonContext, verifier: KeyVerifier): Router {
  const router = Router();
  router.use("/keys", requireAdmin("managing API keys", "mlxm key"));

  router.post("/keys", jsonBody("16kb"), async (req, res) => {
    const { name } = parseBody(CreateKeyRequest, req.body ?? {});
    const { store } = ctx.services();
    const keyName = name ?? (await freeName(async (n) => (await store.apiKeys.findByName(n)) !== undefined));
    if (await store.apiKeys.findByName(keyName)) throw new HttpError("conflict", `a key named "${keyName}" already exists (revoked keys keep their name)`);
    const { row, key } = await store.apiKeys.create(keyName);
    await verifier.reload();
    const body: CreateKeyResponse = { ...toKeyInfo(row), key };
    res.status(201).json(body);
  });

  router.get("/keys", async (_req, res) => {
    const body: KeyListResponse = { keys: (await ctx.services().store.apiKeys.list()).map(toKeyInfo) };
    res.json(body);
  });

  router.delete("/keys/:name", async (req, res) => {
    const parsed = KeyName.safeParse(req.params.name);
    if (!parsed.success) throw badRequest(`invalid key name: ${parsed.error.issues[0]?.message}`, "name");
    const revoked = await ctx.services().store.apiKeys.revoke(parsed.data);
    if (!revoked) throw notFound(`no active key named "${parsed.data}"`);
    await verifier.reload();
    const body: RevokeKeyResponse = { revoked: parsed.data };
    res.json(body);
  });

  return router;
}

async function freeName(taken: (name: string) => Promise<boolean>): Promise<string> {
  for (let n = 1; ; n++) if (!(await taken(`key-${n}`))) return `key-${n}`;
}

function toKeyInfo(row: ApiKeyRow): ApiKeyInfo {
  return { name: row.name, prefix: row.prefix, created_at: row.created_at, last_used_at: row.last_used_at, revoked_at: row.revoked_at };
}
