/**
 * The operator's admin API (/admin/v1): absent (404 everywhere) without `security.admin_token`; with
 * it, the token is required; workspaces are listed, created with a management key, shown with their
 * wallet, and credited by grants that the ledger verifies and the next call can spend at once.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { verifyLedger } from "../../src/billing/ledger.ts";
import { MOCK_CONFIG, rows, type TestGateway } from "../harness/gateway.ts";
import { call, chat, startManagedGateway, type OpenAIErrorBody } from "./management-harness.ts";

let gateway: TestGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

const TOKEN = "operator-secret-token";
const ADMIN_CONFIG = `[security]\nadmin_token = "\${TOLLGATE_ADMIN_TOKEN:-}"\n${MOCK_CONFIG}`;
const startAdmin = (options: { grantUsd?: number } = {}) => startManagedGateway({ configToml: ADMIN_CONFIG, env: { TOLLGATE_ADMIN_TOKEN: TOKEN }, ...options });

interface WorkspaceDoc {
  id: string;
  name: string;
  tier: string;
  daily_cap_usd: number | null;
}

interface WalletDoc {
  balance_microcents: number;
  lots: Array<{ id: string; source: string; amount_microcents: number }>;
}

interface Grant {
  lot_id: string;
  amount_microcents: number;
  balance_microcents: number;
  expires_at: string;
}

const ENDPOINTS: Array<[string, string, unknown]> = [
  ["GET", "/admin/v1/workspaces", undefined],
  ["POST", "/admin/v1/workspaces", { name: "x" }],
  ["POST", "/admin/v1/workspaces", "{broken"],
  ["GET", "/admin/v1/workspaces/ws_x", undefined],
  ["POST", "/admin/v1/workspaces/ws_x/grants", { amount_usd: 1 }],
  ["GET", "/admin/v1/anything-else", undefined],
];

describe("without an admin token", () => {
  test("every /admin path is 404 not_found, whatever the key or body", async () => {
    gateway = await startManagedGateway({ configToml: ADMIN_CONFIG, env: {} });
    expect(gateway.config.security.adminToken).toBeNull();
    for (const [method, path, body] of ENDPOINTS) {
      for (const key of [null, "", gateway.mgmtKey]) {
        const response = await call<OpenAIErrorBody>(gateway, method, path, { key, body });
        expect([method, path, response.status]).toEqual([method, path, 404]);
        expect(response.body.error.code).toBe("not_found");
        expect(response.body.error.message).toBe("No such endpoint.");
      }
    }
  });
});

describe("the admin token", () => {
  test.each([
    ["no token", null],
    ["a wrong token", "operator-secret-tokem"],
    ["a prefix of the token", "operator"],
    ["a longer token", `${TOKEN}x`],
  ])("%s → 401 invalid_api_key on every endpoint, before the body is read", async (_name, key) => {
    gateway = await startAdmin();
    for (const [method, path, body] of ENDPOINTS.slice(0, 5)) {
      const response = await call<OpenAIErrorBody>(gateway, method, path, { key, body });
      expect([method, path, response.status]).toEqual([method, path, 401]);
      expect(response.body.error.code).toBe("invalid_api_key");
      expect(response.body.error.message).toContain("admin token");
      expect(response.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
    }
  });

  test("a workspace's management key is not the admin token", async () => {
    gateway = await startAdmin();
    expect((await call(gateway, "GET", "/admin/v1/workspaces")).status).toBe(401);
  });

  test("Bearer and x-api-key both carry it", async () => {
    gateway = await startAdmin();
    expect((await call(gateway, "GET", "/admin/v1/workspaces", { key: TOKEN })).status).toBe(200);
    expect((await call(gateway, "GET", "/admin/v1/workspaces", { key: null, headers: { "x-api-key": TOKEN } })).status).toBe(200);
  });

  test("the admin token is no management key", async () => {
    gateway = await startAdmin();
    expect((await call(gateway, "GET", "/v1/workspace", { key: TOKEN })).status).toBe(401);
  });
});

describe("workspaces", () => {
  test("list: an array of workspace documents", async () => {
    gateway = await startAdmin();
    const response = await call<WorkspaceDoc[]>(gateway, "GET", "/admin/v1/workspaces", { key: TOKEN });
    expect(response.status).toBe(200);
    const own = await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace");
    expect(response.body).toEqual([own.body]);
  });

  test("create → 201 with a management key that manages exactly the new workspace", async () => {
    gateway = await startAdmin();
    const created = await call<{ id: string; name: string; management_key: string }>(gateway, "POST", "/admin/v1/workspaces", { key: TOKEN, body: { name: "team-b" } });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(["id", "name", "management_key"]);
    // (Plain matchers: Bun 1.4's toMatchObject writes asymmetric matchers into the received object.)
    expect(created.body.id).toMatch(/^ws_/);
    expect(created.body.name).toBe("team-b");
    expect(created.body.management_key).toMatch(/^tg-mgmt-[A-Za-z0-9_-]{43}$/);
    const own = await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace", { key: created.body.management_key });
    expect(own.body).toMatchObject({ id: created.body.id, name: "team-b", lifetime_spend_microcents: 0 });
    expect((await rows(gateway, "SELECT kind, workspace_id FROM keys WHERE workspace_id = ?", created.body.id))).toEqual([{ kind: "mgmt", workspace_id: created.body.id }]);
    const list = await call<WorkspaceDoc[]>(gateway, "GET", "/admin/v1/workspaces", { key: TOKEN });
    expect(list.body.map((workspace) => workspace.name)).toEqual(["test", "team-b"]);
  });

  test.each([
    ["a taken name", { name: "test" }, 409, "conflict"],
    ["a name with spaces", { name: "team b" }, 400, "invalid_request"],
    ["an empty name", { name: "" }, 400, "invalid_request"],
    ["no name", {}, 400, "invalid_request"],
    ["a name that is not a string", { name: 7 }, 400, "invalid_request"],
    ["an unknown field", { name: "ok", owner: "me" }, 400, "invalid_request"],
  ])("create with %s → %d %s", async (_name, body, status, code) => {
    gateway = await startAdmin();
    const response = await call<OpenAIErrorBody>(gateway, "POST", "/admin/v1/workspaces", { key: TOKEN, body });
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect((await rows(gateway, "SELECT id FROM workspaces"))).toHaveLength(1);
  });

  test("show one: its document and its wallet; unknown ids → 404", async () => {
    gateway = await startAdmin();
    const response = await call<WorkspaceDoc & { wallet: WalletDoc }>(gateway, "GET", `/admin/v1/workspaces/${gateway.workspaceId}`, { key: TOKEN });
    expect(response.status).toBe(200);
    const own = await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace");
    const wallet = await call<WalletDoc>(gateway, "GET", "/v1/wallet");
    expect(response.body).toEqual({ ...own.body, wallet: wallet.body });
    const missing = await call<OpenAIErrorBody>(gateway, "GET", "/admin/v1/workspaces/ws_nope", { key: TOKEN });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("not_found");
  });
});

describe("grants", () => {
  test("a grant adds a lot and a ledger entry, raises the balance exactly, and the ledger verifies", async () => {
    gateway = await startAdmin();
    const response = await call<Grant>(gateway, "POST", `/admin/v1/workspaces/${gateway.workspaceId}/grants`, {
      key: TOKEN,
      body: { amount_usd: 2.5, note: "conference credit" },
    });
    expect(response.status).toBe(201);
    expect(response.body.lot_id).toMatch(/^lot_/);
    expect(response.body).toMatchObject({ amount_microcents: 250_000_000, balance_microcents: 1_250_000_000 });
    const [lot] = (await rows<{ source: string; amount_microcents: number; remaining_microcents: number; note: string; expires_at: number; created_at: number }>(
      gateway,
      "SELECT * FROM credit_lots WHERE id = ?",
      response.body.lot_id,
    ));
    expect(lot).toMatchObject({ source: "grant", amount_microcents: 250_000_000, remaining_microcents: 250_000_000, note: "conference credit" });
    expect((lot?.expires_at ?? 0) - (lot?.created_at ?? 0)).toBe(gateway.config.billing.creditValidityDays * 86_400_000);
    expect(new Date(lot?.expires_at ?? 0).toISOString()).toBe(response.body.expires_at);
    const entries = (await rows<{ kind: string; amount_microcents: number; balance_after_microcents: number }>(
      gateway,
      "SELECT kind, amount_microcents, balance_after_microcents FROM ledger_entries WHERE lot_id = ?",
      response.body.lot_id,
    ));
    expect(entries).toEqual([{ kind: "grant", amount_microcents: 250_000_000, balance_after_microcents: 1_250_000_000 }]);
    expect((await call<WalletDoc>(gateway, "GET", "/v1/wallet")).body.balance_microcents).toBe(1_250_000_000);
    expect(verifyLedger(gateway.deps.database.db).problems).toEqual([]);

    // Two identical grants are two grants (each call is a fresh operation).
    const again = await call<Grant>(gateway, "POST", `/admin/v1/workspaces/${gateway.workspaceId}/grants`, { key: TOKEN, body: { amount_usd: 2.5 } });
    expect(again.body.balance_microcents).toBe(1_500_000_000);
    expect(again.body.lot_id).not.toBe(response.body.lot_id);
    expect(verifyLedger(gateway.deps.database.db).problems).toEqual([]);
  });

  test("an empty wallet refuses calls (402); after a grant the very next call is served", async () => {
    gateway = await startAdmin({ grantUsd: 0 });
    expect((await chat(gateway, gateway.liveKey)).status).toBe(402);
    const granted = await call<Grant>(gateway, "POST", `/admin/v1/workspaces/${gateway.workspaceId}/grants`, { key: TOKEN, body: { amount_usd: 1 } });
    expect(granted.status).toBe(201);
    const served = await chat(gateway, gateway.liveKey);
    expect(served.status).toBe(200);
    const cost = Number(served.headers.get("x-tollgate-cost-microcents"));
    expect((await call<WalletDoc>(gateway, "GET", "/v1/wallet")).body.balance_microcents).toBe(100_000_000 - cost);
    expect(verifyLedger(gateway.deps.database.db).problems).toEqual([]);
  });

  test.each([
    ["zero", { amount_usd: 0 }, 400, "amount_usd"],
    ["a negative amount", { amount_usd: -5 }, 400, "amount_usd"],
    ["an amount as a string", { amount_usd: "5" }, 400, "amount_usd"],
    ["less than a microcent", { amount_usd: 0.000000001 }, 400, "amount_usd"],
    ["no amount", { note: "x" }, 400, "amount_usd"],
    ["an unknown field", { amount_usd: 1, source: "stripe" }, 400, "source"],
  ])("%s → %d naming %s, nothing written", async (_name, body, status, param) => {
    gateway = await startAdmin();
    const response = await call<OpenAIErrorBody>(gateway, "POST", `/admin/v1/workspaces/${gateway.workspaceId}/grants`, { key: TOKEN, body });
    expect(response.status).toBe(status);
    expect(response.body.error).toMatchObject({ code: "invalid_request", param });
    expect((await rows(gateway, "SELECT id FROM ledger_entries"))).toHaveLength(1);
  });

  test("a grant to an unknown workspace → 404, nothing written", async () => {
    gateway = await startAdmin();
    const response = await call<OpenAIErrorBody>(gateway, "POST", "/admin/v1/workspaces/ws_nope/grants", { key: TOKEN, body: { amount_usd: 1 } });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("not_found");
    expect((await rows(gateway, "SELECT id FROM ledger_entries"))).toHaveLength(1);
  });
});
