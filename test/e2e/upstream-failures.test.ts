/**
 * Upstream failures as clients see them: upstream 4xx kept (verbatim to a same-dialect client), 429 and
 * 5xx after the channels are tried, a cut stream ends with the dialect's error event (never a silent
 * 200), a disconnecting client aborts the upstream, keepalives flow while the upstream is silent.
 */

import { afterEach, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { postJson, rows, type RequestRecordRow } from "../harness/gateway.ts";
import { startMatrix, type MatrixSetup } from "../harness/matrix.ts";
import { anthropicClient, openaiClient } from "../harness/sdk.ts";
import { sseText } from "../harness/upstream.ts";
import { MAX_SSE_EVENT_CHARS } from "../../src/sse/decode.ts";

let setup: MatrixSetup | null = null;
afterEach(async () => {
  await setup?.close();
  setup = null;
});


const ANTHROPIC = { "anthropic-version": "2023-06-01" };
const openaiTextChunks = (words: string[]) => [
  { data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] } },
  ...words.map((word) => ({ data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: word }, finish_reason: null }] } })),
];

describe("upstream errors", () => {
  test("an upstream 400 reaches a same-dialect client byte for byte, with its status", async () => {
    setup = await startMatrix();
    const upstreamBody = { error: { message: "messages: too many images", type: "invalid_request_error", param: "messages", code: "too_many_images" } };
    setup.openaiUpstream.script({ kind: "json", status: 400, body: upstreamBody });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe(JSON.stringify(upstreamBody));
    expect(response.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
    const [record] = (await rows<RequestRecordRow>(setup.gateway, "SELECT * FROM requests"));
    expect(record).toMatchObject({ status: "error", http_status: 400, error_code: "too_many_images", cost_microcents: 0 });
  });

  test("across dialects an upstream 400 keeps its status and message, in the client's dialect", async () => {
    setup = await startMatrix();
    setup.openaiUpstream.script({ kind: "json", status: 400, body: { error: { message: "bad tool schema", type: "invalid_request_error", code: null } } });
    const error = await anthropicClient(setup.gateway)
      .messages.create({ model: "via-openai", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const apiError = error as InstanceType<typeof Anthropic.BadRequestError>;
    expect(apiError.message).toContain("bad tool schema");
    expect((apiError.error as { error: { details: { error_code: string } } }).error.details.error_code).toBe("upstream_error");
  });

  test("an upstream 429 → 429 upstream_rate_limited with Retry-After and retry-after-ms", async () => {
    setup = await startMatrix();
    setup.anthropicUpstream.script({ kind: "json", status: 429, headers: { "retry-after": "7" }, body: { type: "error", error: { type: "rate_limit_error", message: "slow down" } } });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-anthropic", messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
    expect(response.headers.get("retry-after-ms")).toBe("7000");
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("upstream_rate_limited");
  });

  test("an upstream 500 → 502 upstream_error; an upstream 401 → 502 upstream_auth_failed that the SDK won't retry", async () => {
    setup = await startMatrix();
    setup.openaiUpstream.script({ kind: "json", status: 500, body: { error: { message: "boom" } } });
    const failed = await postJson(setup.gateway, "/v1/messages", { model: "via-openai", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, ANTHROPIC);
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as { error: { type: string } }).error.type).toBe("api_error");

    setup.openaiUpstream.script({ kind: "json", status: 401, body: { error: { message: "Incorrect API key provided: sk-upstream-openai-secret" } } });
    const auth = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "x" }] });
    expect(auth.status).toBe(502);
    expect(auth.headers.get("x-should-retry")).toBe("false");
    const text = await auth.text();
    expect(JSON.parse(text).error.code).toBe("upstream_auth_failed");
    expect(text).not.toContain("sk-upstream-openai-secret");
  });

  test("an unreachable upstream → 502, nothing billed", async () => {
    setup = await startMatrix({ extraToml: "" });
    await setup.openaiUpstream.close();
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(502);
    expect((await rows(setup.gateway, "SELECT * FROM ledger_entries WHERE kind = 'charge'"))).toHaveLength(0);
  });
});

describe("cut streams", () => {
  test("OpenAI client: an upstream cut mid-stream ends with an error chunk, the SDK throws, the output so far is billed", async () => {
    setup = await startMatrix();
    const text = sseText(openaiTextChunks(["one ", "two ", "three "]));
    setup.openaiUpstream.script({ kind: "sse", text, cutAfterBytes: text.length - 10, chunkSize: 40, chunkDelayMs: 5 });
    const stream = await openaiClient(setup.gateway).chat.completions.create({ model: "via-openai", stream: true, messages: [{ role: "user", content: "count" }] });
    let received = "";
    const error = await (async () => {
      for await (const chunk of stream) received += chunk.choices[0]?.delta.content ?? "";
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(received.startsWith("one two")).toBe(true);
    const [record] = (await rows<RequestRecordRow>(setup.gateway, "SELECT * FROM requests"));
    expect(record?.status).toBe("error");
    expect(record?.error_code).toBe("upstream_error");
    expect(record?.input_tokens).toBeGreaterThan(0);
    expect(record?.output_tokens).toBeGreaterThan(0);
    expect(record?.cost_microcents).toBeGreaterThan(0);
  });

  test("Anthropic client: a stream that ends without message_stop gets `event: error`, never a silent end", async () => {
    setup = await startMatrix();
    setup.anthropicUpstream.script({
      kind: "sse",
      text: sseText([
        { event: "message_start", data: { type: "message_start", message: { id: "msg_x", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } } } },
        { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
        { event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "partial answer" } } },
      ]),
    });
    const response = await postJson(setup.gateway, "/v1/messages", { model: "via-anthropic", max_tokens: 100, stream: true, messages: [{ role: "user", content: "x" }] }, ANTHROPIC);
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(body).toContain("partial answer");
    expect(body.trimEnd()).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
    const [record] = (await rows<RequestRecordRow>(setup.gateway, "SELECT * FROM requests"));
    expect(record).toMatchObject({ status: "error", input_tokens: 20 });
    expect(record?.output_tokens).toBeGreaterThan(0);
  });

  test("a chunk whose JSON was split over data: lines teaches no byte lane: a later chunk missing its data: field is malformed, not text", async () => {
    const chunk = (content: string) => JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", system_fingerprint: "fp", choices: [{ index: 0, delta: { content }, finish_reason: null }] });
    const wire =
      `data: ${chunk("").replace('"choices":', '\ndata: "choices":')}\n\n` +
      `data: ${chunk("Hi").replace('"choices":', '\ndata: "choices":')}\n\n` +
      // No field name on the second line: an SSE parser reads only `{…"fp",` as this event's data.
      `data: ${chunk("SMUGGLED").replace('"choices":', '\n"choices":')}\n\n` +
      "data: [DONE]\n\n";
    setup = await startMatrix();
    setup.openaiUpstream.script({ kind: "sse", text: wire });
    const translated = await postJson(setup.gateway, "/v1/messages", { model: "via-openai", max_tokens: 100, stream: true, messages: [{ role: "user", content: "x" }] }, ANTHROPIC);
    const translatedBody = await translated.text();
    expect(translatedBody).toContain('"text":"Hi"');
    expect(translatedBody).not.toContain("SMUGGLED");
    expect(translatedBody.trimEnd()).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);

    setup.openaiUpstream.script({ kind: "sse", text: wire });
    const stream = await openaiClient(setup.gateway).chat.completions.create({ model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] });
    let received = "";
    const error = await (async () => {
      for await (const part of stream) received += part.choices[0]?.delta.content ?? "";
    })().catch((caught: unknown) => caught);
    expect(received).toBe("Hi");
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const records = await rows<RequestRecordRow>(setup.gateway, "SELECT * FROM requests ORDER BY created_at");
    expect(records.map((record) => [record.status, record.error_code])).toEqual([
      ["error", "upstream_error"],
      ["error", "upstream_error"],
    ]);
  });

  test("an upstream error event mid-stream is forwarded to a same-dialect client", async () => {
    setup = await startMatrix();
    setup.anthropicUpstream.script({
      kind: "sse",
      text: sseText([
        { event: "message_start", data: { type: "message_start", message: { id: "msg_x", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } } } },
        { event: "error", data: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } },
      ]),
    });
    const stream = anthropicClient(setup.gateway).messages.stream({ model: "via-anthropic", max_tokens: 100, messages: [{ role: "user", content: "x" }] });
    const error = await stream.finalMessage().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(String((error as Error).message)).toContain("Overloaded");
  });
});

describe("an upstream whose stream never ends a line", () => {
  test("past the decoder's limit (32 MiB) the call fails with 502 upstream_error, passthrough and translated, and the gateway serves on", async () => {
    setup = await startMatrix();
    const endless = `data: {"choices":[{"delta":{"content":"${"x".repeat(MAX_SSE_EVENT_CHARS + 1024)}`;
    const script = { kind: "sse", text: endless, chunkSize: 1 << 20, holdOpen: true } as const;
    setup.openaiUpstream.script(script, script);
    const passthrough = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] });
    expect(passthrough.status).toBe(502);
    expect(((await passthrough.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "upstream_error", message: expect.stringContaining("server-sent event longer than") });
    const translated = await postJson(setup.gateway, "/v1/messages", { model: "via-openai", max_tokens: 100, stream: true, messages: [{ role: "user", content: "x" }] }, ANTHROPIC);
    expect(translated.status).toBe(502);
    expect(((await translated.json()) as { error: { type: string } }).error.type).toBe("api_error");
    // The process lives on and the next call is served.
    const next = await openaiClient(setup.gateway).chat.completions.create({ model: "via-openai", messages: [{ role: "user", content: "still here" }] });
    expect(next.choices[0]?.message.content).toBe("still here");
  });
});

describe("client disconnects and silence", () => {
  test("a client that goes away mid-stream aborts the upstream and is recorded as 499, output so far billed", async () => {
    setup = await startMatrix({ listen: true });
    const words = Array.from({ length: 40 }, (_, index) => `w${index} `);
    setup.openaiUpstream.script({ kind: "sse", text: sseText([...openaiTextChunks(words), { data: "[DONE]" }]), chunkSize: 120, chunkDelayMs: 30 });
    const controller = new AbortController();
    const response = await fetch(`${setup.gateway.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${setup.gateway.liveKey}` },
      body: JSON.stringify({ model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] }),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    let record: RequestRecordRow | undefined;
    for (let attempt = 0; attempt < 50 && !record; attempt++) {
      await Bun.sleep(20);
      record = (await rows<RequestRecordRow>(setup.gateway, "SELECT * FROM requests"))[0];
    }
    expect(record).toMatchObject({ status: "error", http_status: 499, error_code: "client_disconnected" });
    expect(record?.output_tokens).toBeGreaterThan(0);
    expect(record?.output_tokens).toBeLessThan(40);
  });

  test("a client that goes away while a non-stream call waits for the upstream's headers aborts the upstream and is recorded as 499", async () => {
    setup = await startMatrix({ listen: true });
    setup.openaiUpstream.script({ kind: "hang" });
    const controller = new AbortController();
    const answered = fetch(`${setup.gateway.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${setup.gateway.liveKey}` },
      body: JSON.stringify({ model: "via-openai", messages: [{ role: "user", content: "x" }] }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    for (let attempt = 0; attempt < 100 && setup.openaiUpstream.received.length === 0; attempt++) await Bun.sleep(10);
    expect(setup.openaiUpstream.received).toHaveLength(1);
    controller.abort();
    expect(await answered).toBeInstanceOf(Error);
    let record: RequestRecordRow | undefined;
    for (let attempt = 0; attempt < 100 && (!record || setup.openaiUpstream.hangsAborted === 0); attempt++) {
      await Bun.sleep(20);
      record = (await rows<RequestRecordRow>(setup.gateway, "SELECT * FROM requests"))[0];
    }
    // The gateway's own request timeout (600 s here) is far off: only the client's leaving ended the wait.
    expect(setup.openaiUpstream.hangsAborted).toBe(1);
    expect(record).toMatchObject({ status: "error", http_status: 499, error_code: "client_disconnected", cost_microcents: 0 });
  });

  test("keepalive comments flow while the upstream is silent", async () => {
    setup = await startMatrix();
    setup.gateway.deps.keepaliveMs = 40;
    const text = sseText([...openaiTextChunks(["late "]), { data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] } }, { data: "[DONE]" }]);
    setup.openaiUpstream.script({ kind: "sse", text, chunkSize: 200, chunkDelayMs: 250 });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] });
    const body = await response.text();
    expect(body).toContain(": keepalive");
    expect(body).toContain('"content":"late "');
  });
});
