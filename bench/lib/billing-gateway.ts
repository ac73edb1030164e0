/**
 * A gateway process for bench/billing.ts: `bun bench/lib/billing-gateway.ts --mode on|bypass --db PATH`.
 * The real app (auth, key cache, decode, pipeline, mock provider, encode) on the mock with no delays and a
 * real SQLite file; `bypass` swaps only the wallet for one that admits everything and writes nothing.
 * Prints `{"port","key","workspace_id"}` as one JSON line on stdout once listening, then serves; on
 * SIGTERM it stops and prints `{"served"}`: the calls the upstream answered (each must be charged once).
 */

import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { createApp } from "../../src/app.ts";
import { grantCredit } from "../../src/billing/ledger.ts";
import type { Hold, HoldOutcome } from "../../src/billing/wallet.ts";
import { parseConfig } from "../../src/config/load.ts";
import { makeDeps } from "../../src/deps.ts";
import type { WalletService } from "../../src/gateway/services.ts";
import type { ProviderAdapter } from "../../src/providers/types.ts";

export const BENCH_MODEL = "bench-model";

/** One mock provider without pacing, one model, limits far above any bench load. */
export function billingBenchConfigToml(databasePath: string): string {
  return `
[server]
database = ${JSON.stringify(databasePath)}

[security]
key_cache_ttl_ms = 2000

[[limits.tiers]]
name = "bench"
min_lifetime_spend_usd = 0
requests_per_minute = 1_000_000_000
tokens_per_minute = 1_000_000_000_000

[[providers]]
id = "mock"
kind = "mock"
ttft_ms = 0
tokens_per_second = 0

[[models]]
id = "${BENCH_MODEL}"
context_window = 32000
max_output_tokens = 1000
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0
  [[models.channels]]
  provider = "mock"
  model = "echo"
`;
}

/**
 * Billing bypassed, for the bench only: every hold is granted and nothing is written (no request
 * record, no charge). The pipeline runs exactly as with the real wallet otherwise.
 */
export class BypassWallet implements WalletService {
  tryHold(workspaceId: string, amountMicrocents: number): HoldOutcome {
    return { ok: true, hold: { workspaceId, amountMicrocents, ended: false } };
  }

  settle(hold: Hold): Promise<void> {
    hold.ended = true;
    return Promise.resolve();
  }

  release(hold: Hold): void {
    hold.ended = true;
  }

  recordOnly(): Promise<void> {
    return Promise.resolve();
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  heldMicrocents(): number {
    return 0;
  }

  invalidate(): void {}
}

/** Counts the non-stream calls an adapter answered (the same increment in both modes). */
function countingAdapter(adapter: ProviderAdapter, counter: { served: number }): ProviderAdapter {
  return {
    ...adapter,
    async complete(request, ctx) {
      const result = await adapter.complete(request, ctx);
      counter.served++;
      return result;
    },
  };
}

/** $1,000,000 of credit: no bench run can spend it. */
const GRANT_MICROCENTS = 1_000_000 * 100_000_000;

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { mode: { type: "string" }, db: { type: "string" } },
    strict: true,
  });
  const mode = values.mode;
  if (mode !== "on" && mode !== "bypass") throw new Error(`--mode expects on|bypass, got '${mode ?? ""}'`);
  if (!values.db) throw new Error("--db PATH is required");

  const config = parseConfig(billingBenchConfigToml(values.db), { source: "bench", baseDir: dirname(values.db), env: {} });
  const deps = makeDeps(config, { logLevel: "error" });
  const now = deps.clock.now();
  const workspace = await deps.repos.workspaces.create("bench", now);
  grantCredit(deps.database.db, {
    workspaceId: workspace.id,
    amountMicrocents: GRANT_MICROCENTS,
    source: "grant",
    note: "bench grant",
    nowMs: now,
    validityDays: config.billing.creditValidityDays,
    idempotencyKey: `bench-grant:${workspace.id}`,
  });
  const live = await deps.repos.keys.create({ workspaceId: workspace.id, kind: "live", name: "bench", nowMs: now });
  if (mode === "bypass") deps.wallet = new BypassWallet();
  const counter = { served: 0 };
  deps.adapters = new Map([...deps.adapters].map(([id, adapter]) => [id, countingAdapter(adapter, counter)]));

  const app = createApp(deps).listen({ hostname: "127.0.0.1", port: 0, idleTimeout: 30 });
  const port = app.server?.port;
  if (port === undefined) throw new Error("the gateway did not bind a port");
  process.stdout.write(`${JSON.stringify({ port, key: live.key, workspace_id: workspace.id })}\n`);

  const stop = async () => {
    await app.stop(true);
    await deps.close();
    process.stdout.write(`${JSON.stringify({ served: counter.served })}\n`);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}
