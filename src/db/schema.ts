/**
 * The drizzle schema (SQLite): workspaces, keys, credit lots, ledger entries, requests (generation
 * records), BYOK keys and processed Stripe events. Money columns are integer microcents; timestamps are
 * integer milliseconds since the epoch (rendered as ISO 8601 by the API).
 */

import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  /** Cached sum of the workspace's ledger entries; `ledger verify` recomputes it. */
  balanceMicrocents: integer("balance_microcents").notNull().default(0),
  lifetimeSpendMicrocents: integer("lifetime_spend_microcents").notNull().default(0),
  dailyCapMicrocents: integer("daily_cap_microcents"),
  monthlyCapMicrocents: integer("monthly_cap_microcents"),
  defaultRoute: text("default_route"),
  usageEvent: integer("usage_event", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
});

export const keys = sqliteTable(
  "keys",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["live", "mgmt"] }).notNull(),
    /** SHA-256 (hex) of the whole key; the key itself is never stored. */
    hash: text("hash").notNull().unique(),
    /** First 12 characters, for display. */
    prefix: text("prefix").notNull(),
    route: text("route"),
    /** null: inherit the workspace's setting. */
    usageEvent: integer("usage_event", { mode: "boolean" }),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    revokedAt: integer("revoked_at"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [index("keys_workspace_idx").on(table.workspaceId)],
);

export const creditLots = sqliteTable(
  "credit_lots",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    source: text("source", { enum: ["grant", "stripe"] }).notNull(),
    amountMicrocents: integer("amount_microcents").notNull(),
    remainingMicrocents: integer("remaining_microcents").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    refundableUntil: integer("refundable_until"),
    /** Stripe payment intent, for refunds. */
    stripePaymentIntent: text("stripe_payment_intent"),
    note: text("note"),
  },
  (table) => [index("credit_lots_workspace_expiry_idx").on(table.workspaceId, table.expiresAt)],
);

export const LEDGER_KINDS = ["grant", "topup", "charge", "refund", "expiry"] as const;

export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    kind: text("kind", { enum: LEDGER_KINDS }).notNull(),
    /** Signed: credits positive, charges negative. */
    amountMicrocents: integer("amount_microcents").notNull(),
    balanceAfterMicrocents: integer("balance_after_microcents").notNull(),
    lotId: text("lot_id").references(() => creditLots.id),
    requestId: text("request_id"),
    /** Request id, Stripe event id, …: the same operation can never be written twice. */
    idempotencyKey: text("idempotency_key").notNull().unique(),
    note: text("note"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [index("ledger_entries_workspace_idx").on(table.workspaceId, table.createdAt)],
);

export const requests = sqliteTable(
  "requests",
  {
    requestId: text("request_id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    keyId: text("key_id").notNull(),
    createdAt: integer("created_at").notNull(),
    model: text("model").notNull(),
    billedModel: text("billed_model"),
    provider: text("provider"),
    upstreamModel: text("upstream_model"),
    route: text("route"),
    clientDialect: text("client_dialect").notNull(),
    upstreamDialect: text("upstream_dialect"),
    stream: integer("stream", { mode: "boolean" }).notNull(),
    status: text("status", { enum: ["ok", "error", "refused"] }).notNull(),
    httpStatus: integer("http_status").notNull(),
    errorCode: text("error_code"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    cacheReadTokens: integer("cache_read_tokens").notNull().default(0),
    cacheCreationTokens: integer("cache_creation_tokens").notNull().default(0),
    reasoningTokens: integer("reasoning_tokens").notNull().default(0),
    costMicrocents: integer("cost_microcents").notNull().default(0),
    latencyMs: integer("latency_ms").notNull().default(0),
    ttftMs: integer("ttft_ms"),
    /** JSON array of {model, provider, error_code}. */
    attempts: text("attempts").notNull().default("[]"),
    byok: integer("byok", { mode: "boolean" }).notNull().default(false),
    translatedFrom: text("translated_from"),
  },
  (table) => [
    index("requests_workspace_created_idx").on(table.workspaceId, table.createdAt),
    index("requests_key_idx").on(table.keyId),
  ],
);

export const byokKeys = sqliteTable(
  "byok_keys",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    provider: text("provider").notNull(),
    label: text("label"),
    /** AES-256-GCM: iv (12 bytes) ‖ ciphertext ‖ tag, base64. */
    sealed: text("sealed").notNull(),
    /** Last four characters, for the masked display. */
    hint: text("hint").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [uniqueIndex("byok_keys_workspace_provider_idx").on(table.workspaceId, table.provider)],
);

export const stripeEvents = sqliteTable("stripe_events", {
  eventId: text("event_id").primaryKey(),
  type: text("type").notNull(),
  workspaceId: text("workspace_id"),
  processedAt: integer("processed_at").notNull(),
});

