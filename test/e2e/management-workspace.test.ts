/**
 * The workspace's own settings and wallet through its management key: the documents, caps in USD
 * stored as exact microcents, strict PATCH bodies, settings that apply to the next call at once.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { verifyLedger } from "../../src/billing/ledger.ts";
import { MOCK_CONFIG, rows, UNLIMITED_TIER, type TestGateway } from "../harness/gateway.ts";
import { call, chat, POOL_CONFIG, startManagedGateway, type OpenAIErrorBody } from "./management-harness.ts";

let gateway: TestGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

interface WorkspaceDoc {
  id: string;
  name: string;
  daily_cap_usd: number | null;
  monthly_cap_usd: number | null;
  default_route: string | null;
  usage_event: boolean;
  tier: string;
  lifetime_spend_microcents: number;
}

interface WalletDoc {
  balance_microcents: number;
  held_microcents: number;
  available_microcents: number;
  balance_tokens: number | null;
  lots: Array<{ id: string; source: string; amount_microcents: number; remaining_microcents: number; created_at: string; expires_at: string; refundable_until: string | null }>;
}

interface CapRow {
  daily_cap_microcents: number | null;
  monthly_cap_microcents: number | null;
  default_route: string | null;
  usage_event: number;
}

const capsOf = async (g: TestGateway) => (await rows<CapRow>(g, "SELECT daily_cap_microcents, monthly_cap_microcents, default_route, usage_event FROM workspaces WHERE id = ?", g.workspaceId))[0];

describe("GET /v1/workspace", () => {
  test("the SPEC document, caps null when unset", async () => {
    gateway = await startManagedGateway();
    const response = await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: gateway.workspaceId,
      name: "test",
      daily_cap_usd: null,
      monthly_cap_usd: null,
      default_route: null,
      usage_event: false,
      tier: gateway.config.limits.tiers[0]?.name ?? "",
      lifetime_spend_microcents: 0,
    });
  });

  test("the tier follows lifetime spend", async () => {
    const tiers = `
[[limits.tiers]]
name = "starter"
min_lifetime_spend_usd = 0
requests_per_minute = 1000
tokens_per_minute = 10_000_000

[[limits.tiers]]
name = "grown"
min_lifetime_spend_usd = 0.000001
requests_per_minute = 1000
tokens_per_minute = 10_000_000
`;
    gateway = await startManagedGateway({ configToml: MOCK_CONFIG.replace(UNLIMITED_TIER, tiers) });
    expect((await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace")).body.tier).toBe("starter");
    await chat(gateway, gateway.liveKey);
    expect((await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace")).body.tier).toBe("grown");
  });

  test("management calls never draw on the workspace's rate-limit buckets", async () => {
    const tier = `
[[limits.tiers]]
name = "tiny"
min_lifetime_spend_usd = 0
requests_per_minute = 3
tokens_per_minute = 1_000_000
`;
    gateway = await startManagedGateway({ configToml: MOCK_CONFIG.replace(UNLIMITED_TIER, tier) });
    for (let index = 0; index < 10; index++) expect((await call(gateway, "GET", index % 2 ? "/v1/wallet" : "/v1/usage/recent")).status).toBe(200);
    const first = await chat(gateway, gateway.liveKey);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("3");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("2");
  });

  test("lifetime spend follows the calls made", async () => {
    gateway = await startManagedGateway();
    const cost = Number((await chat(gateway, gateway.liveKey)).headers.get("x-tollgate-cost-microcents"));
    expect(cost).toBeGreaterThan(0);
    expect((await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace")).body.lifetime_spend_microcents).toBe(cost);
  });
});

describe("PATCH /v1/workspace", () => {
  test.each([
    [{ daily_cap_usd: 12.5 }, { daily_cap_usd: 12.5 }, { daily_cap_microcents: 1_250_000_000 }],
    [{ monthly_cap_usd: 0.1 }, { monthly_cap_usd: 0.1 }, { monthly_cap_microcents: 10_000_000 }],
    [{ daily_cap_usd: 0.00000001 }, { daily_cap_usd: 0.00000001 }, { daily_cap_microcents: 1 }],
    [{ monthly_cap_usd: 1234567.89 }, { monthly_cap_usd: 1234567.89 }, { monthly_cap_microcents: 123_456_789_000_000 }],
    [{ daily_cap_usd: 0 }, { daily_cap_usd: 0 }, { daily_cap_microcents: 0 }],
    [{ default_route: "pool:economy" }, { default_route: "pool:economy" }, { default_route: "pool:economy" }],
    [{ default_route: " cheapest" }, { default_route: "cheapest" }, { default_route: "cheapest" }],
    [{ usage_event: true }, { usage_event: true }, { usage_event: 1 }],
  ])("%j round-trips through GET, stored exactly", async (body, shown, stored) => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    const patched = await call<WorkspaceDoc>(gateway, "PATCH", "/v1/workspace", { body });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject(shown);
    expect((await call<WorkspaceDoc>(gateway, "GET", "/v1/workspace")).body).toEqual(patched.body);
    expect(await capsOf(gateway)).toMatchObject(stored);
  });

  test("null clears a cap; fields not sent stay as they are", async () => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    await call(gateway, "PATCH", "/v1/workspace", { body: { daily_cap_usd: 12.5, monthly_cap_usd: 100, default_route: "fastest", usage_event: true } });
    const cleared = await call<WorkspaceDoc>(gateway, "PATCH", "/v1/workspace", { body: { daily_cap_usd: null, default_route: null } });
    expect(cleared.body).toMatchObject({ daily_cap_usd: null, monthly_cap_usd: 100, default_route: null, usage_event: true });
    expect(await capsOf(gateway)).toEqual({ daily_cap_microcents: null, monthly_cap_microcents: 10_000_000_000, default_route: null, usage_event: 1 });
    const untouched = await call<WorkspaceDoc>(gateway, "PATCH", "/v1/workspace", { body: {} });
    expect(untouched.body).toEqual(cleared.body);
  });

  test.each([
    ["a negative cap", { daily_cap_usd: -1 }, "daily_cap_usd"],
    ["a cap as a string", { monthly_cap_usd: "12.5" }, "monthly_cap_usd"],
    ["a cap below one microcent", { daily_cap_usd: 0.000000001 }, "daily_cap_usd"],
    ["a cap beyond the money range", { daily_cap_usd: 1e12 }, "daily_cap_usd"],
    ["an unknown route", { default_route: "round-robin" }, "default_route"],
    ["a pool nobody is in", { default_route: "pool:nowhere" }, "default_route"],
    ["usage_event null (a workspace setting is on or off)", { usage_event: null }, "usage_event"],
    ["an unknown field", { name: "renamed" }, "name"],
    ["a misspelt field", { daily_cap: 5 }, "daily_cap"],
  ])("%s → 400 invalid_request naming the field, nothing stored", async (_name, body, param) => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    const before = await capsOf(gateway);
    const response = await call<OpenAIErrorBody>(gateway, "PATCH", "/v1/workspace", { body });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "invalid_request", param });
    expect(response.body.error.message).toContain(`'${param}'`);
    expect(await capsOf(gateway)).toEqual(before);
  });

  test("usage_event applies to the workspace's next call at once (key cache evicted)", async () => {
    gateway = await startManagedGateway();
    const stream = async () => {
      const response = await gateway?.handle(
        new Request(`${gateway.baseUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${gateway.liveKey}` },
          body: JSON.stringify({ model: "mock-model", stream: true, messages: [{ role: "user", content: "hi" }] }),
        }),
      );
      return (await response?.text()) ?? "";
    };
    expect(await stream()).not.toContain("event: tollgate.usage");
    await call(gateway, "PATCH", "/v1/workspace", { body: { usage_event: true } });
    expect(await stream()).toContain("event: tollgate.usage");
    await call(gateway, "PATCH", "/v1/workspace", { body: { usage_event: false } });
    expect(await stream()).not.toContain("event: tollgate.usage");
  });

  test("default_route applies to the next call at once", async () => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    await chat(gateway, gateway.liveKey);
    await call(gateway, "PATCH", "/v1/workspace", { body: { default_route: "pool:economy" } });
    const requestId = (await chat(gateway, gateway.liveKey)).headers.get("x-tollgate-request-id") ?? "";
    expect((await rows<{ route: string }>(gateway, "SELECT route FROM requests WHERE request_id = ?", requestId))).toEqual([{ route: "pool:economy" }]);
  });
});

describe("GET /v1/wallet", () => {
  test("balance, nothing held, the grant's lot, balance in tokens at the cheapest input price", async () => {
    gateway = await startManagedGateway();
    const response = await call<WalletDoc>(gateway, "GET", "/v1/wallet");
    expect(response.status).toBe(200);
    const lot = (await rows<{ id: string; created_at: number; expires_at: number }>(gateway, "SELECT id, created_at, expires_at FROM credit_lots"))[0];
    expect(response.body).toEqual({
      balance_microcents: 1_000_000_000,
      held_microcents: 0,
      available_microcents: 1_000_000_000,
      // $10 at $1 per million input tokens.
      balance_tokens: 10_000_000,
      lots: [
        {
          id: lot?.id ?? "",
          source: "grant",
          amount_microcents: 1_000_000_000,
          remaining_microcents: 1_000_000_000,
          created_at: new Date(lot?.created_at ?? 0).toISOString(),
          expires_at: new Date(lot?.expires_at ?? 0).toISOString(),
          refundable_until: null,
        },
      ],
    });
  });

  test("a call's cost leaves the balance and the lot exactly; the ledger stays consistent", async () => {
    gateway = await startManagedGateway();
    const cost = Number((await chat(gateway, gateway.liveKey)).headers.get("x-tollgate-cost-microcents"));
    const wallet = (await call<WalletDoc>(gateway, "GET", "/v1/wallet")).body;
    expect(wallet.balance_microcents).toBe(1_000_000_000 - cost);
    expect(wallet.available_microcents).toBe(1_000_000_000 - cost);
    expect(wallet.lots[0]?.remaining_microcents).toBe(1_000_000_000 - cost);
    expect(verifyLedger(gateway.deps.database.db).problems).toEqual([]);
  });

  test("an empty wallet", async () => {
    gateway = await startManagedGateway({ grantUsd: 0 });
    const wallet = (await call<WalletDoc>(gateway, "GET", "/v1/wallet")).body;
    expect(wallet).toEqual({ balance_microcents: 0, held_microcents: 0, available_microcents: 0, balance_tokens: 0, lots: [] });
  });
});
