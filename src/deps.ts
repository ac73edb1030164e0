/** Deps: everything the app needs, built once from the config (makeDeps) and closed once (close). */

import { SpendCounter } from "./billing/quota.ts";
import { StripeService } from "./billing/stripe.ts";
import { SettlementThread } from "./billing/settlement-thread.ts";
import { InlineSettlementWriter } from "./billing/settlement-writer.ts";
import { Wallet } from "./billing/wallet.ts";
import type { Config } from "./config/types.ts";
import type { OpenedDatabase } from "./db/client.ts";
import { openMigratedDatabase } from "./db/migrate.ts";
import { KeyRepo } from "./db/repo/keys.ts";
import { RequestRepo } from "./db/repo/requests.ts";
import { WorkspaceRepo } from "./db/repo/workspaces.ts";
import type { GatewayServices } from "./gateway/services.ts";
import { GatewayMetrics } from "./http/metrics.ts";
import { ByokVault } from "./keys/byok.ts";
import { KeyCache } from "./keys/cache.ts";
import { MemoryLimiterStore, RateLimiter } from "./limits/limiter.ts";
import { systemClock, type Clock } from "./lib/clock.ts";
import { createLogger, type Logger, type LogLevel } from "./lib/log.ts";
import { buildAdapters } from "./providers/registry.ts";
import { Catalog } from "./routing/catalog.ts";
import { ChannelHealth } from "./routing/health.ts";
import { ChannelPlanner } from "./routing/plan.ts";

export interface Deps extends GatewayServices {
  metrics: GatewayMetrics;
  byok: ByokVault;
  stripe: StripeService;
  database: OpenedDatabase;
  repos: { workspaces: WorkspaceRepo; keys: KeyRepo; requests: RequestRepo };
  keyCache: KeyCache;
  /** Waits for the settlements in flight, then closes the database. */
  close(): Promise<void>;
}

export interface MakeDepsOptions {
  clock?: Clock;
  log?: Logger;
  logLevel?: LogLevel;
  keepaliveMs?: number;
}

/** Well inside every idle timeout on the way (Bun's default is 10 s; proxies often use 30-60 s). */
const DEFAULT_KEEPALIVE_MS = 5000;

/**
 * At most one settlement batch per 10 ms (wallet.ts): a commit's fixed cost makes a call written alone
 * ten times dearer than one of a batch of a hundred (bench/settlement.ts); at ~8,000 calls/s a batch holds
 * ~80 calls instead of the ~20 of a 2 ms window, and the settlement thread's CPU per call is printed by
 * bench/compare.ts. Answers do not wait for the commit, so this costs no latency; a settled call's hold,
 * set to its cost, only stays a moment longer. An idle gateway's first call is written at once.
 */
const SETTLEMENT_BATCH_WINDOW_MS = 10;

/** Opens and migrates the database and builds every service. */
export function makeDeps(config: Config, options: MakeDepsOptions = {}): Deps {
  const database = openMigratedDatabase(config.server.database);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(options.logLevel ?? "info");
  const keys = new KeyRepo(database.db);
  const health = new ChannelHealth(() => clock.now());
  // A file database gets a settlement thread; an in-memory one cannot be shared with it.
  const settlements =
    database.path === ":memory:"
      ? new InlineSettlementWriter(database.db)
      : new SettlementThread({ path: database.path, db: database.db, onError: (message) => log.error(message) });
  const wallet = new Wallet(database.db, clock, config.security.keyCacheTtlMs, settlements, { batchWindowMs: SETTLEMENT_BATCH_WINDOW_MS });
  return {
    config,
    clock,
    log,
    database,
    repos: { workspaces: new WorkspaceRepo(database.db), keys, requests: new RequestRepo(database.db) },
    keyCache: new KeyCache(keys, config.security.keyCacheTtlMs),
    wallet,
    stripe: new StripeService({ billing: config.billing, db: database.db, wallet, clock, log }),
    spend: new SpendCounter(database.db, clock),
    byok: new ByokVault(config, database.db, clock),
    limiter: new RateLimiter(new MemoryLimiterStore(), () => clock.now()),
    catalog: new Catalog(config.models),
    health,
    planner: new ChannelPlanner(health),
    adapters: buildAdapters(config.providers),
    keepaliveMs: options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
    metrics: new GatewayMetrics(health, config.models),
    close: async () => {
      // Settlements queued or being written are committed before the database goes.
      await wallet.close();
      database.close();
    },
  };
}
