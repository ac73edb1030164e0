/**
 * Admission around every call (SPEC §5, §7, §8): max price, quota caps, balance — exact under
 * concurrency: no overdraft, every success billed exactly its usage, refusals recorded and unbilled.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { verifyLedger } from "../../src/billing/ledger.ts";
import { MOCK_CONFIG, postJson, rows, startGateway, type TestGateway } from "../harness/gateway.ts";
import { startMatrix, type MatrixSetup } from "../harness/matrix.ts";

let gateway: TestGateway | null = null;
let setup: MatrixSetup | null = null;
afterEach(async () => {
  await gateway?.close();
  await setup?.close();
  gateway = null;
  setup = null;
});

interface RecordRow {
  request_id: string;
  status: string;
  http_status: number;
  error_code: string | null;
  cost_microcents: number;
  input_tokens: number;
  output_tokens: number;
}

const chat = (target: TestGateway, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  postJson(target, "/v1/chat/completions", { model: "mock-model", messages: [{ role: "user", content: "hello there" }], max_tokens: 100, ...body }, headers);

describe("max price", () => {
  test("a cap below every channel's estimate → 403, nothing sent upstream, recorded as refused", async () => {
    setup = await startMatrix();
    const before = setup.openaiUpstream.received.length;
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", max_tokens: 1000, messages: [{ role: "user", content: "x" }] }, {
      "x-tollgate-max-price-microcents": "1000",
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("x-should-retry")).toBe("false");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("max_price_exceeded");
    expect(setup.openaiUpstream.received.length).toBe(before);
    expect((await rows<RecordRow>(setup.gateway, "SELECT * FROM requests"))).toEqual([expect.objectContaining({ status: "refused", http_status: 403, cost_microcents: 0 })]);
  });

  test("a cap above the estimate lets the call through; a malformed cap is 400", async () => {
    setup = await startMatrix();
    // 1000 output tokens at $15/Mtok = 1.5M µ¢, plus a few input tokens at $3/Mtok.
    const ok = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", max_tokens: 1000, messages: [{ role: "user", content: "x" }] }, {
      "x-tollgate-max-price-microcents": "2000000",
    });
    expect(ok.status).toBe(200);
    const bad = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "x" }] }, { "x-tollgate-max-price-microcents": "1.5" });
    expect(bad.status).toBe(400);
  });
});

describe("quota caps", () => {
  const setDailyCap = (target: TestGateway, microcents: number | null) => {
    target.deps.database.sqlite.query("UPDATE workspaces SET daily_cap_microcents = ? WHERE id = ?").run(microcents, target.workspaceId);
    target.deps.keyCache.evictWorkspace(target.workspaceId);
  };

  test("calls are refused with 403 quota_exceeded once the daily cap would be passed", async () => {
    gateway = await startGateway();
    // Each call holds about 100 output tokens × 200 µ¢ + input ≈ 21,000 µ¢ and costs much less.
    setDailyCap(gateway, 25_000);
    const statuses: number[] = [];
    for (let index = 0; index < 12; index++) statuses.push((await chat(gateway)).status);
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(403);
    const spent = (await rows<{ total: number }>(gateway, "SELECT coalesce(sum(cost_microcents), 0) AS total FROM requests"))[0]?.total ?? 0;
    expect(spent).toBeLessThanOrEqual(25_000);
    const refused = (await rows<RecordRow>(gateway, "SELECT * FROM requests WHERE status = 'refused'"));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((row) => row.error_code === "quota_exceeded" && row.cost_microcents === 0)).toBe(true);
    setDailyCap(gateway, null);
    expect((await chat(gateway)).status).toBe(200);
  });

  test("concurrent calls cannot pass a cap together", async () => {
    gateway = await startGateway({ configToml: MOCK_CONFIG.replace('kind = "mock"', 'kind = "mock"\nttft_ms = 50') });
    setDailyCap(gateway, 50_000);
    const responses = await Promise.all(Array.from({ length: 8 }, () => chat(gateway as TestGateway)));
    const admitted = responses.filter((response) => response.status === 200).length;
    // Each call reserves ≈ 21,000 µ¢ of the 50,000 cap while in flight: at most two fit.
    expect(admitted).toBe(2);
    expect(responses.filter((response) => response.status === 403)).toHaveLength(6);
  });
});

describe("the wallet under concurrency", () => {
  test("200 concurrent calls on a wallet that affords about 50: no overdraft, exact bills, the rest 402", async () => {
    gateway = await startGateway({ grantUsd: 0, configToml: MOCK_CONFIG.replace('kind = "mock"', 'kind = "mock"\nttft_ms = 200') });
    // Hold per call: input estimate + 100 output tokens at 200 µ¢ ≈ 21,000 µ¢; fund about 50 of them.
    const probe = await chat(gateway, {}, { "x-tollgate-max-price-microcents": "0" });
    expect(probe.status).toBe(403);
    const estimate = Number(/estimated at (\d+) µ¢/.exec(((await probe.json()) as { error: { message: string } }).error.message)?.[1]);
    expect(estimate).toBeGreaterThan(20_000);
    const funds = estimate * 50 + estimate / 2;
    const { grantCredit } = await import("../../src/billing/ledger.ts");
    grantCredit(gateway.deps.database.db, {
      workspaceId: gateway.workspaceId,
      amountMicrocents: Math.floor(funds),
      source: "grant",
      note: null,
      nowMs: Date.now(),
      validityDays: 365,
      idempotencyKey: "concurrency-grant",
    });
    gateway.deps.wallet.invalidate(gateway.workspaceId);

    const responses = await Promise.all(Array.from({ length: 200 }, () => chat(gateway as TestGateway)));
    const ok = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status === 402);
    expect(ok.length + refused.length).toBe(200);
    // Admitted while the available balance covers the hold and stays at or above the per-call minimum.
    const minimum = gateway.config.billing.perCallMinimumMicrocents;
    let affordable = 0;
    while (Math.floor(funds) - affordable * estimate >= Math.max(estimate, minimum)) affordable++;
    expect(affordable).toBeGreaterThan(40);
    expect(ok.length).toBe(affordable);

    for (const response of ok) {
      const requestId = response.headers.get("x-tollgate-request-id") ?? "";
      const [record] = (await rows<RecordRow>(gateway, "SELECT * FROM requests WHERE request_id = ?", requestId));
      const [entry] = (await rows<{ amount_microcents: number }>(gateway, "SELECT amount_microcents FROM ledger_entries WHERE request_id = ?", requestId));
      const cost = Number(response.headers.get("x-tollgate-cost-microcents"));
      // Billed exactly its usage: input × 100 µ¢ + output × 200 µ¢ at $1/$2 per Mtok.
      expect(cost).toBe((record?.input_tokens ?? 0) * 100 + (record?.output_tokens ?? 0) * 200);
      expect(record?.cost_microcents).toBe(cost);
      expect(entry?.amount_microcents).toBe(-cost);
    }
    const refusedRecords = (await rows<RecordRow>(gateway, "SELECT * FROM requests WHERE status = 'refused' AND http_status = 402"));
    expect(refusedRecords).toHaveLength(200 - affordable);
    expect(refusedRecords.every((row) => row.http_status === 402 && row.cost_microcents === 0)).toBe(true);
    const [workspace] = (await rows<{ balance_microcents: number }>(gateway, "SELECT balance_microcents FROM workspaces WHERE id = ?", gateway.workspaceId));
    expect(workspace?.balance_microcents).toBeGreaterThanOrEqual(0);
    expect(gateway.deps.wallet.heldMicrocents(gateway.workspaceId)).toBe(0);
    expect(verifyLedger(gateway.deps.database.db).problems).toEqual([]);
  });
});
