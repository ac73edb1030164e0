/**
 * The JSON documents of the management API (SPEC §4), shared by the HTTP routes and the CLI's --json
 * output: workspace, wallet, keys, generation records, usage totals.
 */

import { and, asc, eq, gt } from "drizzle-orm";
import type { Config } from "../config/types.ts";
import type { TollgateDb } from "../db/client.ts";
import type { KeyRow } from "../db/repo/keys.ts";
import type { RequestRow, UsageTotals } from "../db/repo/requests.ts";
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
    lots: lots.map(lotDocument),
  };
}

export function lotDocument(lot: typeof creditLots.$inferSelect): LotDocument {
  return {
    id: lot.id,
    source: lot.source,
    amount_microcents: lot.amountMicrocents,
    remaining_microcents: lot.remainingMicrocents,
    created_at: isoFromMs(lot.createdAt),
    expires_at: isoFromMs(lot.expiresAt),
    refundable_until: lot.refundableUntil === null ? null : isoFromMs(lot.refundableUntil),
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

export interface KeyDocument {
  id: string;
  name: string;
  kind: "live" | "mgmt";
  /** First 12 characters of the key, for display. */
  prefix: string;
  route: string | null;
  /** null: the workspace's setting applies. */
  usage_event: boolean | null;
  disabled: boolean;
  revoked: boolean;
  revoked_at: string | null;
  created_at: string;
}

/** A key as the management API shows it: never the key itself (only its creation answer has it). */
export function keyDocument(row: KeyRow): KeyDocument {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    prefix: row.prefix,
    route: row.route,
    usage_event: row.usageEvent,
    disabled: row.disabled,
    revoked: row.revokedAt !== null,
    revoked_at: row.revokedAt === null ? null : isoFromMs(row.revokedAt),
    created_at: isoFromMs(row.createdAt),
  };
}

/** `POST /v1/keys`: the key document plus the key, shown this once. */
export function newKeyDocument(row: KeyRow, key: string): KeyDocument & { key: string } {
  const { id, name, kind, ...rest } = keyDocument(row);
  return { id, name, kind, key, ...rest };
}

export interface UsageFigures {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  reasoning_tokens: number;
}

export interface AttemptDocument {
  model: string;
  provider: string;
  error_code: string | null;
}

export interface GenerationDocument {
  request_id: string;
  created_at: string;
  key_id: string;
  model: string;
  billed_model: string | null;
  provider: string | null;
  upstream_model: string | null;
  route: string | null;
  client_dialect: string;
  upstream_dialect: string | null;
  stream: boolean;
  status: "ok" | "error" | "refused";
  http_status: number;
  error_code: string | null;
  usage: UsageFigures;
  cost_microcents: number;
  latency_ms: number;
  ttft_ms: number | null;
  attempts: AttemptDocument[];
  byok: boolean;
  translated_from: string | null;
}

function isAttempt(value: unknown): value is AttemptDocument {
  if (value === null || typeof value !== "object") return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.model === "string" && typeof entry.provider === "string" && (entry.error_code === null || typeof entry.error_code === "string");
}

/** The stored attempts (a JSON array written at settlement); anything unreadable is left out. */
function parseAttempts(text: string): AttemptDocument[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter(isAttempt).map(({ model, provider, error_code }) => ({ model, provider, error_code })) : [];
  } catch {
    return [];
  }
}

/** A request record as `GET /v1/generations/{request_id}` and `GET /v1/usage/recent` show it (SPEC §4). */
export function generationDocument(row: RequestRow): GenerationDocument {
  return {
    request_id: row.requestId,
    created_at: isoFromMs(row.createdAt),
    key_id: row.keyId,
    model: row.model,
    billed_model: row.billedModel,
    provider: row.provider,
    upstream_model: row.upstreamModel,
    route: row.route,
    client_dialect: row.clientDialect,
    upstream_dialect: row.upstreamDialect,
    stream: row.stream,
    status: row.status,
    http_status: row.httpStatus,
    error_code: row.errorCode,
    usage: {
      input_tokens: row.inputTokens,
      output_tokens: row.outputTokens,
      cache_read_tokens: row.cacheReadTokens,
      cache_creation_tokens: row.cacheCreationTokens,
      reasoning_tokens: row.reasoningTokens,
    },
    cost_microcents: row.costMicrocents,
    latency_ms: row.latencyMs,
    ttft_ms: row.ttftMs,
    attempts: parseAttempts(row.attempts),
    byok: row.byok,
    translated_from: row.translatedFrom,
  };
}

export interface UsageGroupDocument extends UsageFigures {
  group: string;
  requests: number;
  cost_microcents: number;
}

export function usageGroupDocument(totals: UsageTotals): UsageGroupDocument {
  return {
    group: totals.group,
    requests: totals.requests,
    input_tokens: totals.inputTokens,
    output_tokens: totals.outputTokens,
    cache_read_tokens: totals.cacheReadTokens,
    cache_creation_tokens: totals.cacheCreationTokens,
    reasoning_tokens: totals.reasoningTokens,
    cost_microcents: totals.costMicrocents,
  };
}
