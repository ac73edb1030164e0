/**
 * Workspace settings for its management key (caps, default route, usage event) and the operator's
 * workspace administration (list, create with a first management key). A settings change evicts the
 * workspace's keys from this process's cache, so the next call runs with it.
 */

import { Type, type Static } from "@sinclair/typebox";
import { toSafeMicrocents, usdToMicrocents } from "../billing/money.ts";
import type { WorkspacePatch } from "../db/repo/workspaces.ts";
import type { Deps } from "../deps.ts";
import { GatewayError } from "../errors.ts";
import { workspaceDocument, type WorkspaceDocument } from "./documents.ts";
import { routeSetting } from "./route-setting.ts";
import { compileBody } from "./validation.ts";

export type WorkspaceServiceDeps = Pick<Deps, "config" | "clock" | "repos" | "keyCache">;

const CapValue = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);

export const UpdateWorkspaceBody = Type.Object(
  {
    daily_cap_usd: Type.Optional(CapValue),
    monthly_cap_usd: Type.Optional(CapValue),
    default_route: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    usage_event: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const updateWorkspaceCheck = compileBody(UpdateWorkspaceBody);

export const CreateWorkspaceBody = Type.Object({ name: Type.String() }, { additionalProperties: false });
export const createWorkspaceCheck = compileBody(CreateWorkspaceBody);

/** The CLI's rule for workspace names, so names made either way look alike. */
const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface CreatedWorkspace {
  id: string;
  name: string;
  management_key: string;
}

export function workspaceNotFound(id: string): GatewayError {
  return new GatewayError("not_found", `No workspace with id '${id}'.`);
}

/** A USD cap → exact microcents; null clears it. */
function capMicrocents(usd: number | null, field: string): number | null {
  if (usd === null) return null;
  const amount = usdToMicrocents(usd);
  if (amount === null || amount < 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GatewayError("invalid_request", `Invalid request: '${field}' must be a USD amount ≥ 0 with at most 8 decimal places.`, { param: field });
  }
  return toSafeMicrocents(amount);
}

export async function getWorkspace(deps: WorkspaceServiceDeps, workspaceId: string): Promise<WorkspaceDocument> {
  const row = await deps.repos.workspaces.findById(workspaceId);
  if (!row) throw workspaceNotFound(workspaceId);
  return workspaceDocument(deps.config, row);
}

export async function updateWorkspace(
  deps: WorkspaceServiceDeps,
  workspaceId: string,
  input: Static<typeof UpdateWorkspaceBody>,
): Promise<WorkspaceDocument> {
  const patch: WorkspacePatch = {};
  if (input.daily_cap_usd !== undefined) patch.dailyCapMicrocents = capMicrocents(input.daily_cap_usd, "daily_cap_usd");
  if (input.monthly_cap_usd !== undefined) patch.monthlyCapMicrocents = capMicrocents(input.monthly_cap_usd, "monthly_cap_usd");
  if (input.default_route !== undefined) patch.defaultRoute = routeSetting(deps.config, input.default_route, "default_route");
  if (input.usage_event !== undefined) patch.usageEvent = input.usage_event;
  const row = await deps.repos.workspaces.updateSettings(workspaceId, patch);
  if (!row) throw workspaceNotFound(workspaceId);
  deps.keyCache.evictWorkspace(workspaceId);
  return workspaceDocument(deps.config, row);
}

export async function listWorkspaces(deps: WorkspaceServiceDeps): Promise<WorkspaceDocument[]> {
  return (await deps.repos.workspaces.list()).map((row) => workspaceDocument(deps.config, row));
}

/** A new workspace and its first management key (shown once); 409 when the name is taken. */
export async function createWorkspace(deps: WorkspaceServiceDeps, input: Static<typeof CreateWorkspaceBody>): Promise<CreatedWorkspace> {
  const name = input.name;
  if (!WORKSPACE_NAME.test(name)) {
    throw new GatewayError("invalid_request", "Invalid request: 'name' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.", {
      param: "name",
    });
  }
  if (await deps.repos.workspaces.findByName(name)) throw duplicateName(name);
  const now = deps.clock.now();
  const workspace = await deps.repos.workspaces.create(name, now).catch((error: unknown) => {
    // Another writer (the CLI, a concurrent call) took the name between the check and the insert.
    throw isUniqueViolation(error) ? duplicateName(name) : error;
  });
  const key = await deps.repos.keys.create({ workspaceId: workspace.id, kind: "mgmt", name: "admin", nowMs: now });
  return { id: workspace.id, name: workspace.name, management_key: key.key };
}

function duplicateName(name: string): GatewayError {
  return new GatewayError("conflict", `A workspace named '${name}' already exists.`);
}

function isUniqueViolation(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if ("code" in current && current.code === "SQLITE_CONSTRAINT_UNIQUE") return true;
  }
  return false;
}
