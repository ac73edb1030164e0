/**
 * Per-workspace rate limits through the official clients: the six x-ratelimit-* headers on every
 * response (streams and errors included), 429 with Retry-After and retry-after-ms, one bucket shared by
 * every key of a workspace, a higher tier from the next call after enough spend.
 */

import { afterEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { postJson, startGateway, type TestGateway } from "../harness/gateway.ts";
import { openaiClient } from "../harness/sdk.ts";

const TIERS = (starterRpm: number, growthSpendUsd = 1000) => `
[[limits.tiers]]
name = "starter"
min_lifetime_spend_usd = 0
requests_per_minute = ${starterRpm}
tokens_per_minute = 100000

[[limits.tiers]]
name = "growth"
min_lifetime_spend_usd = ${growthSpendUsd}
requests_per_minute = 1000
tokens_per_minute = 1000000
`;

const MODELS = `
[[providers]]
id = "mock"
kind = "mock"

[[models]]
id = "mock-model"
context_window = 32000
max_output_tokens = 1000
input_usd_per_mtok = 1000
output_usd_per_mtok = 1000
  [[models.channels]]
  provider = "mock"
  model = "echo"
`;

let gateway: TestGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

const RATE_HEADERS = [
  "x-ratelimit-limit-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-requests",
  "x-ratelimit-reset-tokens",
];
const call = (target: TestGateway, body: Record<string, unknown> = {}, key = target.liveKey, headers: Record<string, string> = {}) =>
  postJson(target, "/v1/chat/completions", { model: "mock-model", max_tokens: 50, messages: [{ role: "user", content: "hi" }], ...body }, { authorization: `Bearer ${key}`, ...headers });

describe("rate-limit headers", () => {
  test("every response carries all six: success, stream, and errors once the workspace is known", async () => {
    gateway = await startGateway({ configToml: TIERS(10) + MODELS, grantUsd: 100 });
    const responses = [
      await call(gateway),
      await call(gateway, { stream: true }),
      await call(gateway, { model: "no-such-model" }),
      await postJson(gateway, "/v1/chat/completions", "{not json"),
      await postJson(gateway, "/v1/messages", { model: "mock-model", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { "anthropic-version": "2023-06-01" }),
    ];
    expect(responses.map((response) => response.status)).toEqual([200, 200, 404, 400, 200]);
    for (const response of responses) {
      for (const name of RATE_HEADERS) expect(response.headers.get(name)).not.toBeNull();
      expect(response.headers.get("x-ratelimit-limit-requests")).toBe("10");
    }
    const remaining = responses.map((response) => Number(response.headers.get("x-ratelimit-remaining-requests")));
    // Inference calls count; a 404/400 before admission draws nothing.
    expect(remaining).toEqual([9, 8, 8, 8, 7]);
    expect(responses[0]?.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(\.\d+)?(ms|s)$|^\d+m\d+s$/);
  });

  test("a call refused by billing (402) gives its tokens back, and its own headers already say so", async () => {
    gateway = await startGateway({ configToml: TIERS(10) + MODELS, grantUsd: 0 });
    const refused = await call(gateway);
    expect(refused.status).toBe(402);
    // The request still counts; the estimate (input + 50 max tokens) is back in the bucket.
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("9");
    expect(refused.headers.get("x-ratelimit-remaining-tokens")).toBe("100000");
  });

  test("a 503 after admission gives its tokens back in its own headers", async () => {
    gateway = await startGateway({ configToml: TIERS(10) + MODELS, grantUsd: 100 });
    const unserved = await call(gateway, {}, undefined, { "x-tollgate-route": "pool:nowhere" });
    expect(unserved.status).toBe(503);
    expect(unserved.headers.get("x-ratelimit-remaining-requests")).toBe("9");
    expect(unserved.headers.get("x-ratelimit-remaining-tokens")).toBe("100000");
  });

  test("answers that draw nothing (models, count_tokens, management, their errors) carry the request id, zero figures and the buckets as they stand", async () => {
    gateway = await startGateway({ configToml: TIERS(10) + MODELS, grantUsd: 100 });
    expect((await call(gateway)).status).toBe(200);
    const get = (path: string, key: string, headers: Record<string, string> = {}) =>
      (gateway as TestGateway).fetch(`${(gateway as TestGateway).baseUrl}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
    const answers = [
      await get("/v1/models", gateway.liveKey),
      await get("/v1/models", gateway.mgmtKey, { "anthropic-version": "2023-06-01" }),
      await get("/v1/models/mock-model", gateway.liveKey),
      await get("/v1/models/no-such-model", gateway.liveKey),
      await postJson(gateway, "/v1/messages/count_tokens", { model: "mock-model", messages: [{ role: "user", content: "x" }] }, { "anthropic-version": "2023-06-01" }),
      await get("/v1/wallet", gateway.mgmtKey),
      await get("/v1/generations/req_unknown", gateway.mgmtKey),
      await get("/v1/byok/keys", gateway.mgmtKey),
    ];
    expect(answers.map((response) => response.status)).toEqual([200, 200, 200, 404, 200, 200, 404, 200]);
    for (const response of answers) {
      const requestId = response.headers.get("x-tollgate-request-id");
      expect(requestId).toMatch(/^req_/);
      expect(response.headers.get("x-request-id")).toBe(requestId);
      expect(response.headers.get("request-id")).toBe(requestId);
      expect(response.headers.get("x-tollgate-cost-microcents")).toBe("0");
      expect(response.headers.get("x-tollgate-billed-model")).toBeNull();
      for (const name of RATE_HEADERS) expect(response.headers.get(name)).not.toBeNull();
      // The one inference call drew one request; none of these drew another.
      expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("9");
    }
    for (const response of answers) expect(response.headers.get("x-tollgate-tokens-input")).toBe("0");
  });

  test("a key of the wrong kind is refused with 401, naming the kind needed, and its workspace's limits in the headers", async () => {
    gateway = await startGateway({ configToml: TIERS(10) + MODELS, grantUsd: 100 });
    const inferenceWithManagementKey = await call(gateway, {}, gateway.mgmtKey);
    const managementWithInferenceKey = await (gateway as TestGateway).fetch(`${gateway.baseUrl}/v1/wallet`, { headers: { authorization: `Bearer ${gateway.liveKey}` } });
    for (const [response, needed] of [
      [inferenceWithManagementKey, "an inference key"],
      [managementWithInferenceKey, "a management key"],
    ] as const) {
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_api_key", message: expect.stringContaining(needed) });
      for (const name of RATE_HEADERS) expect(response.headers.get(name)).not.toBeNull();
      // Refused before admission: nothing drawn.
      expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("10");
    }
  });

  test("a 401 before the workspace is known has no rate-limit headers", async () => {
    gateway = await startGateway({ configToml: TIERS(10) + MODELS });
    const response = await call(gateway, {}, "tg-live-doesnotexistdoesnotexistdoesnotexistdoesn");
    expect(response.status).toBe(401);
    expect(response.headers.get("x-ratelimit-limit-requests")).toBeNull();
    expect(response.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
  });
});

describe("429 rate_limited", () => {
  test("the call past the limit gets 429 with Retry-After and retry-after-ms; the SDK sees RateLimitError", async () => {
    gateway = await startGateway({ configToml: TIERS(3) + MODELS });
    for (let index = 0; index < 3; index++) expect((await call(gateway)).status).toBe(200);
    const limited = await call(gateway);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    const retryAfterMs = Number(limited.headers.get("retry-after-ms"));
    // 3 requests per minute refill one every 20 s.
    expect(retryAfterMs).toBeGreaterThan(19_000);
    expect(retryAfterMs).toBeLessThanOrEqual(20_000);
    expect(retryAfter).toBe(Math.ceil(retryAfterMs / 1000));
    expect(limited.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    const error = await openaiClient(gateway).chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
  });

  test("ten keys of one workspace share one bucket", async () => {
    gateway = await startGateway({ configToml: TIERS(5) + MODELS });
    const keys = await Promise.all(
      Array.from({ length: 10 }, async (_, index) => (await (gateway as TestGateway).deps.repos.keys.create({ workspaceId: (gateway as TestGateway).workspaceId, kind: "live", name: `k${index}`, nowMs: Date.now() })).key),
    );
    const statuses: number[] = [];
    for (const key of keys) statuses.push((await call(gateway, {}, key)).status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
  });

  test("a workspace that reached the next tier's lifetime spend gets its limits from the next call", async () => {
    // $1000/Mtok: each call costs about a cent; the growth tier starts at $0.02 of lifetime spend.
    gateway = await startGateway({ configToml: TIERS(5, 0.02) + MODELS, grantUsd: 100 });
    const limits: string[] = [];
    for (let index = 0; index < 8; index++) {
      const response = await call(gateway);
      limits.push(response.headers.get("x-ratelimit-limit-requests") ?? "");
    }
    expect(limits[0]).toBe("5");
    expect(limits.at(-1)).toBe("1000");
    await gateway.deps.wallet.drained();
    const spent = gateway.deps.database.sqlite.query("SELECT lifetime_spend_microcents AS s FROM workspaces WHERE id = ?").get(gateway.workspaceId) as { s: number };
    expect(spent.s).toBeGreaterThanOrEqual(2_000_000);
  });
});
