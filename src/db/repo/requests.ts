/** Request records ("generations"): one row per inference call that reached a workspace. */

import { and, asc, desc, eq, gte, lt, or, sql, type AnyColumn, type SQL } from "drizzle-orm";
import type { TollgateDb } from "../client.ts";
import { requests } from "../schema.ts";

export type RequestRow = typeof requests.$inferSelect;
export type NewRequestRow = typeof requests.$inferInsert;
export type RequestStatus = RequestRow["status"];

/** A position in the newest-first order: rows strictly after it are older (or equal time, smaller id). */
export interface RequestPosition {
  createdAt: number;
  requestId: string;
}

export interface RecentRequestsQuery {
  workspaceId: string;
  limit: number;
  after: RequestPosition | null;
  keyId?: string;
  /** Matches the model the client sent or the model that was billed. */
  model?: string;
  status?: RequestStatus;
  /** Inclusive lower bound, ms. */
  fromMs?: number;
  /** Exclusive upper bound, ms. */
  toMs?: number;
}

export type UsageGrouping = "day" | "model" | "key";

export interface UsageTotals {
  group: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  reasoningTokens: number;
  costMicrocents: number;
}

const GROUP_EXPRESSION: Record<UsageGrouping, SQL> = {
  // created_at is integer ms; days are UTC.
  day: sql`strftime('%Y-%m-%d', ${requests.createdAt} / 1000, 'unixepoch')`,
  model: sql`coalesce(${requests.billedModel}, ${requests.model})`,
  key: sql`${requests.keyId}`,
};

const total = (column: AnyColumn) => sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number);

/** `a OR b` (drizzle's `or` is typed as possibly undefined for possibly-undefined operands). */
const either = (a: SQL | undefined, b: SQL | undefined): SQL => or(a, b) ?? sql`0`;

export class RequestRepo {
  constructor(private readonly db: TollgateDb) {}

  async findById(requestId: string): Promise<RequestRow | null> {
    return this.db.select().from(requests).where(eq(requests.requestId, requestId)).get() ?? null;
  }

  /** One workspace's record; null for unknown ids and other workspaces' records. */
  async findInWorkspace(workspaceId: string, requestId: string): Promise<RequestRow | null> {
    return (
      this.db
        .select()
        .from(requests)
        .where(and(eq(requests.requestId, requestId), eq(requests.workspaceId, workspaceId)))
        .get() ?? null
    );
  }

  /** Records newest first (created_at, then request_id, both descending), keyset-paginated by `after`. */
  async listRecent(query: RecentRequestsQuery): Promise<RequestRow[]> {
    const conditions: SQL[] = [eq(requests.workspaceId, query.workspaceId)];
    if (query.keyId !== undefined) conditions.push(eq(requests.keyId, query.keyId));
    if (query.model !== undefined) conditions.push(either(eq(requests.model, query.model), eq(requests.billedModel, query.model)));
    if (query.status !== undefined) conditions.push(eq(requests.status, query.status));
    if (query.fromMs !== undefined) conditions.push(gte(requests.createdAt, query.fromMs));
    if (query.toMs !== undefined) conditions.push(lt(requests.createdAt, query.toMs));
    if (query.after) {
      const { createdAt, requestId } = query.after;
      conditions.push(
        either(lt(requests.createdAt, createdAt), and(eq(requests.createdAt, createdAt), lt(requests.requestId, requestId))),
      );
    }
    return this.db
      .select()
      .from(requests)
      .where(and(...conditions))
      .orderBy(desc(requests.createdAt), desc(requests.requestId))
      .limit(query.limit)
      .all();
  }

  /** Sums of one workspace's records in [fromMs, toMs), per day (UTC), billed model or key; groups ascending. */
  async totals(workspaceId: string, groupBy: UsageGrouping, fromMs: number, toMs: number | null): Promise<UsageTotals[]> {
    const group = GROUP_EXPRESSION[groupBy];
    const conditions: SQL[] = [eq(requests.workspaceId, workspaceId), gte(requests.createdAt, fromMs)];
    if (toMs !== null) conditions.push(lt(requests.createdAt, toMs));
    return this.db
      .select({
        group: sql<string>`${group}`.mapWith(String),
        requests: sql<number>`count(*)`.mapWith(Number),
        inputTokens: total(requests.inputTokens),
        outputTokens: total(requests.outputTokens),
        cacheReadTokens: total(requests.cacheReadTokens),
        cacheCreationTokens: total(requests.cacheCreationTokens),
        reasoningTokens: total(requests.reasoningTokens),
        costMicrocents: total(requests.costMicrocents),
      })
      .from(requests)
      .where(and(...conditions))
      .groupBy(group)
      .orderBy(asc(group))
      .all();
  }
}
