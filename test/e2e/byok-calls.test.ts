/**
 * X-Tollgate-BYOK: 1 on inference calls (SPEC §5, §7): the workspace's own key goes upstream instead of
 * the provider's, the call is billed the flat byok_fee_usd, a missing key is 400 byok_key_missing and a
 * key the upstream refuses is 400 byok_key_rejected.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { postJson, rows } from "../harness/gateway.ts";
import { startMatrix, type MatrixSetup } from "../harness/matrix.ts";

const MASTER_KEY = Buffer.from(Array.from({ length: 32 }, (_, index) => index + 7)).toString("base64");
const BYOK = { "x-tollgate-byok": "1" };
let setup: MatrixSetup | null = null;
afterEach(async () => {
  await setup?.close();
  setup = null;
});

const start = () => startMatrix({ extraToml: `\n[security]\nmaster_key = "${MASTER_KEY}"\n` });

describe("calls with the workspace's own key", () => {
  test("the uploaded key is sent upstream and the flat fee is billed, whatever the tokens", async () => {
    setup = await start();
    const { gateway } = setup;
    await gateway.deps.byok.store(gateway.workspaceId, "openai", "sk-workspace-own-key-123456", "mine");
    const response = await postJson(gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "byok please" }] }, BYOK);
    expect(response.status).toBe(200);
    expect(setup.openaiUpstream.received.at(-1)?.headers.get("authorization")).toBe("Bearer sk-workspace-own-key-123456");
    const fee = gateway.config.billing.byokFeeMicrocents;
    expect(response.headers.get("x-tollgate-cost-microcents")).toBe(String(fee));
    const [record] = (await rows<{ byok: number; cost_microcents: number }>(gateway, "SELECT byok, cost_microcents FROM requests"));
    expect(record).toEqual({ byok: 1, cost_microcents: fee });
  });

  test("the same model without the header uses the provider's key and token prices", async () => {
    setup = await start();
    await setup.gateway.deps.byok.store(setup.gateway.workspaceId, "openai", "sk-workspace-own-key-123456");
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "no byok" }] });
    expect(setup.openaiUpstream.received.at(-1)?.headers.get("authorization")).toBe("Bearer sk-upstream-openai-secret");
    expect(response.headers.get("x-tollgate-cost-microcents")).not.toBe(String(setup.gateway.config.billing.byokFeeMicrocents));
  });

  test("Anthropic upstreams get the key as x-api-key", async () => {
    setup = await start();
    await setup.gateway.deps.byok.store(setup.gateway.workspaceId, "anthropic", "sk-ant-workspace-key-987654");
    const response = await postJson(setup.gateway, "/v1/messages", { model: "via-anthropic", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }, {
      ...BYOK,
      "anthropic-version": "2023-06-01",
    });
    expect(response.status).toBe(200);
    expect(setup.anthropicUpstream.received.at(-1)?.headers.get("x-api-key")).toBe("sk-ant-workspace-key-987654");
  });
});

describe("BYOK failures", () => {
  test("no uploaded key for the serving provider → 400 byok_key_missing, nothing sent, nothing billed", async () => {
    setup = await start();
    const before = setup.openaiUpstream.received.length;
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "x" }] }, BYOK);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("byok_key_missing");
    expect(setup.openaiUpstream.received.length).toBe(before);
    expect((await rows(setup.gateway, "SELECT * FROM ledger_entries WHERE kind = 'charge'"))).toHaveLength(0);
  });

  test("a provider without a BYOK slot (the mock) → 400 byok_key_missing", async () => {
    setup = await start();
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-mock", messages: [{ role: "user", content: "x" }] }, BYOK);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("byok_key_missing");
  });

  test("the upstream refuses the workspace's key → 400 byok_key_rejected (not the operator's 502)", async () => {
    setup = await start();
    await setup.gateway.deps.byok.store(setup.gateway.workspaceId, "openai", "sk-revoked-by-openai-000000");
    setup.openaiUpstream.script({ kind: "json", status: 401, body: { error: { message: "Incorrect API key provided", code: "invalid_api_key" } } });
    const response = await postJson(setup.gateway, "/v1/messages", { model: "via-openai", max_tokens: 10, messages: [{ role: "user", content: "x" }] }, {
      ...BYOK,
      "anthropic-version": "2023-06-01",
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string; details: { error_code: string } } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", details: { error_code: "byok_key_rejected" } });
    expect(JSON.stringify(body)).not.toContain("sk-revoked-by-openai");
  });

  test("a workspace's own key out of quota (429) or unreachable never opens the breaker of the channel every workspace shares", async () => {
    setup = await start();
    const { gateway, openaiUpstream } = setup;
    await gateway.deps.byok.store(gateway.workspaceId, "openai", "sk-exhausted-quota-key-000000");
    const quota = { kind: "json" as const, status: 429, body: { error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" } } };
    openaiUpstream.script(quota, quota, quota, quota);
    const body = { model: "via-openai", messages: [{ role: "user", content: "hi" }] };
    for (let index = 0; index < 4; index++) expect((await postJson(gateway, "/v1/chat/completions", body, BYOK)).status).toBe(429);
    expect(gateway.deps.health.snapshot("fake-openai/gpt-upstream").state).toBe("closed");
    // Everyone else, on the operator's key: served.
    expect((await postJson(gateway, "/v1/chat/completions", body)).status).toBe(200);
  });
});
