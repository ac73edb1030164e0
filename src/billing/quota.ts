/**
 * Workspace spend: daily and monthly caps (UTC) and lifetime spend (the rate-limit tier). Spend so far
 * is loaded from the database once per period and then kept by this process's settlements; calls in
 * flight count with their reserved amount, so concurrent calls can never pass a cap together.
 */

import { and, eq, gte, sql } from "drizzle-orm";
import type { TollgateDb } from "../db/client.ts";
import { requests, workspaces } from "../db/schema.ts";
import type { Clock } from "../lib/clock.ts";

interface PeriodSpend {
  /** Start of the period (ms, UTC). */
  startMs: number;
  spent: number;
}

interface SpendState {
  day: PeriodSpend | null;
  month: PeriodSpend | null;
  /** Lifetime spend (it picks the rate-limit tier), loaded once from the workspace row. */
  lifetime: number | null;
  /** Reserved by calls in flight. */
  pending: number;
}

export interface SpendCaps {
  dailyCapMicrocents: number | null;
  monthlyCapMicrocents: number | null;
}

export type CapCheck = { ok: true } | { ok: false; period: "daily" | "monthly"; capMicrocents: number; spentMicrocents: number };

export function startOfUtcDay(ms: number): number {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

export function startOfUtcMonth(ms: number): number {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

export class SpendCounter {
  private readonly states = new Map<string, SpendState>();

  constructor(
    private readonly db: TollgateDb,
    private readonly clock: Clock,
  ) {}

  private stateOf(workspaceId: string): SpendState {
    let state = this.states.get(workspaceId);
    if (!state) {
      state = { day: null, month: null, lifetime: null, pending: 0 };
      this.states.set(workspaceId, state);
    }
    return state;
  }

  private spentSince(workspaceId: string, startMs: number): number {
    const row = this.db
      .select({ total: sql<number>`coalesce(sum(${requests.costMicrocents}), 0)` })
      .from(requests)
      .where(and(eq(requests.workspaceId, workspaceId), gte(requests.createdAt, startMs)))
      .get();
    return Number(row?.total ?? 0);
  }

  private period(workspaceId: string, current: PeriodSpend | null, startMs: number): PeriodSpend {
    if (current && current.startMs === startMs) return current;
    return { startMs, spent: this.spentSince(workspaceId, startMs) };
  }

  /** Whether reserving `amount` more keeps the workspace within its caps. */
  check(workspaceId: string, caps: SpendCaps, amountMicrocents: number): CapCheck {
    if (caps.dailyCapMicrocents === null && caps.monthlyCapMicrocents === null) return { ok: true };
    const state = this.stateOf(workspaceId);
    const now = this.clock.now();
    if (caps.dailyCapMicrocents !== null) {
      state.day = this.period(workspaceId, state.day, startOfUtcDay(now));
      const spent = state.day.spent + state.pending;
      if (spent + amountMicrocents > caps.dailyCapMicrocents) return { ok: false, period: "daily", capMicrocents: caps.dailyCapMicrocents, spentMicrocents: spent };
    }
    if (caps.monthlyCapMicrocents !== null) {
      state.month = this.period(workspaceId, state.month, startOfUtcMonth(now));
      const spent = state.month.spent + state.pending;
      if (spent + amountMicrocents > caps.monthlyCapMicrocents)
        return { ok: false, period: "monthly", capMicrocents: caps.monthlyCapMicrocents, spentMicrocents: spent };
    }
    return { ok: true };
  }

  /** Lifetime spend, kept current by this process's settlements. */
  lifetimeSpent(workspaceId: string): number {
    const state = this.stateOf(workspaceId);
    if (state.lifetime === null) {
      const row = this.db
        .select({ spent: workspaces.lifetimeSpendMicrocents })
        .from(workspaces)
        .where(eq(workspaces.id, workspaceId))
        .get();
      state.lifetime = row?.spent ?? 0;
    }
    return state.lifetime;
  }

  reserve(workspaceId: string, amountMicrocents: number): void {
    this.stateOf(workspaceId).pending += amountMicrocents;
  }

  /** A call ended: its reservation goes, its cost (recorded at `createdAtMs`) counts. */
  settle(workspaceId: string, reservedMicrocents: number, costMicrocents: number, createdAtMs: number): void {
    const state = this.stateOf(workspaceId);
    state.pending -= reservedMicrocents;
    if (state.day && createdAtMs >= state.day.startMs) state.day.spent += costMicrocents;
    if (state.month && createdAtMs >= state.month.startMs) state.month.spent += costMicrocents;
    if (state.lifetime !== null) state.lifetime += costMicrocents;
  }
}
