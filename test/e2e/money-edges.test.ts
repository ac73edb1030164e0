/**
 * Money at the edges (SPEC §5, §7, §8): a pricier fallback within the caps, the output allowance when a
 * client sends both max-token fields, and the input of a call an upstream accepted (2xx) but that ended
 * before any output: a body cut short, or a client that left while the stream had not started.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { verifyLedger } from "../../src/billing/ledger.ts";
import { postJson, rows, type RequestRecordRow } from "../harness/gateway.ts";
import { openAIAnswer, startPricedModels, type PricedModels } from "../harness/priced-models.ts";
import { sseText } from "../harness/upstream.ts";

let setup: PricedModels | null = null;
afterEach(async () => {
  await setup?.close();
  setup = null;
});


const records = (target: PricedModels) => rows<RequestRecordRow>(target.gateway, "SELECT * FROM requests ORDER BY rowid");

describe("caps and allowances", () => {
  test("a pricier fallback model that would pass the daily cap is skipped (quota_exceeded in attempts), never served", async () => {
    setup = await startPricedModels();
    const { gateway } = setup;
    // $0.005 a day: "cheap" with 1000 max tokens is estimated at ~0.2 cents (fits); "pricey" at ~2 cents (does not).
    const patched = await gateway.fetch(`${gateway.baseUrl}/v1/workspace`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${gateway.mgmtKey}`, "content-type": "application/json" },
      body: JSON.stringify({ daily_cap_usd: 0.005 }),
    });
    expect(patched.status).toBe(200);
    setup.cheap.script({ kind: "json", status: 500, body: { error: { message: "boom" } } });
    const response = await postJson(gateway, "/v1/chat/completions", { model: "cheap", max_tokens: 1000, messages: [{ role: "user", content: "hi" }] }, { "x-tollgate-fallback-models": "pricey" });
    expect(response.status).toBe(502);
    expect(setup.pricey.received).toHaveLength(0);
    const [record] = await records(setup);
    expect(JSON.parse(record?.attempts ?? "[]")).toEqual([
      { model: "cheap", provider: "up-cheap", error_code: "upstream_error" },
      { model: "pricey", provider: "up-pricey", error_code: "quota_exceeded" },
    ]);
    expect(record?.cost_microcents).toBe(0);
  });

  test("with both max_tokens and max_completion_tokens, the larger is held and checked against the max price", async () => {
    setup = await startPricedModels();
    // Input ~10 tokens at $1/Mtok + 1000 output tokens at $2/Mtok ≈ 200,000 µ¢: above a 5,000 µ¢ cap.
    const refused = await postJson(
      setup.gateway,
      "/v1/chat/completions",
      { model: "cheap", max_completion_tokens: 1, max_tokens: 1000, messages: [{ role: "user", content: "write a lot" }] },
      { "x-tollgate-max-price-microcents": "5000" },
    );
    expect(refused.status).toBe(403);
    expect(setup.cheap.received).toHaveLength(0);
    setup.cheap.script(openAIAnswer("cheap-upstream", { prompt_tokens: 8, completion_tokens: 1000 }));
    const served = await postJson(
      setup.gateway,
      "/v1/chat/completions",
      { model: "cheap", max_completion_tokens: 1, max_tokens: 1000, messages: [{ role: "user", content: "write a lot" }] },
      { "x-tollgate-max-price-microcents": "300000" },
    );
    expect(served.status).toBe(200);
    // A passthrough sends both fields as the client wrote them (each within the profile's limit): the
    // upstream may honour either, so the larger was held and priced.
    const sent = setup.cheap.received.at(-1)?.body ?? {};
    expect([sent.max_completion_tokens, sent.max_tokens]).toEqual([1, 1000]);
    expect(Number(served.headers.get("x-tollgate-cost-microcents"))).toBe(8 * 100 + 1000 * 200);
  });
});

describe("usage as upstreams report it", () => {
  test("fractional token counts are billed rounded up (a count that is not an integer once stopped the charge)", async () => {
    setup = await startPricedModels();
    setup.cheap.script(openAIAnswer("cheap-upstream", { prompt_tokens: 10.5, completion_tokens: 3.2 }));
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "cheap", messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(200);
    const [record] = await records(setup);
    // 11 input tokens at 100 µ¢ and 4 output tokens at 200 µ¢.
    expect(record).toMatchObject({ status: "ok", input_tokens: 11, output_tokens: 4, cost_microcents: 1_900 });
    expect(response.headers.get("x-tollgate-cost-microcents")).toBe("1900");
    expect(verifyLedger(setup.gateway.deps.database.db).problems).toEqual([]);
  });
});

describe("an upstream accepted the call (2xx), then no output came", () => {
  test("a non-stream answer cut mid-body: the call fails, its input is billed at that channel's price", async () => {
    setup = await startPricedModels();
    const body = JSON.stringify(openAIAnswer("cheap-upstream", { prompt_tokens: 10, completion_tokens: 100 }, "a long answer ".repeat(50)).body);
    // The headers and the first bytes go out, then the connection fails.
    setup.cheap.script({ kind: "sse", status: 200, text: body, chunkSize: 60, chunkDelayMs: 30, cutAfterBytes: 120 });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "cheap", max_tokens: 200, messages: [{ role: "user", content: "tell me a story" }] });
    expect(response.status).toBe(502);
    const [record] = await records(setup);
    // The error's figures are what was billed (SPEC §6: they equal the record).
    expect(response.headers.get("x-tollgate-cost-microcents")).toBe(String(record?.cost_microcents));
    expect(response.headers.get("x-tollgate-tokens-input")).toBe(String(record?.input_tokens));
    expect(response.headers.get("x-tollgate-billed-model")).toBe("cheap");
    expect(record).toMatchObject({ status: "error", error_code: "upstream_error", billed_model: "cheap", provider: "up-cheap", output_tokens: 0 });
    expect(JSON.parse(record?.attempts ?? "[]")).toEqual([{ model: "cheap", provider: "up-cheap", error_code: "upstream_error" }]);
    expect(record?.input_tokens).toBeGreaterThan(0);
    // ceil(input × $1/Mtok) in µ¢: 100 µ¢ a token.
    expect(record?.cost_microcents).toBe(record ? record.input_tokens * 100 : -1);
    expect(verifyLedger(setup.gateway.deps.database.db).problems).toEqual([]);
  });

  test("a client that leaves while the stream has not started (message_start only) pays the input message_start reported, recorded as 499", async () => {
    setup = await startPricedModels({ listen: true });
    const start = { event: "message_start", data: { type: "message_start", message: { id: "m", type: "message", role: "assistant", model: "claude-upstream", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5000, output_tokens: 1 } } } };
    const rest = sseText([
      { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
      { event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "late" } } },
    ]);
    const first = sseText([start]);
    // message_start at once, the rest 1.5 s later (a long prompt being read, a model thinking silently).
    setup.claude.script({ kind: "sse", text: first + rest, chunkSize: first.length, chunkDelayMs: 1500 });
    const controller = new AbortController();
    const pending = fetch(`${setup.gateway.baseUrl}/v1/messages`, {
      method: "POST",
      signal: controller.signal,
      headers: { "content-type": "application/json", authorization: `Bearer ${setup.gateway.liveKey}`, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude", stream: true, max_tokens: 100, messages: [{ role: "user", content: "a long prompt" }] }),
    }).catch(() => null);
    await Bun.sleep(300);
    controller.abort();
    await pending;
    let record: RequestRecordRow | undefined;
    for (let tries = 0; tries < 50 && record === undefined; tries++) {
      await Bun.sleep(20);
      await setup.gateway.deps.wallet.drained();
      [record] = await records(setup);
    }
    // The input as the upstream reported it in message_start (5,000 tokens), at $3/Mtok: 300 µ¢ a token.
    expect(record).toMatchObject({ status: "error", http_status: 499, error_code: "client_disconnected", billed_model: "claude", input_tokens: 5000, output_tokens: 0, cost_microcents: 1_500_000 });
    expect(verifyLedger(setup.gateway.deps.database.db).problems).toEqual([]);
  });

  test("an upstream that fails before 2xx bills nothing (the next channel or the error), as before", async () => {
    setup = await startPricedModels();
    setup.cheap.script({ kind: "json", status: 503, body: { error: { message: "down" } } });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "cheap", messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(502);
    const [record] = await records(setup);
    expect(record).toMatchObject({ status: "error", cost_microcents: 0, input_tokens: 0, billed_model: null });
    expect(response.headers.get("x-tollgate-cost-microcents")).toBe("0");
    expect(response.headers.get("x-tollgate-billed-model")).toBeNull();
  });
});
