/** GET /v1/models (both shapes), count_tokens (forwarded or counted), embeddings — via the official SDKs. */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rows } from "../harness/gateway.ts";
import { startMatrix, type MatrixSetup } from "../harness/matrix.ts";
import { anthropicClient, openaiClient } from "../harness/sdk.ts";

let setup: MatrixSetup;
beforeAll(async () => {
  setup = await startMatrix({ grantUsd: 10 });
});
afterAll(async () => {
  await setup.close();
});

describe("models", () => {
  test("the OpenAI SDK lists every model in OpenAI's shape, with Tollgate's figures", async () => {
    const page = await openaiClient(setup.gateway).models.list();
    const ids = page.data.map((model) => model.id);
    expect(ids).toEqual(["via-openai", "via-anthropic", "via-mock"]);
    const first = page.data[0] as unknown as Record<string, unknown>;
    expect(first).toMatchObject({ object: "model", owned_by: "tollgate", context_window: 200000, max_output_tokens: 4096 });
    expect(first.pricing).toEqual({ input_usd_per_mtok: 3, output_usd_per_mtok: 15, cache_read_usd_per_mtok: 0.3, cache_write_usd_per_mtok: 3.75 });
    expect(first.tokens_per_second).toBeNull();
    expect(first.channels).toEqual([{ provider: "fake-openai", model: "gpt-upstream", pool: null, tokens_per_second: null, ttft_ms: null }]);
  });

  test("the Anthropic SDK lists models in Anthropic's shape and pages them", async () => {
    const client = anthropicClient(setup.gateway);
    const all: string[] = [];
    for await (const model of client.models.list({ limit: 2 })) all.push(model.id);
    expect(all).toEqual(["via-openai", "via-anthropic", "via-mock"]);
    const page = await client.models.list({ limit: 2 });
    expect(page.data.map((model) => model.type)).toEqual(["model", "model"]);
    expect(page.has_more).toBe(true);
    const model = await client.models.retrieve("via-mock");
    expect(model.display_name).toBe("via-mock");
    expect(Number.isNaN(Date.parse(model.created_at))).toBe(false);
  });

  test("a management key may list models; an unknown id is 404 in the caller's dialect", async () => {
    const page = await openaiClient(setup.gateway, setup.gateway.mgmtKey).models.list();
    expect(page.data.length).toBe(3);
    const missing = await setup.gateway.handle(
      new Request(`${setup.gateway.baseUrl}/v1/models/nope`, { headers: { "x-api-key": setup.gateway.liveKey, "anthropic-version": "2023-06-01" } }),
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
  });
});

describe("count_tokens", () => {
  test("forwarded to an Anthropic upstream (with the client's beta header), free of charge", async () => {
    const before = (await rows(setup.gateway, "SELECT * FROM requests")).length;
    const result = await anthropicClient(setup.gateway).messages.countTokens(
      { model: "via-anthropic", messages: [{ role: "user", content: "count me" }] },
      { headers: { "anthropic-beta": "token-counting-2024-11-01" } },
    );
    expect(result.input_tokens).toBe(4242);
    const sent = setup.anthropicUpstream.received.at(-1);
    expect(sent?.path).toBe("/v1/messages/count_tokens");
    expect(sent?.headers.get("anthropic-beta")).toBe("token-counting-2024-11-01");
    expect(sent?.body.model).toBe("claude-upstream");
    expect((await rows(setup.gateway, "SELECT * FROM requests")).length).toBe(before);
  });

  test("counted with the tokenizer over every block type when no Anthropic channel serves the model", async () => {
    const client = anthropicClient(setup.gateway, setup.gateway.mgmtKey);
    const text = await client.messages.countTokens({ model: "via-openai", messages: [{ role: "user", content: "hello world" }] });
    const withTools = await client.messages.countTokens({
      model: "via-openai",
      system: "You are terse.",
      tools: [{ name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      messages: [
        { role: "user", content: "hello world" },
        { role: "assistant", content: [{ type: "thinking", thinking: "pondering the weather", signature: "sig" }, { type: "tool_use", id: "t1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "sunny and warm" }] },
      ],
    });
    const withImage = await client.messages.countTokens({
      model: "via-openai",
      messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://example.invalid/cat.png" } }, { type: "text", text: "hello world" }] }],
    });
    expect(text.input_tokens).toBeGreaterThan(2);
    expect(text.input_tokens).toBeLessThan(20);
    // Each block type adds its share: system, tools, thinking, tool use, tool result, images.
    expect(withTools.input_tokens).toBeGreaterThan(text.input_tokens + 30);
    expect(withImage.input_tokens).toBeGreaterThanOrEqual(text.input_tokens + 1000);
  });

  test("text that looks like a tokenizer's special token is counted as the text it is", async () => {
    const client = anthropicClient(setup.gateway, setup.gateway.mgmtKey);
    const plain = await client.messages.countTokens({ model: "via-openai", messages: [{ role: "user", content: "end of text" }] });
    const special = await client.messages.countTokens({ model: "via-openai", messages: [{ role: "user", content: "end of text <|endoftext|>" }] });
    // "<|endoftext|>" as text is several ordinary tokens, not one special token and not an error.
    expect(special.input_tokens).toBeGreaterThan(plain.input_tokens + 3);
  });
});

describe("embeddings", () => {
  test("through an OpenAI upstream: forwarded, billed on input tokens, model id echoed", async () => {
    const { data, response } = await openaiClient(setup.gateway).embeddings.create({ model: "via-openai", input: ["a", "b"] }).withResponse();
    expect(data.data).toHaveLength(2);
    expect(data.model).toBe("via-openai");
    expect(setup.openaiUpstream.received.at(-1)?.body.model).toBe("gpt-upstream");
    // 7 prompt tokens at $3/Mtok = 2,100 µ¢.
    expect(response.headers.get("x-tollgate-cost-microcents")).toBe("2100");
    expect(response.headers.get("x-tollgate-tokens-input")).toBe("7");
  });

  test("through the mock: deterministic vectors of the asked dimension", async () => {
    const client = openaiClient(setup.gateway);
    const first = await client.embeddings.create({ model: "via-mock", input: "same text", dimensions: 16, encoding_format: "float" });
    const second = await client.embeddings.create({ model: "via-mock", input: "same text", dimensions: 16, encoding_format: "float" });
    expect(first.data[0]?.embedding).toHaveLength(16);
    expect(first.data[0]?.embedding).toEqual(second.data[0]?.embedding ?? []);
    // Without encoding_format the SDK asks for base64 and decodes it: the same vector, as float32.
    const decoded = await client.embeddings.create({ model: "via-mock", input: "same text", dimensions: 16 });
    const expected = (first.data[0]?.embedding ?? []).map((value) => Math.fround(value));
    expect(decoded.data[0]?.embedding).toEqual(expected);
  });
});
