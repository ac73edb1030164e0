/** Each route group answers errors in its own dialect, whatever headers the client sent. */

import { afterAll, beforeAll, expect, test } from "bun:test";
import { startGateway, type TestGateway } from "../harness/gateway.ts";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startGateway();
});
afterAll(async () => {
  await gateway.close();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  gateway.handle(new Request(`${gateway.baseUrl}${path}`, { method: "POST", headers: { "x-api-key": gateway.liveKey, ...headers }, body }));

test("/v1/messages errors are Anthropic-shaped even without anthropic-version", async () => {
  const response = await post("/v1/messages", "{not json");
  expect(response.status).toBe(400);
  expect(await response.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error", details: { error_code: "invalid_request" } } });
});

test("/v1/chat/completions errors are OpenAI-shaped even with anthropic-version", async () => {
  const response = await post("/v1/chat/completions", "{not json", { "anthropic-version": "2023-06-01" });
  expect(response.status).toBe(400);
  expect(await response.json()).toMatchObject({ error: { code: "invalid_request", type: "invalid_request_error" } });
});

test("management errors are OpenAI-shaped even with anthropic-version", async () => {
  const response = await gateway.handle(
    new Request(`${gateway.baseUrl}/v1/keys`, { headers: { authorization: `Bearer ${gateway.liveKey}`, "anthropic-version": "2023-06-01" } }),
  );
  expect(response.status).toBe(401);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("invalid_api_key");
  expect(body.error.message).toContain("management key");
});

test("unknown paths follow the anthropic-version header", async () => {
  const anthropic = await gateway.handle(new Request(`${gateway.baseUrl}/v1/nothing`, { headers: { "anthropic-version": "2023-06-01" } }));
  expect(anthropic.status).toBe(404);
  expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
  const openai = await gateway.handle(new Request(`${gateway.baseUrl}/v1/nothing`));
  expect(await openai.json()).toMatchObject({ error: { code: "not_found" } });
});
