/** GET /metrics: Prometheus text with answers by endpoint, status and code, and channel health gauges. */

import { afterEach, expect, test } from "bun:test";
import { MOCK_CONFIG, postJson, startGateway, type TestGateway } from "../harness/gateway.ts";

let gateway: TestGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

const scrape = async (target: TestGateway, headers: Record<string, string> = {}) => target.handle(new Request(`${target.baseUrl}/metrics`, { headers }));

test("answers, refusals before a workspace is known, and channel measurements are counted", async () => {
  gateway = await startGateway();
  await postJson(gateway, "/v1/chat/completions", { model: "mock-model", messages: [{ role: "user", content: "hi" }] });
  await postJson(gateway, "/v1/chat/completions", { model: "mock-model", stream: true, messages: [{ role: "user", content: "hi there" }] }).then((response) => response.text());
  await postJson(gateway, "/v1/chat/completions", { model: "mock-model", messages: [] }, { authorization: "Bearer tg-live-nobodynobodynobodynobodynobodynobodynobodyno" });
  await postJson(gateway, "/v1/messages", "{oops", { "anthropic-version": "2023-06-01" });
  const response = await scrape(gateway);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/plain");
  const text = await response.text();
  expect(text).toContain('tollgate_http_responses_total{group="chat_completions",status="200",code=""} 2');
  expect(text).toContain('tollgate_http_responses_total{group="chat_completions",status="401",code="invalid_api_key"} 1');
  expect(text).toContain('tollgate_http_responses_total{group="messages",status="400",code="invalid_request"} 1');
  expect(text).toMatch(/tollgate_channel_ttft_ms\{model="mock-model",provider="mock",upstream_model="echo"\} \d/);
  expect(text).toContain('tollgate_channel_circuit_open{model="mock-model",provider="mock",upstream_model="echo"} 0');
  expect(text).toContain("tollgate_process_resident_memory_bytes");
});

test("with an admin token configured, /metrics needs it", async () => {
  gateway = await startGateway({ configToml: `[security]\nadmin_token = "operator-secret-token"\n${MOCK_CONFIG}` });
  expect((await scrape(gateway)).status).toBe(401);
  expect((await scrape(gateway, { authorization: "Bearer wrong" })).status).toBe(401);
  expect((await scrape(gateway, { authorization: "Bearer operator-secret-token" })).status).toBe(200);
});
