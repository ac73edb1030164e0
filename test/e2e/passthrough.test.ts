/**
 * Same-dialect passthrough and cross-dialect drops: unknown fields forwarded, only the model id changed,
 * anthropic-version/-beta forwarded, usage always asked for and not leaked, max_tokens rules (SPEC §2),
 * untranslatable fields named in x-tollgate-dropped-fields.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postJson } from "../harness/gateway.ts";
import { startMatrix, type MatrixSetup } from "../harness/matrix.ts";
import { sseText } from "../harness/upstream.ts";
import { anthropicClient, openaiClient } from "../harness/sdk.ts";

let setup: MatrixSetup;
beforeAll(async () => {
  setup = await startMatrix({ grantUsd: 100 });
});
afterAll(async () => {
  await setup.close();
});

const lastReceived = (upstream: { received: Array<{ body: Record<string, unknown>; headers: Headers }> }) => {
  const last = upstream.received.at(-1);
  if (!last) throw new Error("the upstream received nothing");
  return last;
};

describe("OpenAI client → OpenAI upstream (passthrough)", () => {
  test("unknown request fields are forwarded; only model and limits are rewritten", async () => {
    const response = await postJson(setup.gateway, "/v1/chat/completions", {
      model: "via-openai",
      messages: [{ role: "user", content: "hi" }],
      logit_bias: { "50256": -100 },
      some_future_field: { nested: [1, 2] },
      max_completion_tokens: 999_999,
    });
    expect(response.status).toBe(200);
    const sent = lastReceived(setup.openaiUpstream);
    expect(sent.body.model).toBe("gpt-upstream");
    expect(sent.body.logit_bias).toEqual({ "50256": -100 });
    expect(sent.body.some_future_field).toEqual({ nested: [1, 2] });
    expect(sent.body.max_completion_tokens).toBe(4096);
    expect(sent.body.max_tokens).toBeUndefined();
    expect(sent.headers.get("authorization")).toBe("Bearer sk-upstream-openai-secret");
    expect(response.headers.get("x-tollgate-dropped-fields")).toBeNull();
  });

  test("a request without max tokens gets the profile's limit in the provider's field", async () => {
    await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "hi" }] });
    expect(lastReceived(setup.openaiUpstream).body.max_tokens).toBe(4096);
  });

  test("response fields the gateway does not know come back unchanged, model replaced", async () => {
    setup.openaiUpstream.script({
      kind: "json",
      body: {
        id: "chatcmpl-up",
        object: "chat.completion",
        created: 1,
        model: "gpt-upstream",
        system_fingerprint: "fp_upstream",
        service_tier: "default",
        choices: [{ index: 0, message: { role: "assistant", content: "hello", annotations: [] }, logprobs: null, finish_reason: "stop" }],
        usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
      },
    });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "hi" }] });
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.model).toBe("via-openai");
    expect(body.system_fingerprint).toBe("fp_upstream");
    expect(body.service_tier).toBe("default");
    expect(body.id).toBe("chatcmpl-up");
  });

  test("streams always ask for usage, but the usage chunk reaches only clients that asked", async () => {
    const quiet = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", stream: true, messages: [{ role: "user", content: "a b" }] });
    const quietText = await quiet.text();
    expect(lastReceived(setup.openaiUpstream).body.stream_options).toEqual({ include_usage: true });
    expect(quietText).not.toContain('"usage"');
    expect(quietText).toContain('"model":"via-openai"');
    expect(quietText).not.toContain("gpt-upstream");
    expect(quietText.trimEnd().endsWith("data: [DONE]")).toBe(true);

    const asked = await postJson(setup.gateway, "/v1/chat/completions", {
      model: "via-openai",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "a b" }],
    });
    const askedText = await asked.text();
    expect(askedText).toContain('"usage"');
    expect(askedText).toContain('"tollgate":{"request_id"');
  });

  test("usage on the finish chunk (or on every chunk, as some compatible servers send it): only the last carries tollgate, and none reaches a client that did not ask", async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null, usage?: Record<string, number>) => ({
      data: { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-upstream", choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) },
    });
    const usage = (completion: number) => ({ prompt_tokens: 3, completion_tokens: completion, total_tokens: 3 + completion });
    const wires = {
      "usage on the finish chunk": sseText([chunk({ role: "assistant", content: "" }, null), chunk({ content: "Hi" }, null), chunk({ content: " there" }, null), chunk({}, "stop", usage(2)), { data: "[DONE]" }]),
      "usage on every chunk": sseText([chunk({ role: "assistant", content: "" }, null, usage(0)), chunk({ content: "Hi" }, null, usage(1)), chunk({ content: " there" }, null, usage(2)), chunk({}, "stop", usage(2)), { data: "[DONE]" }]),
      // A held chunk must not be overtaken by a later one without usage.
      "usage on some chunks": sseText([chunk({ role: "assistant", content: "" }, null), chunk({ content: "Hi" }, null, usage(1)), chunk({ content: " there" }, null), chunk({}, "stop", usage(2)), { data: "[DONE]" }]),
    };
    for (const [label, wire] of Object.entries(wires)) {
      for (const includeUsage of [false, true]) {
        setup.openaiUpstream.script({ kind: "sse", text: wire });
        const response = await postJson(setup.gateway, "/v1/chat/completions", {
          model: "via-openai",
          stream: true,
          ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
          messages: [{ role: "user", content: "x" }],
        });
        const events = (await response.text()).split("\n\n").filter((event) => event.startsWith("data: ")).map((event) => event.slice("data: ".length));
        expect(events.at(-1), label).toBe("[DONE]");
        const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { model: string; usage?: unknown; tollgate?: { request_id: string }; choices: Array<{ delta: { content?: string }; finish_reason: string | null }> });
        expect(chunks.map((item) => item.choices[0]?.delta.content ?? "").join(""), label).toBe("Hi there");
        expect(chunks.at(-1)?.choices[0]?.finish_reason, label).toBe("stop");
        expect(chunks.every((item) => item.model === "via-openai"), label).toBe(true);
        const requestId = response.headers.get("x-tollgate-request-id") ?? "";
        if (!includeUsage) {
          expect(chunks.filter((item) => item.usage !== undefined), label).toEqual([]);
          expect(chunks.filter((item) => item.tollgate !== undefined), label).toEqual([]);
        } else {
          expect(chunks.at(-1)?.usage, label).toEqual(usage(2));
          expect(chunks.filter((item) => item.tollgate !== undefined).map((item) => item.tollgate?.request_id), label).toEqual([requestId]);
          expect(chunks.at(-1)?.tollgate?.request_id, label).toBe(requestId);
        }
      }
    }
  });

  test("usage on every chunk, then a cut or an error event: every chunk read (the held one too) reaches the client before the error", async () => {
    const chunk = (delta: Record<string, unknown>, completion: number) => ({
      data: { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-upstream", choices: [{ index: 0, delta, finish_reason: null }], usage: { prompt_tokens: 3, completion_tokens: completion, total_tokens: 3 + completion } },
    });
    for (const ending of [[], [{ data: { error: { message: "overloaded", type: "server_error", code: null } } }]]) {
      setup.openaiUpstream.script({ kind: "sse", text: sseText([chunk({ role: "assistant", content: "" }, 0), chunk({ content: "Hi" }, 1), chunk({ content: " there" }, 2), ...ending]) });
      const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] });
      const datas = (await response.text())
        .split("\n\n")
        .filter((event) => event.startsWith("data: "))
        .map((event) => JSON.parse(event.slice(6)) as { error?: unknown; usage?: unknown; choices?: Array<{ delta: { content?: string } }> });
      expect(datas.map((data) => data.choices?.[0]?.delta.content ?? "").join("")).toBe("Hi there");
      expect(datas.at(-1)?.error).toBeDefined();
      // The client did not ask for usage: none of it reaches it, even on the way to the error.
      expect(datas.filter((data) => data.usage !== undefined)).toEqual([]);
    }
  });

  test("an upstream that finishes (finish reason, usage) but never sends [DONE]: the stream ends settled, as a translated one does", async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ data: { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-upstream", choices: [{ index: 0, delta, finish_reason: finish }] } });
    const usageChunk = { data: { id: "c", object: "chat.completion.chunk", created: 1, model: "gpt-upstream", choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } } };
    setup.openaiUpstream.script({ kind: "sse", text: sseText([chunk({ role: "assistant", content: "" }, null), chunk({ content: "Hi" }, null), chunk({}, "stop"), usageChunk]) });
    const response = await postJson(
      setup.gateway,
      "/v1/chat/completions",
      { model: "via-openai", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }] },
      { "x-tollgate-usage-event": "1" },
    );
    const text = await response.text();
    const requestId = response.headers.get("x-tollgate-request-id") ?? "";
    expect(text).not.toContain('"error"');
    expect(text).toContain('"finish_reason":"stop"');
    expect(text).toContain(`"tollgate":{"request_id":"${requestId}"`);
    expect(text.trimEnd()).toMatch(/event: tollgate\.usage\ndata: \{[^\n]*\}$/);
    const generation = await setup.gateway.fetch(`${setup.gateway.baseUrl}/v1/generations/${requestId}`, { headers: { authorization: `Bearer ${setup.gateway.mgmtKey}` } });
    expect(await generation.json()).toMatchObject({ status: "ok", http_status: 200, usage: { input_tokens: 7, output_tokens: 2 } });

    // Without a finish reason the same end is a cut stream: the dialect's error chunk.
    setup.openaiUpstream.script({ kind: "sse", text: sseText([chunk({ role: "assistant", content: "" }, null), chunk({ content: "Hi" }, null)]) });
    const cut = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] });
    expect((await cut.text()).trimEnd()).toMatch(/data: \{"error":\{[^\n]*"code":"upstream_error"/);
  });

  test("the trailing tollgate.usage event comes after [DONE] only when asked for", async () => {
    const response = await postJson(
      setup.gateway,
      "/v1/chat/completions",
      { model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] },
      { "x-tollgate-usage-event": "1" },
    );
    const text = await response.text();
    const done = text.indexOf("data: [DONE]");
    const usage = text.indexOf("event: tollgate.usage");
    expect(done).toBeGreaterThan(0);
    expect(usage).toBeGreaterThan(done);
  });
});

describe("Anthropic client → Anthropic upstream (passthrough)", () => {
  test("anthropic-version and anthropic-beta are forwarded; the client's key is not", async () => {
    const client = anthropicClient(setup.gateway);
    await client.messages.create(
      { model: "via-anthropic", max_tokens: 100, messages: [{ role: "user", content: "hi" }] },
      { headers: { "anthropic-beta": "context-management-2025-06-27", "anthropic-version": "2023-06-01", "x-tollgate-usage-event": "0" } },
    );
    const sent = lastReceived(setup.anthropicUpstream);
    expect(sent.headers.get("anthropic-beta")).toBe("context-management-2025-06-27");
    expect(sent.headers.get("anthropic-version")).toBe("2023-06-01");
    expect(sent.headers.get("x-api-key")).toBe("sk-ant-upstream-secret");
    expect(sent.headers.get("x-tollgate-usage-event")).toBeNull();
    expect(sent.body.model).toBe("claude-upstream");
  });

  test("unknown fields are forwarded; max_tokens and a thinking budget are lowered together", async () => {
    const response = await postJson(setup.gateway, "/v1/messages", {
      model: "via-anthropic",
      max_tokens: 50_000,
      thinking: { type: "enabled", budget_tokens: 10_000 },
      context_management: { edits: [] },
      messages: [{ role: "user", content: "hi" }],
    }, { "anthropic-version": "2023-06-01" });
    expect(response.status).toBe(200);
    const sent = lastReceived(setup.anthropicUpstream);
    expect(sent.body.max_tokens).toBe(4096);
    expect(sent.body.thinking).toEqual({ type: "enabled", budget_tokens: 4095 });
    expect(sent.body.context_management).toEqual({ edits: [] });
  });

  test("a budget that would fall below 1,024 drops thinking and names it", async () => {
    const response = await postJson(setup.gateway, "/v1/messages", {
      model: "via-anthropic",
      max_tokens: 1000,
      thinking: { type: "enabled", budget_tokens: 2000 },
      messages: [{ role: "user", content: "hi" }],
    }, { "anthropic-version": "2023-06-01" });
    expect(response.status).toBe(200);
    expect(lastReceived(setup.anthropicUpstream).body.thinking).toBeUndefined();
    expect(response.headers.get("x-tollgate-dropped-fields")).toBe("thinking");
  });

  test("the stream is the upstream's own, with the model replaced and tollgate on message_delta", async () => {
    const response = await postJson(setup.gateway, "/v1/messages", {
      model: "via-anthropic",
      max_tokens: 100,
      stream: true,
      messages: [{ role: "user", content: "hello there" }],
    }, { "anthropic-version": "2023-06-01" });
    const text = await response.text();
    const events = [...text.matchAll(/^event: (.+)$/gm)].map((match) => match[1]);
    expect(events).toEqual(["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(text).toContain('"model":"via-anthropic"');
    expect(text).not.toContain("claude-upstream");
    expect(text).toMatch(/"type":"message_delta".*"tollgate":\{"request_id":"req_/);
  });
});

/** A chat.completion as api.openai.com writes it (indented, a space after each colon), from the upstream model `gpt-upstream`. */
const indentedAnswer = (members: string[]) =>
  `{\n${['"id": "chatcmpl-raw"', '"object": "chat.completion"', '"created": 1', '"model": "gpt-upstream"', ...members].map((member) => `  ${member}`).join(",\n")}\n}`;

describe("passthrough bytes", () => {
  test("events reach the client as the upstream wrote them, only the model id changed", async () => {
    const events = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-upstream","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}, "x_future": 1}\n\n',
      'event: content_block_delta\ndata: {"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"say \\"model\\":\\"claude-upstream\\" verbatim"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ];
    setup.anthropicUpstream.script({ kind: "sse", text: events.join(""), chunkSize: 13 });
    const response = await postJson(setup.gateway, "/v1/messages", { model: "via-anthropic", max_tokens: 100, stream: true, messages: [{ role: "user", content: "x" }] }, {
      "anthropic-version": "2023-06-01",
    });
    const body = await response.text();
    const [start = "", blockStart = "", delta = "", blockStop = "", , stop = ""] = events;
    expect(body).toContain(start.replace('"model":"claude-upstream"', '"model":"via-anthropic"'));
    for (const verbatim of [blockStart, delta, blockStop, stop]) expect(body).toContain(verbatim);
  });

  test("a non-stream answer reaches the client as the upstream wrote it, only the model id changed", async () => {
    // OpenAI's indentation, a float written 1.0, an escape and the model id quoted in the text: what
    // re-serialising would have changed, or a careless rewrite replaced.
    const raw = indentedAnswer([
      '"choices": [{"index": 0, "message": {"role": "assistant", "content": "caf\\u00e9 says \\"model\\": \\"gpt-upstream\\""}, "logprobs": null, "finish_reason": "stop"}]',
      '"usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9, "x_score": 1.0}',
    ]);
    const compact = '{"id":"msg_raw","type":"message","role":"assistant","model":"claude-upstream","content":[{"type":"text","text":"\\u2713"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":3}}';
    setup.openaiUpstream.script({ kind: "json", body: null, raw });
    setup.anthropicUpstream.script({ kind: "json", body: null, raw: compact });
    const openai = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "x" }] });
    expect(openai.status).toBe(200);
    expect(await openai.text()).toBe(raw.replace('"model": "gpt-upstream"', '"model": "via-openai"'));
    expect(openai.headers.get("x-tollgate-tokens-output")).toBe("4");
    const anthropic = await postJson(setup.gateway, "/v1/messages", { model: "via-anthropic", max_tokens: 100, messages: [{ role: "user", content: "x" }] }, { "anthropic-version": "2023-06-01" });
    expect(await anthropic.text()).toBe(compact.replace('"model":"claude-upstream"', '"model":"via-anthropic"'));
  });

  test("a non-stream answer with the upstream's id in a nested member too: the top-level model is the client's, the nested one stays", async () => {
    const raw = indentedAnswer([
      '"provider_metadata": {"route":{"model":"gpt-upstream"}}',
      '"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]',
      '"usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}',
    ]);
    setup.openaiUpstream.script({ kind: "json", body: null, raw });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", messages: [{ role: "user", content: "x" }] });
    const body = (await response.json()) as { model: string; provider_metadata: unknown };
    expect(body.model).toBe("via-openai");
    expect(body.provider_metadata).toEqual({ route: { model: "gpt-upstream" } });
  });

  test("an event whose data the upstream split over several lines goes out over as many lines", async () => {
    const events = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-upstream","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,\ndata: "content_block":{"type":"text","text":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\ndata: "delta":{"type":"text_delta","text":"two lines"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ];
    setup.anthropicUpstream.script({ kind: "sse", text: events.join(""), chunkSize: 11 });
    const stream = anthropicClient(setup.gateway).messages.stream({ model: "via-anthropic", max_tokens: 100, messages: [{ role: "user", content: "x" }] });
    const message = await stream.finalMessage();
    expect(message.content).toEqual([expect.objectContaining({ type: "text", text: "two lines" })]);
    expect(message.model).toBe("via-anthropic");
  });

  test("OpenAI's obfuscation padding reaches the client as the upstream wrote it, chunk by chunk", async () => {
    const chunk = (delta: string, padding: string, finish: string | null = null) =>
      `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-upstream","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? "null" : `"${finish}"`}}],"obfuscation":"${padding}"}\n\n`;
    const contents = ["Hel", "lo", " the", "re", " ✓", "!"];
    const paddings = ["a", "Zq81LmN0", "", "x9", "pQ", "k"];
    const chunks = [chunk('{"role":"assistant","content":""}', "r4N7"), ...contents.map((text, index) => chunk(JSON.stringify({ content: text }), paddings[index] ?? "")), chunk("{}", "9J", "stop")];
    const usageChunk = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-upstream","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9},"obfuscation":"u1"}\n\n';
    setup.openaiUpstream.script({ kind: "sse", text: `${chunks.join("")}${usageChunk}data: [DONE]\n\n`, chunkSize: 97 });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }] });
    const body = await response.text();
    expect(body).not.toContain("gpt-upstream");
    // Every chunk byte for byte, the model id aside: text, padding and all.
    for (const sent of chunks) expect(body).toContain(sent.replace('"model":"gpt-upstream"', '"model":"via-openai"'));
    expect(body).toContain('"obfuscation":"u1"');
  });

  test("an OpenAI chunk written with spaces gets the client's model id in the same spacing", async () => {
    const chunk = (delta: string, finish: string | null) => `data: {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-upstream", "choices": [{"index": 0, "delta": ${delta}, "finish_reason": ${finish === null ? "null" : `"${finish}"`}}]}\n\n`;
    setup.openaiUpstream.script({ kind: "sse", text: `${chunk('{"content": "hi"}', null)}${chunk("{}", "stop")}data: [DONE]\n\n` });
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: "via-openai", stream: true, messages: [{ role: "user", content: "x" }] });
    const body = await response.text();
    expect(body).not.toContain("gpt-upstream");
    expect(body).toContain(chunk('{"content": "hi"}', null).replace('"model": "gpt-upstream"', '"model": "via-openai"'));
    expect(body).toContain(chunk("{}", "stop").replace('"model": "gpt-upstream"', '"model": "via-openai"'));
  });
});

describe("across dialects", () => {
  test("Anthropic-only fields sent to an OpenAI upstream are dropped and named", async () => {
    const response = await postJson(setup.gateway, "/v1/messages", {
      model: "via-openai",
      max_tokens: 100,
      top_k: 5,
      service_tier: "auto",
      messages: [{ role: "user", content: "hi" }],
    }, { "anthropic-version": "2023-06-01" });
    expect(response.status).toBe(200);
    const dropped = (response.headers.get("x-tollgate-dropped-fields") ?? "").split(",");
    expect(dropped).toContain("top_k");
    expect(dropped).toContain("service_tier");
    const sent = lastReceived(setup.openaiUpstream).body;
    expect(sent.top_k).toBeUndefined();
    expect(sent.service_tier).toBeUndefined();
  });

  test("cache_control reaches Anthropic upstreams and is dropped, unlisted, for others", async () => {
    const body = {
      max_tokens: 100,
      system: [{ type: "text", text: "long system prompt", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "hi" }],
    };
    await postJson(setup.gateway, "/v1/messages", { ...body, model: "via-anthropic" }, { "anthropic-version": "2023-06-01" });
    expect(JSON.stringify(lastReceived(setup.anthropicUpstream).body.system)).toContain("cache_control");
    const openai = await postJson(setup.gateway, "/v1/messages", { ...body, model: "via-openai" }, { "anthropic-version": "2023-06-01" });
    expect(JSON.stringify(lastReceived(setup.openaiUpstream).body)).not.toContain("cache_control");
    expect(openai.headers.get("x-tollgate-dropped-fields") ?? "").not.toContain("cache_control");
  });

  test("OpenAI client → Anthropic upstream: cache_control on parts, messages and tools reaches the upstream; nested fields without a counterpart are named", async () => {
    const ephemeral = { type: "ephemeral" };
    const response = await postJson(setup.gateway, "/v1/chat/completions", {
      model: "via-anthropic",
      messages: [
        { role: "system", content: "a long reusable system prompt", cache_control: ephemeral },
        { role: "user", content: [{ type: "text", text: "a long reusable document", cache_control: ephemeral }, { type: "text", text: "the question" }] },
        { role: "assistant", content: "an earlier answer", audio: { id: "audio_abc" } },
        { role: "user", content: [{ type: "text", text: "again", some_part_field: 1 }] },
      ],
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } }, cache_control: ephemeral }],
    });
    expect(response.status).toBe(200);
    const sent = lastReceived(setup.anthropicUpstream).body as {
      system: Array<Record<string, unknown>>;
      messages: Array<{ content: Array<Record<string, unknown>> }>;
      tools: Array<Record<string, unknown>>;
    };
    expect(sent.system).toEqual([{ type: "text", text: "a long reusable system prompt", cache_control: ephemeral }]);
    expect(sent.messages[0]?.content).toEqual([{ type: "text", text: "a long reusable document", cache_control: ephemeral }, { type: "text", text: "the question" }]);
    expect(sent.tools[0]?.cache_control).toEqual(ephemeral);
    expect(JSON.stringify(sent)).not.toContain("audio_abc");
    expect((response.headers.get("x-tollgate-dropped-fields") ?? "").split(",").sort()).toEqual(["messages[].audio", "messages[].content[].some_part_field"]);
  });

  test("dropped names a client chose (line breaks, commas, non-ASCII) reach the header percent-encoded, stream or not, and the call is served", async () => {
    for (const stream of [false, true]) {
      const response = await postJson(setup.gateway, "/v1/chat/completions", {
        model: "via-anthropic",
        stream,
        messages: [{ role: "user", content: [{ type: "text", text: "x", "bad\r\nname": 1, "a,b": 2, "café%": 3 }] }],
      });
      expect(response.status).toBe(200);
      await response.text();
      expect((response.headers.get("x-tollgate-dropped-fields") ?? "").split(",").sort()).toEqual([
        "messages[].content[].a%2Cb",
        "messages[].content[].bad%0D%0Aname",
        "messages[].content[].caf%C3%A9%25",
      ]);
    }
  });

  test("a body nested hundreds of thousands of levels deep is a 400 in the client's dialect, whatever the route, never a 500", async () => {
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const routes = [
      ["/v1/chat/completions", "via-openai", {}],
      ["/v1/messages", "via-anthropic", { "anthropic-version": "2023-06-01" }],
    ] as const;
    for (const [path, model, headers] of routes) {
      const body = `{"model":"${model}","max_tokens":5,"messages":[{"role":"user","content":"x"}],"extra":${deep}}`;
      const response = await setup.gateway.fetch(`${setup.gateway.baseUrl}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${setup.gateway.liveKey}`, "content-type": "application/json", ...headers },
        body,
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("nested too deeply");
    }
  });

  test("a model id longer than 256 characters is refused with 400 (it could pin memory in the resolution cache)", async () => {
    const response = await postJson(setup.gateway, "/v1/chat/completions", { model: `x${"y".repeat(256)}`, messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "invalid_request", message: expect.stringContaining("model") });
  });

  test("OpenAI client → Anthropic upstream: reasoning_effort becomes a thinking budget under max_tokens", async () => {
    const client = openaiClient(setup.gateway);
    await client.chat.completions.create({ model: "via-anthropic", max_tokens: 3000, reasoning_effort: "high", messages: [{ role: "user", content: "think" }] });
    const sent = lastReceived(setup.anthropicUpstream).body;
    const thinking = sent.thinking as { type: string; budget_tokens: number };
    expect(thinking.type).toBe("enabled");
    expect(thinking.budget_tokens).toBeLessThan(sent.max_tokens as number);
    expect(thinking.budget_tokens).toBeGreaterThanOrEqual(1024);
  });

  test("OpenAI upstream reasoning_content streams as Anthropic thinking", async () => {
    const chunk = (delta: unknown, finish: string | null = null) => ({ data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] } });
    setup.openaiUpstream.script({
      kind: "sse",
      text: sseText([
        chunk({ role: "assistant", content: "" }),
        chunk({ reasoning_content: "Let me " }),
        chunk({ reasoning_content: "think." }),
        chunk({ content: "Answer." }),
        chunk({}, "stop"),
        { data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16, completion_tokens_details: { reasoning_tokens: 4 } } } },
        { data: "[DONE]" },
      ]),
      chunkSize: 17,
    });
    const message = await anthropicClient(setup.gateway).messages.stream({ model: "via-openai", max_tokens: 2000, messages: [{ role: "user", content: "q" }] }).finalMessage();
    expect(message.content.map((block) => block.type)).toEqual(["thinking", "text"]);
    expect(message.content[0]?.type === "thinking" ? message.content[0].thinking : "").toBe("Let me think.");
    expect(message.content[1]?.type === "text" ? message.content[1].text : "").toBe("Answer.");
    expect(message.usage.output_tokens).toBe(7);
  });
});
