/**
 * Routing and channel health end to end: the breaker opens on consecutive failures, probes after its
 * cooldown and closes; first-byte and request timeouts; route precedence (header > key > workspace >
 * config) and pool pinning; /v1/models shows what traffic measured.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { ManualClock } from "../../src/lib/clock.ts";
import { postJson, rows } from "../harness/gateway.ts";
import { startRouting, type RoutingSetup } from "../harness/routing.ts";
import { openaiClient } from "../harness/sdk.ts";
import { sseText } from "../harness/upstream.ts";

let setup: RoutingSetup | null = null;
afterEach(async () => {
  await setup?.close();
  setup = null;
});

const call = (target: RoutingSetup, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  postJson(target.gateway, "/v1/chat/completions", { model: "primary", messages: [{ role: "user", content: "hi" }], ...body }, headers);

describe("circuit breaker", () => {
  test("three failures open channel a; calls skip it; after the cooldown one probe closes it again", async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    setup = await startRouting({ clock });
    for (let index = 0; index < 3; index++) setup.a.script({ kind: "json", status: 500, body: {} });
    for (let index = 0; index < 3; index++) expect((await call(setup)).status).toBe(200);
    expect(setup.a.received).toHaveLength(3);
    expect(setup.gateway.deps.health.snapshot("up-a/model-a").state).toBe("open");

    for (let index = 0; index < 5; index++) expect((await call(setup)).status).toBe(200);
    expect(setup.a.received).toHaveLength(3);
    expect(setup.b.received).toHaveLength(8);

    clock.advance(setup.gateway.deps.health.cooldownMs);
    expect((await call(setup)).status).toBe(200);
    expect(setup.a.received).toHaveLength(4);
    expect(setup.gateway.deps.health.snapshot("up-a/model-a").state).toBe("closed");
    expect((await call(setup)).status).toBe(200);
    expect(setup.a.received).toHaveLength(5);
  });

  test("every channel open → 503 no_healthy_channel (overloaded_error for Anthropic clients)", async () => {
    setup = await startRouting();
    for (const key of ["up-a/model-a", "up-b/model-b"]) for (let index = 0; index < 3; index++) setup.gateway.deps.health.recordFailure(key);
    const response = await call(setup);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("no_healthy_channel");
    const anthropic = await postJson(setup.gateway, "/v1/messages", { model: "primary", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { "anthropic-version": "2023-06-01" });
    expect(anthropic.status).toBe(503);
    expect(((await anthropic.json()) as { error: { type: string } }).error.type).toBe("overloaded_error");
  });

  test("a 503 no_healthy_channel is recorded under its request id (status error, nothing billed)", async () => {
    setup = await startRouting();
    const response = await call(setup, {}, { "x-tollgate-route": "pool:nowhere" });
    expect(response.status).toBe(503);
    const requestId = response.headers.get("x-tollgate-request-id") ?? "";
    const lookup = await setup.gateway.fetch(`${setup.gateway.baseUrl}/v1/generations/${requestId}`, { headers: { authorization: `Bearer ${setup.gateway.mgmtKey}` } });
    expect(lookup.status).toBe(200);
    const record = (await lookup.json()) as Record<string, unknown>;
    expect(record).toMatchObject({ request_id: requestId, status: "error", http_status: 503, error_code: "no_healthy_channel", cost_microcents: 0, billed_model: null, route: "pool:nowhere", attempts: [] });
    expect(setup.a.received).toHaveLength(0);
    expect(setup.b.received).toHaveLength(0);
    expect(await rows(setup.gateway, "SELECT id FROM ledger_entries WHERE kind = 'charge'")).toHaveLength(0);
  });
});

describe("timeouts", () => {
  test("first_byte_timeout_ms: a stream silent past it moves to the next channel; all silent → 504", async () => {
    setup = await startRouting({ firstByteTimeoutMs: 150 });
    setup.a.script({ kind: "hang" });
    const served = await call(setup, { stream: true });
    expect(served.status).toBe(200);
    expect(await served.text()).toContain("[DONE]");
    expect((await rows<{ attempts: string }>(setup.gateway, "SELECT attempts FROM requests"))[0]?.attempts).toContain("upstream_timeout");

    setup.a.script({ kind: "hang" });
    setup.b.script({ kind: "sse", text: "", delayMs: 2000 });
    const started = performance.now();
    const timedOut = await call(setup, { stream: true });
    expect(timedOut.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(((await timedOut.json()) as { error: { code: string } }).error.code).toBe("upstream_timeout");
  });

  test("request_timeout_ms: an upstream that never answers a non-stream call → 504 upstream_timeout", async () => {
    setup = await startRouting({ requestTimeoutMs: 200 });
    setup.a.script({ kind: "hang" });
    setup.b.script({ kind: "hang" });
    const response = await call(setup);
    expect(response.status).toBe(504);
    const [record] = (await rows<{ status: string; error_code: string; cost_microcents: number }>(setup.gateway, "SELECT * FROM requests"));
    expect(record).toMatchObject({ status: "error", error_code: "upstream_timeout", cost_microcents: 0 });
  });

  test("request_timeout_ms mid-stream ends the stream with an error event", async () => {
    setup = await startRouting({ requestTimeoutMs: 300 });
    const chunk = (content: string) => ({ data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] } });
    setup.a.script({ kind: "sse", text: sseText(Array.from({ length: 40 }, (_, index) => chunk(`w${index} `))), chunkSize: 40, chunkDelayMs: 50 });
    const response = await call(setup, { stream: true });
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(body).toContain('"error"');
    expect(body).not.toContain("[DONE]");
  });
});

describe("route precedence and pools", () => {
  test("header > key > workspace > config; pool:<slug> pins the provider pool", async () => {
    setup = await startRouting({ defaultRoute: "pool:economy" });
    const served = async (headers: Record<string, string> = {}) => {
      await call(setup as RoutingSetup, {}, headers);
      return (await rows<{ provider: string; route: string }>((setup as RoutingSetup).gateway, "SELECT provider, route FROM requests ORDER BY rowid DESC LIMIT 1"))[0];
    };
    expect(await served()).toEqual({ provider: "up-a", route: "pool:economy" });
    setup.gateway.deps.database.sqlite.query("UPDATE workspaces SET default_route = 'pool:direct'").run();
    setup.gateway.deps.keyCache.evictWorkspace(setup.gateway.workspaceId);
    expect(await served()).toEqual({ provider: "up-b", route: "pool:direct" });
    setup.gateway.deps.database.sqlite.query("UPDATE keys SET route = 'cheapest'").run();
    setup.gateway.deps.keyCache.evictWorkspace(setup.gateway.workspaceId);
    expect(await served()).toEqual({ provider: "up-a", route: "cheapest" });
    expect(await served({ "x-tollgate-route": "pool:direct" })).toEqual({ provider: "up-b", route: "pool:direct" });
  });

  test("an invalid route header is 400; a pool with no channel for the model is 503", async () => {
    setup = await startRouting();
    expect((await call(setup, {}, { "x-tollgate-route": "teleport" })).status).toBe(400);
    expect((await call(setup, {}, { "x-tollgate-route": "pool:nowhere" })).status).toBe(503);
  });

  test("auto spreads calls by weight: channel a (half b's price) gets two calls in three", async () => {
    setup = await startRouting({ defaultRoute: "auto" });
    for (let index = 0; index < 30; index++) expect((await call(setup)).status).toBe(200);
    expect(setup.a.received).toHaveLength(20);
    expect(setup.b.received).toHaveLength(10);
  });
});

test("/v1/models shows the time to first token and tokens per second traffic measured", async () => {
  setup = await startRouting();
  const before = await openaiClient(setup.gateway).models.retrieve("primary");
  expect((before as unknown as { ttft_ms: number | null }).ttft_ms).toBeNull();
  const chunk = (delta: unknown, finish: string | null = null) => ({ data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] } });
  const words = ["one ", "two ", "three ", "four ", "five ", "six"];
  const text = sseText([chunk({ role: "assistant", content: "" }), ...words.map((word) => chunk({ content: word })), chunk({}, "stop"), { data: "[DONE]" }]);
  for (let index = 0; index < 3; index++) {
    setup.a.script({ kind: "sse", text, chunkSize: 120, chunkDelayMs: 10 });
    const response = await call(setup, { stream: true });
    await response.text();
  }
  const after = (await openaiClient(setup.gateway).models.retrieve("primary")) as unknown as {
    ttft_ms: number | null;
    tokens_per_second: number | null;
    channels: Array<{ provider: string; ttft_ms: number | null }>;
  };
  expect(after.ttft_ms).not.toBeNull();
  expect(after.ttft_ms ?? -1).toBeGreaterThanOrEqual(0);
  expect(after.tokens_per_second ?? 0).toBeGreaterThan(0);
  expect(after.channels.find((channel) => channel.provider === "up-a")?.ttft_ms).not.toBeNull();
  expect(after.channels.find((channel) => channel.provider === "up-b")?.ttft_ms).toBeNull();
});
