/** BYOK keys: one sealed key per provider slot per workspace (never plain text; see keys/byok.ts). */

import { and, asc, eq } from "drizzle-orm";
import { newId } from "../../lib/ids.ts";
import type { TollgateDb } from "../client.ts";
import { byokKeys } from "../schema.ts";

export type ByokKeyRow = typeof byokKeys.$inferSelect;

export class ByokRepo {
  constructor(private readonly db: TollgateDb) {}

  /** Inserts the slot's key, or replaces the one there (sealed value, hint, label, created_at); one statement. */
  async upsert(workspaceId: string, provider: string, label: string | null, sealed: string, hint: string, nowMs: number): Promise<ByokKeyRow> {
    return this.db
      .insert(byokKeys)
      .values({ id: newId("byok"), workspaceId, provider, label, sealed, hint, createdAt: nowMs })
      .onConflictDoUpdate({ target: [byokKeys.workspaceId, byokKeys.provider], set: { label, sealed, hint, createdAt: nowMs } })
      .returning()
      .get();
  }

  async list(workspaceId: string): Promise<ByokKeyRow[]> {
    return this.db.select().from(byokKeys).where(eq(byokKeys.workspaceId, workspaceId)).orderBy(asc(byokKeys.provider)).all();
  }

  async find(workspaceId: string, provider: string): Promise<ByokKeyRow | null> {
    return this.db
      .select()
      .from(byokKeys)
      .where(and(eq(byokKeys.workspaceId, workspaceId), eq(byokKeys.provider, provider)))
      .get() ?? null;
  }

  /** True when a key was deleted. */
  async delete(workspaceId: string, provider: string): Promise<boolean> {
    const deleted = this.db
      .delete(byokKeys)
      .where(and(eq(byokKeys.workspaceId, workspaceId), eq(byokKeys.provider, provider)))
      .returning({ id: byokKeys.id })
      .all();
    return deleted.length > 0;
  }
}
