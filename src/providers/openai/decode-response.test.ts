import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../errors.ts";
import { decodeOpenAIUpstreamResponse, decodeOpenAIUpstreamUsage, mapOpenAIFinishReason } from "./decode-response.ts";

function completion(message: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "chatcmpl-abc",
    object: "chat.completion",
    created: 1747313001,
    model: "gpt-4.1-2025-04-14",
    choices: [{ index: 0, message: { role: "assistant", ...message }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 },
    ...extra,
  };
}

describe("decodeOpenAIUpstreamResponse", () => {
  test("OpenAI text answer with cached prompt tokens", () => {
    const body = completion(
      { content: "Paris.", refusal: null, annotations: [] },
      {
        usage: {
          prompt_tokens: 2006,
          completion_tokens: 300,
          total_tokens: 2306,
          prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0 },
        },
      },
    );
    expect(decodeOpenAIUpstreamResponse(body)).toEqual({
      id: "chatcmpl-abc",
      blocks: [{ type: "text", text: "Paris." }],
      stopReason: "end_turn",
      stopSequence: null,
      usage: { input: 86, output: 300, cacheRead: 1920, cacheWrite: 0, reasoning: 256 },
    });
  });

  test("DeepSeek reasoning_content comes first; its cache-hit field counts as a cache read", () => {
    const body = completion(
      { content: "9.8 is greater.", reasoning_content: "Compare tenths: 8 > 1." },
      {
        id: "0b7c1e52-3f9a-4d8e-9c61-5a2f4e7d8b90",
        usage: {
          prompt_tokens: 1042,
          completion_tokens: 236,
          total_tokens: 1278,
          completion_tokens_details: { reasoning_tokens: 214 },
          prompt_cache_hit_tokens: 1024,
          prompt_cache_miss_tokens: 18,
        },
      },
    );
    const result = decodeOpenAIUpstreamResponse(body);
    expect(result.id).toBe("0b7c1e52-3f9a-4d8e-9c61-5a2f4e7d8b90");
    expect(result.blocks).toEqual([
      { type: "thinking", text: "Compare tenths: 8 > 1." },
      { type: "text", text: "9.8 is greater." },
    ]);
    expect(result.usage).toEqual({ input: 18, output: 236, cacheRead: 1024, cacheWrite: 0, reasoning: 214 });
  });

  test("vLLM/OpenRouter-style `reasoning` is thinking too", () => {
    const result = decodeOpenAIUpstreamResponse(completion({ content: "Hi", reasoning: "greet back" }));
    expect(result.blocks).toEqual([{ type: "thinking", text: "greet back" }, { type: "text", text: "Hi" }]);
  });

  test("a refusal is a text block and stops with refusal", () => {
    const result = decodeOpenAIUpstreamResponse(completion({ content: null, refusal: "I can't help with that." }));
    expect(result.blocks).toEqual([{ type: "text", text: "I can't help with that." }]);
    expect(result.stopReason).toBe("refusal");
  });

  test("tool calls: parsed arguments, raw text when unparseable, {} when empty", () => {
    const body = completion({
      content: null,
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Zürich","unit":"celsius"}' } },
        { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city": "Par' } },
        { id: "call_3", type: "function", function: { name: "ping", arguments: "" } },
      ],
    });
    (body.choices as Array<Record<string, unknown>>)[0]!.finish_reason = "tool_calls";
    const result = decodeOpenAIUpstreamResponse(body);
    expect(result.blocks).toEqual([
      { type: "tool-use", id: "call_1", name: "get_weather", input: { city: "Zürich", unit: "celsius" } },
      { type: "tool-use", id: "call_2", name: "get_weather", input: '{"city": "Par' },
      { type: "tool-use", id: "call_3", name: "ping", input: {} },
    ]);
    expect(result.stopReason).toBe("tool_use");
  });

  test("text parts in a content array are joined", () => {
    const result = decodeOpenAIUpstreamResponse(completion({ content: [{ type: "text", text: "a" }, { type: "image_url" }, { type: "text", text: "b" }] }));
    expect(result.blocks).toEqual([{ type: "text", text: "ab" }]);
  });

  test("missing usage and id read as zeros and an empty id", () => {
    const { id: _id, usage: _usage, ...body } = completion({ content: "x" });
    const result = decodeOpenAIUpstreamResponse(body);
    expect(result.id).toBe("");
    expect(result.usage).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
  });

  test.each([
    ["not an object", "oops"],
    ["null", null],
    ["no choices", { id: "x" }],
    ["empty choices", { id: "x", choices: [] }],
    ["choice without message", { choices: [{ index: 0, finish_reason: "stop" }] }],
    ["content of the wrong type", { choices: [{ message: { content: 42 } }] }],
    ["tool call without a function", { choices: [{ message: { tool_calls: [{ id: "c", type: "function" }] } }] }],
    ["usage with a string count", { choices: [{ message: { content: "x" } }], usage: { prompt_tokens: "12" } }],
  ])("malformed body (%s) → non-retryable upstream_error", (_name, body) => {
    try {
      decodeOpenAIUpstreamResponse(body);
      throw new Error("expected a GatewayError");
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      const gatewayError = error as GatewayError;
      expect(gatewayError.kind).toBe("upstream_error");
      expect(gatewayError.retryable).toBe(false);
    }
  });

  test("a 200 carrying an error object is a retryable upstream_error", () => {
    expect(() => decodeOpenAIUpstreamResponse({ error: { message: "Provider returned error", code: 502 } })).toThrow(
      expect.objectContaining({ kind: "upstream_error", retryable: true }),
    );
  });
});

describe("mapOpenAIFinishReason", () => {
  test.each([
    ["stop", "end_turn"],
    ["length", "max_tokens"],
    ["tool_calls", "tool_use"],
    ["function_call", "tool_use"],
    ["content_filter", "refusal"],
    [null, "end_turn"],
    [undefined, "end_turn"],
    ["insufficient_system_resource", "end_turn"],
  ] as const)("%p → %s", (reason, expected) => {
    expect(mapOpenAIFinishReason(reason)).toBe(expected);
  });
});

describe("decodeOpenAIUpstreamUsage", () => {
  test.each([
    ["OpenAI cached_tokens", { prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 64 } }, { input: 36, cacheRead: 64 }],
    ["DeepSeek both fields (equal)", { prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 64 }, prompt_cache_hit_tokens: 64 }, { input: 36, cacheRead: 64 }],
    ["DeepSeek hit field only", { prompt_tokens: 100, prompt_cache_hit_tokens: 80 }, { input: 20, cacheRead: 80 }],
    ["null details", { prompt_tokens: 10, prompt_tokens_details: null, completion_tokens_details: null }, { input: 10, cacheRead: 0 }],
    ["cached above prompt never goes negative", { prompt_tokens: 5, prompt_tokens_details: { cached_tokens: 9 } }, { input: 0, cacheRead: 9 }],
  ])("%s", (_name, usage, expected) => {
    expect(decodeOpenAIUpstreamUsage(usage)).toMatchObject(expected);
  });
});
