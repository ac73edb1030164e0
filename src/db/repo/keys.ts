/** API keys: stored by hash, never in plain text. */

import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { generateKey, type KeyKind } from "../../keys/keys.ts";
import { newId } from "../../lib/ids.ts";
import type { TollgateDb } from "../client.ts";
import { keys, workspaces } from "../schema.ts";

export type KeyRow = typeof keys.$inferSelect;
export type WorkspaceSettings = Pick<
  typeof workspaces.$inferSelect,
  "id" | "name" | "defaultRoute" | "usageEvent" | "dailyCapMicrocents" | "monthlyCapMicrocents"
>;

/** The settings of a key that may change after creation (`undefined` leaves a field as it is). */
export interface KeyPatch {
  name?: string;
  route?: string | null;
  usageEvent?: boolean | null;
  disabled?: boolean;
}

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
  /**
   * The lookup behind every key-cache miss (each key's first call, and again after each
   * key_cache_ttl_ms), prepared once: building and compiling the query per call cost far more than the
   * query itself (bench/admission.ts warms 100,000 keys through it).
   */
  private readonly activeByHash;

  constructor(private readonly db: TollgateDb) {
    this.activeByHash = db
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
      .where(and(eq(keys.hash, sql.placeholder("hash")), isNull(keys.revokedAt)))
      .prepare();
  }

  async create(input: {
    workspaceId: string;
    kind: KeyKind;
    name: string;
    nowMs: number;
    route?: string | null;
    usageEvent?: boolean | null;
  }): Promise<CreatedKey> {
    const generated = generateKey(input.kind);
    const row: KeyRow = {
      id: newId("key"),
      workspaceId: input.workspaceId,
      name: input.name,
      kind: input.kind,
      hash: generated.hash,
      prefix: generated.prefix,
      route: input.route ?? null,
      usageEvent: input.usageEvent ?? null,
      disabled: false,
      revokedAt: null,
      createdAt: input.nowMs,
    };
    this.db.insert(keys).values(row).run();
    return { row, key: generated.key };
  }

  /** An active (not revoked) key by hash, with its workspace's settings. */
  async findActiveByHash(hash: string): Promise<KeyWithWorkspace | null> {
    return this.activeByHash.get({ hash }) ?? null;
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

  /** A key of one workspace (revoked ones included); null for unknown ids and other workspaces' keys. */
  async findInWorkspace(workspaceId: string, id: string): Promise<KeyRow | null> {
    return this.db.select().from(keys).where(and(eq(keys.id, id), eq(keys.workspaceId, workspaceId))).get() ?? null;
  }

  /** Changes a live (not revoked) key of one workspace; null when there is no such key. */
  async update(workspaceId: string, id: string, patch: KeyPatch): Promise<KeyRow | null> {
    const live = and(eq(keys.id, id), eq(keys.workspaceId, workspaceId), isNull(keys.revokedAt));
    if (Object.keys(patch).length === 0) return this.db.select().from(keys).where(live).get() ?? null;
    const row = this.db
      .update(keys)
      .set(patch)
      .where(live)
      .returning()
      .get();
    return row ?? null;
  }

  /** Revokes a key of one workspace; null when it is unknown there or already revoked. */
  async revokeInWorkspace(workspaceId: string, id: string, nowMs: number): Promise<KeyRow | null> {
    const row = this.db
      .update(keys)
      .set({ revokedAt: nowMs })
      .where(and(eq(keys.id, id), eq(keys.workspaceId, workspaceId), isNull(keys.revokedAt)))
      .returning()
      .get();
    return row ?? null;
  }
}
