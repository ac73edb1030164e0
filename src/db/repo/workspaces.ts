/** Workspaces: creation, lookup and settings. */

import { asc, eq } from "drizzle-orm";
import { newId } from "../../lib/ids.ts";
import type { TollgateDb } from "../client.ts";
import { workspaces } from "../schema.ts";

export type WorkspaceRow = typeof workspaces.$inferSelect;

/** The settings a workspace's management key may change (`undefined` leaves a field as it is). */
export interface WorkspacePatch {
  dailyCapMicrocents?: number | null;
  monthlyCapMicrocents?: number | null;
  defaultRoute?: string | null;
  usageEvent?: boolean;
}

export class WorkspaceRepo {
  constructor(private readonly db: TollgateDb) {}

  async create(name: string, nowMs: number): Promise<WorkspaceRow> {
    const row: WorkspaceRow = {
      id: newId("ws"),
      name,
      balanceMicrocents: 0,
      lifetimeSpendMicrocents: 0,
      dailyCapMicrocents: null,
      monthlyCapMicrocents: null,
      defaultRoute: null,
      usageEvent: false,
      createdAt: nowMs,
    };
    this.db.insert(workspaces).values(row).run();
    return row;
  }

  async findById(id: string): Promise<WorkspaceRow | null> {
    return this.db.select().from(workspaces).where(eq(workspaces.id, id)).get() ?? null;
  }

  async findByName(name: string): Promise<WorkspaceRow | null> {
    return this.db.select().from(workspaces).where(eq(workspaces.name, name)).get() ?? null;
  }

  async list(): Promise<WorkspaceRow[]> {
    return this.db.select().from(workspaces).orderBy(asc(workspaces.createdAt), asc(workspaces.id)).all();
  }

  /** Changes a workspace's settings; null when it does not exist. */
  async updateSettings(id: string, patch: WorkspacePatch): Promise<WorkspaceRow | null> {
    if (Object.keys(patch).length === 0) return this.findById(id);
    return this.db.update(workspaces).set(patch).where(eq(workspaces.id, id)).returning().get() ?? null;
  }
}
