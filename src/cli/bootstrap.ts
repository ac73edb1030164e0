/** Workspace `default` with its starter grant: made by `tollgate init`, and by `serve` on the demo config. */

import { grantCredit } from "../billing/ledger.ts";
import type { Config } from "../config/types.ts";
import type { TollgateDb } from "../db/client.ts";
import { KeyRepo } from "../db/repo/keys.ts";
import { WorkspaceRepo, type WorkspaceRow } from "../db/repo/workspaces.ts";

/** The starter grant of a new `default` workspace: $5, enough to try the gateway. */
export const STARTER_GRANT_MICROCENTS = 500_000_000;
export const DEFAULT_WORKSPACE = "default";

export interface Bootstrapped {
  workspace: WorkspaceRow;
  created: boolean;
  managementKey: string;
  inferenceKey: string;
}

/** Finds or creates workspace `default` (granting the starter credit once) and issues a fresh key pair. */
export async function bootstrapDefaultWorkspace(config: Config, db: TollgateDb, nowMs: number): Promise<Bootstrapped> {
  const workspaces = new WorkspaceRepo(db);
  let workspace = await workspaces.findByName(DEFAULT_WORKSPACE);
  const created = workspace === null;
  if (!workspace) {
    workspace = await workspaces.create(DEFAULT_WORKSPACE, nowMs);
    grantCredit(db, {
      workspaceId: workspace.id,
      amountMicrocents: STARTER_GRANT_MICROCENTS,
      source: "grant",
      note: "starter grant",
      nowMs,
      validityDays: config.billing.creditValidityDays,
      idempotencyKey: `starter-grant:${workspace.id}`,
    });
  }
  const keys = new KeyRepo(db);
  const management = await keys.create({ workspaceId: workspace.id, kind: "mgmt", name: "starter", nowMs });
  const inference = await keys.create({ workspaceId: workspace.id, kind: "live", name: "starter", nowMs });
  return { workspace, created, managementKey: management.key, inferenceKey: inference.key };
}
