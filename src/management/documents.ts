/**
 * The JSON documents of the management API (SPEC §4), shared by the HTTP routes and the CLI's --json
 * output: workspace, wallet, key.
 */

import { and, asc, eq, gt } from "drizzle-orm";
import type { Config } from "../config/types.ts";
import type { TollgateDb } from "../db/client.ts";
import type { KeyRow } from "../db/repo/keys.ts";
import type { WorkspaceRow } from "../db/repo/workspaces.ts";
import { creditLots } from "../db/schema.ts";
import { tierForSpend } from "../limits/tiers.ts";
import { isoFromMs } from "../lib/clock.ts";

function microcentsToUsd(microcents: number | null): number | null {
  return microcents === null ? null : microcents / 100_000_000;
}

export interface WorkspaceDocument {
  id: string;
  name: string;
  daily_cap_usd: number | null;
  monthly_cap_usd: number | null;
  default_route: string | null;
  usage_event: boolean;
  tier: string;
  lifetime_spend_microcents: number;
}

export function workspaceDocument(config: Config, row: WorkspaceRow): WorkspaceDocument {
  return {
    id: row.id,
    name: row.name,
    daily_cap_usd: microcentsToUsd(row.dailyCapMicrocents),
    monthly_cap_usd: microcentsToUsd(row.monthlyCapMicrocents),
    default_route: row.defaultRoute,
    usage_event: row.usageEvent,
    tier: tierForSpend(config.limits.tiers, row.lifetimeSpendMicrocents).name,
    lifetime_spend_microcents: row.lifetimeSpendMicrocents,
  };
}

export interface LotDocument {
  id: string;
  source: "grant" | "stripe";
  amount_microcents: number;
  remaining_microcents: number;
  created_at: string;
  expires_at: string;
  refundable_until: string | null;
}

export interface WalletDocument {
  balance_microcents: number;
  held_microcents: number;
  available_microcents: number;
  balance_tokens: number | null;
  lots: LotDocument[];
}

/** The available balance in tokens at the cheapest non-zero model input price (rounded down). */
export function balanceInTokens(config: Config, availableMicrocents: number): number | null {
  const prices = config.models.map((model) => model.price.inputPerMtok).filter((price) => price > 0n);
  if (prices.length === 0) return null;
  const cheapest = prices.reduce((low, price) => (price < low ? price : low));
  if (availableMicrocents <= 0) return 0;
  return Number((BigInt(availableMicrocents) * 1_000_000n) / cheapest);
}

export function walletDocument(
  config: Config,
  db: TollgateDb,
  workspace: WorkspaceRow,
  heldMicrocents: number,
  nowMs: number,
): WalletDocument {
  const lots = db
    .select()
    .from(creditLots)
    .where(and(eq(creditLots.workspaceId, workspace.id), gt(creditLots.expiresAt, nowMs)))
    .orderBy(asc(creditLots.expiresAt), asc(creditLots.id))
    .all();
  const available = workspace.balanceMicrocents - heldMicrocents;
  return {
    balance_microcents: workspace.balanceMicrocents,
    held_microcents: heldMicrocents,
    available_microcents: available,
    balance_tokens: balanceInTokens(config, available),
    lots: lots.map((lot) => ({
      id: lot.id,
      source: lot.source,
      amount_microcents: lot.amountMicrocents,
      remaining_microcents: lot.remainingMicrocents,
      created_at: isoFromMs(lot.createdAt),
      expires_at: isoFromMs(lot.expiresAt),
      refundable_until: lot.refundableUntil === null ? null : isoFromMs(lot.refundableUntil),
    })),
  };
}

export interface CreatedKeyDocument {
  id: string;
  name: string;
  kind: "live" | "mgmt";
  key: string;
  created_at: string;
}

export function createdKeyDocument(row: KeyRow, key: string): CreatedKeyDocument {
  return { id: row.id, name: row.name, kind: row.kind, key, created_at: isoFromMs(row.createdAt) };
}
