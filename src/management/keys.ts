/**
 * Key management for a workspace's management key: create, list, show, change, revoke. A change that
 * affects authentication or a call's settings evicts the key from this process's cache, so it applies
 * to the next request; other processes see it within `key_cache_ttl_ms`.
 */

import { Type, type Static } from "@sinclair/typebox";
import type { KeyPatch, KeyRow } from "../db/repo/keys.ts";
import type { Deps } from "../deps.ts";
import { GatewayError } from "../errors.ts";
import { keyDocument, newKeyDocument, type KeyDocument } from "./documents.ts";
import { routeSetting } from "./route-setting.ts";
import { compileBody } from "./validation.ts";

export type KeyServiceDeps = Pick<Deps, "config" | "clock" | "repos" | "keyCache">;

const KeyName = Type.String({ minLength: 1, maxLength: 200 });
const RouteValue = Type.Union([Type.String(), Type.Null()]);
const UsageEventValue = Type.Union([Type.Boolean(), Type.Null()]);

export const CreateKeyBody = Type.Object(
  {
    name: KeyName,
    kind: Type.Optional(Type.Union([Type.Literal("live"), Type.Literal("mgmt")])),
    route: Type.Optional(RouteValue),
    usage_event: Type.Optional(UsageEventValue),
  },
  { additionalProperties: false },
);
export const createKeyCheck = compileBody(CreateKeyBody);

export const UpdateKeyBody = Type.Object(
  {
    name: Type.Optional(KeyName),
    route: Type.Optional(RouteValue),
    usage_event: Type.Optional(UsageEventValue),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const updateKeyCheck = compileBody(UpdateKeyBody);

function keyName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === "") throw new GatewayError("invalid_request", "Invalid request: 'name' must not be blank.", { param: "name" });
  return trimmed;
}

function notFound(id: string): GatewayError {
  return new GatewayError("not_found", `No key with id '${id}' in this workspace.`);
}

export async function createKey(deps: KeyServiceDeps, workspaceId: string, input: Static<typeof CreateKeyBody>): Promise<KeyDocument & { key: string }> {
  const created = await deps.repos.keys.create({
    workspaceId,
    kind: input.kind ?? "live",
    name: keyName(input.name),
    nowMs: deps.clock.now(),
    route: routeSetting(deps.config, input.route ?? null, "route"),
    usageEvent: input.usage_event ?? null,
  });
  return newKeyDocument(created.row, created.key);
}

/** Every key of the workspace, oldest first; revoked keys stay listed (with `revoked_at`) as an audit trail. */
export async function listKeys(deps: KeyServiceDeps, workspaceId: string): Promise<{ data: KeyDocument[] }> {
  return { data: (await deps.repos.keys.listForWorkspace(workspaceId)).map(keyDocument) };
}

export async function getKey(deps: KeyServiceDeps, workspaceId: string, id: string): Promise<KeyDocument> {
  const row = await deps.repos.keys.findInWorkspace(workspaceId, id);
  if (!row) throw notFound(id);
  return keyDocument(row);
}

/** Changes a key; a revoked key cannot change (409). */
export async function updateKey(deps: KeyServiceDeps, workspaceId: string, id: string, input: Static<typeof UpdateKeyBody>): Promise<KeyDocument> {
  const patch: KeyPatch = {};
  if (input.name !== undefined) patch.name = keyName(input.name);
  if (input.route !== undefined) patch.route = routeSetting(deps.config, input.route, "route");
  if (input.usage_event !== undefined) patch.usageEvent = input.usage_event;
  if (input.disabled !== undefined) patch.disabled = input.disabled;
  const row = await deps.repos.keys.update(workspaceId, id, patch);
  if (!row) throw await missingOrRevoked(deps, workspaceId, id);
  deps.keyCache.evictHash(row.hash);
  return keyDocument(row);
}

/** Revokes a key. Idempotent: revoking a revoked key answers its document unchanged. */
export async function revokeKey(deps: KeyServiceDeps, workspaceId: string, id: string): Promise<KeyDocument> {
  const row: KeyRow | null =
    (await deps.repos.keys.revokeInWorkspace(workspaceId, id, deps.clock.now())) ?? (await deps.repos.keys.findInWorkspace(workspaceId, id));
  if (!row) throw notFound(id);
  deps.keyCache.evictHash(row.hash);
  return keyDocument(row);
}

async function missingOrRevoked(deps: KeyServiceDeps, workspaceId: string, id: string): Promise<GatewayError> {
  const row = await deps.repos.keys.findInWorkspace(workspaceId, id);
  return row ? new GatewayError("conflict", `The key '${id}' is revoked and can no longer change.`) : notFound(id);
}
