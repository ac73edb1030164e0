/**
 * The fallback matrix (SPEC §5, §7) through the official SDK: transient failures (5xx, 529, 429,
 * timeouts, unreachable) move to the model's next channel, then to X-Tollgate-Fallback-Models; other
 * 4xx come back as they are; streams fall back only before their first byte.
 */

import { afterEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { postJson, rows, type RequestRecordRow } from "../harness/gateway.ts";
import { startRouting, type RoutingSetup } from "../harness/routing.ts";
import { openaiClient } from "../harness/sdk.ts";
import { sseText, type Script } from "../harness/upstream.ts";

let setup: RoutingSetup | null = null;
afterEach(async () => {
  await setup?.close();
  setup = null;
});


const lastRecord = async (target: RoutingSetup) => (await rows<RequestRecordRow>(target.gateway, "SELECT * FROM requests ORDER BY rowid DESC LIMIT 1"))[0];
const attemptsOf = (record: RequestRecordRow | undefined) => JSON.parse(record?.attempts ?? "[]") as Array<{ model: string; provider: string; error_code: string | null }>;

const TRANSIENT: Array<[string, Script]> = [
  ["500", { kind: "json", status: 500, body: { error: { message: "boom" } } }],
  ["529 overloaded", { kind: "json", status: 529, body: { error: { message: "overloaded" } } }],
  ["503", { kind: "json", status: 503, body: { error: { message: "unavailable" } } }],
  ["429", { kind: "json", status: 429, headers: { "retry-after": "3" }, body: { error: { message: "slow down" } } }],
];

describe.each([false, true])("stream %p: transient failures of the first channel", (stream) => {
  test.each(TRANSIENT)("%s → the model's next channel serves", async (_name, script) => {
    setup = await startRouting();
    setup.a.script(script);
    const completion = stream
      ? await openaiClient(setup.gateway).chat.completions.stream({ model: "primary", messages: [{ role: "user", content: "fall back" }] }).finalChatCompletion()
      : await openaiClient(setup.gateway).chat.completions.create({ model: "primary", messages: [{ role: "user", content: "fall back" }] });
    expect(completion.choices[0]?.message.content).toBe("fall back");
    expect(setup.a.received).toHaveLength(1);
    expect(setup.b.received).toHaveLength(1);
    const record = await lastRecord(setup);
    expect(record).toMatchObject({ status: "ok", provider: "up-b", billed_model: "primary" });
    expect(attemptsOf(record).map((attempt) => attempt.provider)).toEqual(["up-a", "up-b"]);
    expect(attemptsOf(record)[1]?.error_code).toBeNull();
  });

  test("a 200 that carries an error object (a router behind a compatible server failed) → the next channel; the attempts say so", async () => {
    setup = await startRouting();
    setup.a.script({ kind: "json", status: 200, body: { error: { message: "router failed", type: "server_error" } } });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", stream, messages: [{ role: "user", content: "hi" }] });
    expect(response.status).toBe(200);
    await response.text();
    const record = await lastRecord(setup);
    expect(record).toMatchObject({ status: "ok", provider: "up-b" });
    expect(attemptsOf(record).map((attempt) => [attempt.provider, attempt.error_code])).toEqual([
      ["up-a", "upstream_error"],
      ["up-b", null],
    ]);
  });

  test("an unreachable channel → the next one", async () => {
    setup = await startRouting();
    await setup.a.close();
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", stream, messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(200);
    await response.text(); // a stream's record is written when it ends
    expect((await lastRecord(setup))?.provider).toBe("up-b");
  });

  test("a 400 is the caller's problem: returned as it is, no other channel tried", async () => {
    setup = await startRouting();
    setup.a.script({ kind: "json", status: 400, body: { error: { message: "bad request from upstream", code: "bad_thing" } } });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", stream, messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe("bad request from upstream");
    expect(setup.b.received).toHaveLength(0);
  });

  test("every channel and fallback model rate-limited → 429 upstream_rate_limited with the shortest Retry-After", async () => {
    setup = await startRouting();
    setup.a.script({ kind: "json", status: 429, headers: { "retry-after": "9" }, body: { error: { message: "a" } } });
    setup.b.script({ kind: "json", status: 429, headers: { "retry-after": "4" }, body: { error: { message: "b" } } });
    setup.backup.script({ kind: "json", status: 429, body: { type: "error", error: { type: "rate_limit_error", message: "c" } } });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", stream, messages: [{ role: "user", content: "x" }] }, { "x-tollgate-fallback-models": "backup" });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("4");
    expect(response.headers.get("retry-after-ms")).toBe("4000");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("upstream_rate_limited");
    expect((await rows(setup.gateway, "SELECT * FROM ledger_entries WHERE kind = 'charge'"))).toHaveLength(0);
  });
});

describe("fallback models", () => {
  test("once the primary's channels all failed, X-Tollgate-Fallback-Models serve, billed as themselves", async () => {
    setup = await startRouting();
    setup.a.script({ kind: "json", status: 500, body: {} });
    setup.b.script({ kind: "json", status: 502, body: {} });
    const { data, response } = await openaiClient(setup.gateway)
      .chat.completions.create({ model: "primary", messages: [{ role: "user", content: "to the backup" }] }, { headers: { "x-tollgate-fallback-models": "backup" } })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("to the backup");
    expect(data.model).toBe("primary");
    expect(response.headers.get("x-tollgate-billed-model")).toBe("backup");
    const record = await lastRecord(setup);
    expect(record?.billed_model).toBe("backup");
    expect(attemptsOf(record)).toEqual([
      { model: "primary", provider: "up-a", error_code: "upstream_error" },
      { model: "primary", provider: "up-b", error_code: "upstream_error" },
      { model: "backup", provider: "up-backup", error_code: null },
    ]);
  });

  test("an unknown fallback model is 404, nothing sent", async () => {
    setup = await startRouting();
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", messages: [{ role: "user", content: "x" }] }, { "x-tollgate-fallback-models": "ghost" });
    expect(response.status).toBe(404);
    expect(setup.a.received).toHaveLength(0);
  });

  test("an upstream 401 tries the model's other channel but never a fallback model; all refused → 502 upstream_auth_failed", async () => {
    setup = await startRouting();
    setup.a.script({ kind: "json", status: 401, body: { error: { message: "bad key" } } });
    const served = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", messages: [{ role: "user", content: "x" }] }, { "x-tollgate-fallback-models": "backup" });
    expect(served.status).toBe(200);
    expect((await lastRecord(setup))?.provider).toBe("up-b");

    setup.a.script({ kind: "json", status: 401, body: { error: { message: "bad key" } } });
    setup.b.script({ kind: "json", status: 403, body: { error: { message: "forbidden" } } });
    const refused = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", messages: [{ role: "user", content: "x" }] }, { "x-tollgate-fallback-models": "backup" });
    expect(refused.status).toBe(502);
    expect(refused.headers.get("x-should-retry")).toBe("false");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("upstream_auth_failed");
    expect(setup.backup.received).toHaveLength(0);
  });

  test("max price removes the channels it can't afford; the affordable one serves", async () => {
    setup = await startRouting({ defaultRoute: "pool:direct" });
    // primary on up-b: 1000 output tokens at $4/Mtok = 400,000 µ¢; backup: 1000 × $2/Mtok = 200,000 µ¢.
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "primary", max_tokens: 1000, messages: [{ role: "user", content: "x" }] }, {
      "x-tollgate-fallback-models": "backup",
      "x-tollgate-route": "auto",
      "x-tollgate-max-price-microcents": "300000",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-tollgate-billed-model")).toBe("primary");
    expect((await lastRecord(setup))?.provider).toBe("up-a");
  });
});

describe("streams and the first byte", () => {
  const chunk = (delta: unknown, finish: string | null = null) => ({ data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] } });

  test("an error as the stream's first event falls back (nothing had reached the client)", async () => {
    setup = await startRouting();
    setup.a.script({ kind: "sse", text: sseText([{ data: { error: { message: "overloaded", type: "server_error" } } }]) });
    const completion = await openaiClient(setup.gateway).chat.completions.stream({ model: "primary", messages: [{ role: "user", content: "fine" }] }).finalChatCompletion();
    expect(completion.choices[0]?.message.content).toBe("fine");
    expect((await lastRecord(setup))?.provider).toBe("up-b");
  });

  test("a failure after the first byte is not retried: the client gets an error event, the output so far is billed", async () => {
    setup = await startRouting();
    const text = sseText([chunk({ role: "assistant", content: "" }), chunk({ content: "half an " }), chunk({ content: "answer" })]);
    setup.a.script({ kind: "sse", text, chunkSize: 30, chunkDelayMs: 5, cutAfterBytes: text.length - 5 });
    const stream = await openaiClient(setup.gateway).chat.completions.create({ model: "primary", stream: true, messages: [{ role: "user", content: "x" }] });
    let received = "";
    const error = await (async () => {
      for await (const part of stream) received += part.choices[0]?.delta.content ?? "";
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(received).toContain("half an");
    expect(setup.b.received).toHaveLength(0);
    const record = await lastRecord(setup);
    expect(record?.status).toBe("error");
    expect(record?.cost_microcents).toBeGreaterThan(0);
  });
});
