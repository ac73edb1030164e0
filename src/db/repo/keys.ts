/** API keys: stored by hash, never in plain text. */

import { and, asc, eq, isNull } from "drizzle-orm";
import { generateKey, type KeyKind } from "../../keys/keys.ts";
import { newId } from "../../lib/ids.ts";
import type { TollgateDb } from "../client.ts";
import { keys, workspaces } from "../schema.ts";

export type KeyRow = typeof keys.$inferSelect;
export type WorkspaceSettings = Pick<
  typeof workspaces.$inferSelect,
  "id" | "name" | "defaultRoute" | "usageEvent" | "dailyCapMicrocents" | "monthlyCapMicrocents"
>;

export interface CreatedKey {
  row: KeyRow;
  /** The key itself: shown once, never stored. */
  key: string;
}

export interface KeyWithWorkspace {
  key: KeyRow;
  workspace: WorkspaceSettings;
}

export class KeyRepo {
  constructor(private readonly db: TollgateDb) {}

  async create(input: { workspaceId: string; kind: KeyKind; name: string; nowMs: number }): Promise<CreatedKey> {
    const generated = generateKey(input.kind);
    const row: KeyRow = {
      id: newId("key"),
      workspaceId: input.workspaceId,
      name: input.name,
      kind: input.kind,
      hash: generated.hash,
      prefix: generated.prefix,
      route: null,
      usageEvent: null,
      disabled: false,
      revokedAt: null,
      createdAt: input.nowMs,
    };
    this.db.insert(keys).values(row).run();
    return { row, key: generated.key };
  }

  /** An active (not revoked) key by hash, with its workspace's settings. */
  async findActiveByHash(hash: string): Promise<KeyWithWorkspace | null> {
    const found = this.db
      .select({
        key: keys,
        workspace: {
          id: workspaces.id,
          name: workspaces.name,
          defaultRoute: workspaces.defaultRoute,
          usageEvent: workspaces.usageEvent,
          dailyCapMicrocents: workspaces.dailyCapMicrocents,
          monthlyCapMicrocents: workspaces.monthlyCapMicrocents,
        },
      })
      .from(keys)
      .innerJoin(workspaces, eq(keys.workspaceId, workspaces.id))
      .where(and(eq(keys.hash, hash), isNull(keys.revokedAt)))
      .get();
    return found ?? null;
  }

  async findById(id: string): Promise<KeyRow | null> {
    return this.db.select().from(keys).where(eq(keys.id, id)).get() ?? null;
  }

  async listForWorkspace(workspaceId: string): Promise<KeyRow[]> {
    return this.db.select().from(keys).where(eq(keys.workspaceId, workspaceId)).orderBy(asc(keys.createdAt), asc(keys.id)).all();
  }

  /** Revokes a key; returns its hash (to evict it from caches) or null if unknown or already revoked. */
  async revoke(id: string, nowMs: number): Promise<KeyRow | null> {
    const row = this.db
      .update(keys)
      .set({ revokedAt: nowMs })
      .where(and(eq(keys.id, id), isNull(keys.revokedAt)))
      .returning()
      .get();
    return row ?? null;
  }
}
