/**
 * startGateway: a real Tollgate app on a temp SQLite file, with a funded workspace and its keys.
 * Requests go through `app.handle` (no port) unless `listen` is set, which also binds 127.0.0.1:0.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, type App } from "../../src/app.ts";
import { grantCredit } from "../../src/billing/ledger.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { makeDeps, type Deps } from "../../src/deps.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { silentLogger } from "../../src/lib/log.ts";

/** A small config on the mock provider; tests append providers/models or replace it whole. */
/** Tests make many calls a minute: a tier far above them, unless a test sets its own. */
export const UNLIMITED_TIER = `
[[limits.tiers]]
name = "test"
min_lifetime_spend_usd = 0
requests_per_minute = 1000000
tokens_per_minute = 1000000000
`;

export const MOCK_CONFIG = `${UNLIMITED_TIER}
[[providers]]
id = "mock"
kind = "mock"

[[models]]
id = "mock-model"
aliases = ["gpt-4o*", "claude-*"]
context_window = 32000
max_output_tokens = 1000
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0
capabilities = ["tools", "vision", "thinking", "json"]
  [[models.channels]]
  provider = "mock"
  model = "echo"

[[models]]
id = "mock-filler"
context_window = 32000
max_output_tokens = 2000
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0
  [[models.channels]]
  provider = "mock"
  model = "filler"
`;

export interface GatewayOptions {
  /** Full TOML config; `server.database` is set to a temp file unless the TOML sets it. */
  configToml?: string;
  env?: Record<string, string>;
  /** Starting wallet grant in USD (default 10). 0 leaves the wallet empty. */
  grantUsd?: number;
  clock?: Clock;
  listen?: boolean;
}

export interface TestGateway {
  app: App;
  deps: Deps;
  config: Config;
  dir: string;
  workspaceId: string;
  liveKey: string;
  mgmtKey: string;
  /** http://127.0.0.1:PORT when `listen` was set, else a placeholder base for app.handle. */
  baseUrl: string;
  handle(request: Request): Promise<Response>;
  /** A fetch-compatible function that goes to the app (for SDK clients). */
  fetch: typeof fetch;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-test-"));
  const toml = options.configToml ?? MOCK_CONFIG;
  const databaseLine = `database = "${join(dir, "tollgate.db")}"`;
  const withDatabase = /^\s*database\s*=/m.test(toml)
    ? toml
    : /^\[server\]\s*$/m.test(toml)
      ? toml.replace(/^\[server\]\s*$/m, `[server]\n${databaseLine}`)
      : `[server]\n${databaseLine}\n${toml}`;
  const config = parseConfig(withDatabase, { source: "test", baseDir: dir, env: options.env ?? {} });
  const deps = makeDeps(config, { log: silentLogger, ...(options.clock ? { clock: options.clock } : {}) });
  const app = createApp(deps);
  const now = deps.clock.now();
  const workspace = await deps.repos.workspaces.create("test", now);
  const grantUsd = options.grantUsd ?? 10;
  if (grantUsd > 0) {
    grantCredit(deps.database.db, {
      workspaceId: workspace.id,
      amountMicrocents: Math.round(grantUsd * 100_000_000),
      source: "grant",
      note: "test grant",
      nowMs: now,
      validityDays: config.billing.creditValidityDays,
      idempotencyKey: `test-grant:${workspace.id}`,
    });
  }
  const live = await deps.repos.keys.create({ workspaceId: workspace.id, kind: "live", name: "test", nowMs: now });
  const mgmt = await deps.repos.keys.create({ workspaceId: workspace.id, kind: "mgmt", name: "test", nowMs: now });

  let baseUrl = "http://127.0.0.1";
  if (options.listen) {
    app.listen({ hostname: "127.0.0.1", port: 0, idleTimeout: 30 });
    baseUrl = `http://127.0.0.1:${app.server?.port}`;
  }
  const handle = (request: Request) => app.handle(request);
  const fetchToApp = ((input: string | URL | Request, init?: RequestInit) =>
    handle(input instanceof Request ? input : new Request(input.toString(), init))) as typeof fetch;
  return {
    app,
    deps,
    config,
    dir,
    workspaceId: workspace.id,
    liveKey: live.key,
    mgmtKey: mgmt.key,
    baseUrl,
    handle,
    fetch: options.listen ? fetch : fetchToApp,
    async close() {
      if (options.listen) await app.stop(true);
      await deps.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON POST with a key, for tests that look at raw HTTP. */
export function postJson(gateway: TestGateway, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return gateway.fetch(`${gateway.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${gateway.liveKey}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Rows of a table, straight from SQLite (tests assert what was written, not just HTTP). */
/** A row of the `requests` table as the e2e tests read it (SELECT *). */
export interface RequestRecordRow {
  request_id: string;
  status: string;
  http_status: number;
  error_code: string | null;
  model: string;
  billed_model: string | null;
  provider: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_microcents: number;
  attempts: string;
}

export async function rows<T = Record<string, unknown>>(gateway: TestGateway, sql: string, ...params: Array<string | number>): Promise<T[]> {
  // Answers do not wait for their settlement's commit (src/gateway/settle.ts): read after it.
  await gateway.deps.wallet.drained();
  return gateway.deps.database.sqlite.query(sql).all(...params) as T[];
}
