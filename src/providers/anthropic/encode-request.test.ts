/** ChatRequest → Anthropic upstream body: merging, block shapes, the thinking rule, drops. */

import { describe, expect, test } from "bun:test";
import type { ChatMessage, ChatRequest } from "../../canonical/request.ts";
import { encodeAnthropicUpstreamRequest } from "./encode-request.ts";

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model: "claude-sonnet-4-6",
    system: [],
    messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
    maxTokens: null,
    stream: false,
    stopSequences: [],
    tools: [],
    includeUsage: false,
    ...overrides,
  };
}

const OPTIONS = { upstreamModel: "claude-sonnet-4-5-20250929", maxTokens: 4096, stream: true };

function encode(overrides: Partial<ChatRequest> = {}, maxTokens = OPTIONS.maxTokens) {
  return encodeAnthropicUpstreamRequest(chatRequest(overrides), { ...OPTIONS, maxTokens });
}

const WEATHER_TOOL = { name: "get_weather", inputSchema: { type: "object", properties: { city: { type: "string" } } } };

describe("encodeAnthropicUpstreamRequest: envelope", () => {
  test("model, max_tokens, stream, messages; nothing dropped", () => {
    expect(encode()).toEqual({
      body: {
        model: "claude-sonnet-4-5-20250929",
        max_tokens: 4096,
        messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
        stream: true,
      },
      dropped: [],
    });
  });

  test.each([
    ["one plain block → string", [{ type: "text" as const, text: "Be brief." }], "Be brief."],
    [
      "one cached block → blocks",
      [{ type: "text" as const, text: "Long prompt", cacheControl: { type: "ephemeral" as const, ttl: "1h" } }],
      [{ type: "text", text: "Long prompt", cache_control: { type: "ephemeral", ttl: "1h" } }],
    ],
    [
      "two blocks → blocks",
      [{ type: "text" as const, text: "A" }, { type: "text" as const, text: "B", cacheControl: { type: "ephemeral" as const } }],
      [{ type: "text", text: "A" }, { type: "text", text: "B", cache_control: { type: "ephemeral" } }],
    ],
  ])("system: %s", (_name, system, expected) => {
    expect(encode({ system }).body.system).toEqual(expected);
  });

  test("stop sequences, user id, top_k", () => {
    const { body } = encode({ stopSequences: ["END"], userId: "user-42", topK: 40 });
    expect(body.stop_sequences).toEqual(["END"]);
    expect(body.metadata).toEqual({ user_id: "user-42" });
    expect(body.top_k).toBe(40);
  });
});

describe("encodeAnthropicUpstreamRequest: messages", () => {
  test("consecutive same-role messages merge; tool results come first in a user turn", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "tool-use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool-use", id: "call_2", name: "get_weather", input: '{"city":"Rome"}' },
        ],
      },
      { role: "user", content: [{ type: "tool-result", toolUseId: "call_1", content: [{ type: "text", text: "18C" }], isError: false }] },
      { role: "user", content: [{ type: "text", text: "Also, be brief." }] },
      { role: "user", content: [{ type: "tool-result", toolUseId: "call_2", content: [], isError: true }] },
    ];
    expect(encode({ messages }).body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "18C" },
          { type: "tool_result", tool_use_id: "call_2", is_error: true },
          { type: "text", text: "Also, be brief." },
        ],
      },
    ]);
  });

  test.each([
    ["unparseable string", "{not json", {}],
    ["JSON array string", "[1,2]", {}],
    ["number", 7, {}],
    ["object", { a: 1 }, { a: 1 }],
  ])("tool_use input from %s", (_name, input, expected) => {
    const messages: ChatMessage[] = [{ role: "assistant", content: [{ type: "tool-use", id: "t", name: "f", input }] }];
    expect(encode({ messages }).body.messages).toEqual([{ role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: expected }] }]);
  });

  test("media, documents and cache_control", () => {
    const cache = { type: "ephemeral" as const };
    const messages: ChatMessage[] = [
      {
        role: "user",
        content: [
          { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" } },
          { type: "image", source: { kind: "url", url: "https://example.com/a.jpg" }, cacheControl: cache },
          { type: "document", source: { kind: "base64", mediaType: "application/pdf", data: "JVBER" }, title: "Report" },
          { type: "document", source: { kind: "url", url: "https://example.com/a.pdf" } },
          { type: "document", source: { kind: "text", mediaType: "text/plain", data: "plain words" }, cacheControl: cache },
          { type: "text", text: "Summarise.", cacheControl: { type: "ephemeral", ttl: "5m" } },
        ],
      },
    ];
    expect(encode({ messages }).body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR" } },
          { type: "image", source: { type: "url", url: "https://example.com/a.jpg" }, cache_control: { type: "ephemeral" } },
          { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" }, title: "Report" },
          { type: "document", source: { type: "url", url: "https://example.com/a.pdf" } },
          { type: "document", source: { type: "text", media_type: "text/plain", data: "plain words" }, cache_control: { type: "ephemeral" } },
          { type: "text", text: "Summarise.", cache_control: { type: "ephemeral", ttl: "5m" } },
        ],
      },
    ]);
  });

  test("tool_result with mixed content keeps blocks", () => {
    const messages: ChatMessage[] = [
      {
        role: "user",
        content: [
          {
            type: "tool-result",
            toolUseId: "t1",
            isError: false,
            content: [{ type: "text", text: "chart:" }, { type: "image", source: { kind: "url", url: "https://example.com/c.png" } }],
          },
        ],
      },
    ];
    expect(encode({ messages }).body.messages).toEqual([
      {
        role: "user",
        content: [
          {
            type: "tool_result",
            tool_use_id: "t1",
            content: [{ type: "text", text: "chart:" }, { type: "image", source: { type: "url", url: "https://example.com/c.png" } }],
          },
        ],
      },
    ]);
  });

  test("signed thinking and redacted thinking are kept; unsigned thinking is dropped as reasoning_content", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: [{ type: "text", text: "Q1" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", text: "hmm", signature: "sig" },
          { type: "redacted-thinking", data: "opaque" },
          { type: "text", text: "A1" },
        ],
      },
      { role: "user", content: [{ type: "text", text: "Q2" }] },
      { role: "assistant", content: [{ type: "thinking", text: "from an OpenAI client" }, { type: "text", text: "A2" }] },
    ];
    const { body, dropped } = encode({ messages });
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Q1" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "sig" },
          { type: "redacted_thinking", data: "opaque" },
          { type: "text", text: "A1" },
        ],
      },
      { role: "user", content: [{ type: "text", text: "Q2" }] },
      { role: "assistant", content: [{ type: "text", text: "A2" }] },
    ]);
    expect(dropped).toEqual(["messages[].reasoning_content"]);
  });

  test("a message emptied by drops disappears and its neighbours merge", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: [{ type: "text", text: "Q1" }] },
      { role: "assistant", content: [{ type: "thinking", text: "unsigned" }, { type: "text", text: "" }] },
      { role: "user", content: [{ type: "text", text: "Q2" }] },
    ];
    expect(encode({ messages }).body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Q1" }, { type: "text", text: "Q2" }] },
    ]);
  });
});

describe("encodeAnthropicUpstreamRequest: tools", () => {
  test.each([
    ["no choice", {}, undefined],
    ["auto", { toolChoice: { type: "auto" as const } }, { type: "auto" }],
    ["any", { toolChoice: { type: "any" as const } }, { type: "any" }],
    ["none", { toolChoice: { type: "none" as const } }, { type: "none" }],
    ["named tool", { toolChoice: { type: "tool" as const, name: "get_weather" } }, { type: "tool", name: "get_weather" }],
    ["parallel off, no choice", { parallelToolCalls: false }, { type: "auto", disable_parallel_tool_use: true }],
    ["parallel off, any", { parallelToolCalls: false, toolChoice: { type: "any" as const } }, { type: "any", disable_parallel_tool_use: true }],
    ["parallel off, none", { parallelToolCalls: false, toolChoice: { type: "none" as const } }, { type: "none" }],
    ["parallel on", { parallelToolCalls: true }, undefined],
  ])("tool_choice: %s", (_name, overrides, expected) => {
    expect(encode({ tools: [WEATHER_TOOL], ...overrides }).body.tool_choice).toEqual(expected);
  });

  test("tool_choice without tools is not sent", () => {
    expect(encode({ toolChoice: { type: "any" }, parallelToolCalls: false }).body).not.toHaveProperty("tool_choice");
  });

  test("tool definitions: schema, description, cache_control; strict (structured tool use) kept when true", () => {
    const { body, dropped } = encode({
      tools: [
        { ...WEATHER_TOOL, description: "Weather", strict: true, cacheControl: { type: "ephemeral" } },
        { name: "noop", inputSchema: { properties: {} }, strict: false },
      ],
    });
    expect(body.tools).toEqual([
      { name: "get_weather", description: "Weather", input_schema: WEATHER_TOOL.inputSchema, strict: true, cache_control: { type: "ephemeral" } },
      { name: "noop", input_schema: { type: "object", properties: {} } },
    ]);
    expect(dropped).toEqual([]);
  });
});

describe("encodeAnthropicUpstreamRequest: thinking budget (SPEC §2)", () => {
  test.each([
    ["budget below max_tokens is kept", { budgetTokens: 2048 }, 4096, { type: "enabled", budget_tokens: 2048 }, []],
    ["budget equal to max_tokens → max − 1", { budgetTokens: 4096 }, 4096, { type: "enabled", budget_tokens: 4095 }, []],
    ["budget above max_tokens → max − 1", { budgetTokens: 24_576, effort: "high" as const }, 8000, { type: "enabled", budget_tokens: 7999 }, []],
    ["max − 1 exactly 1024 is kept", { budgetTokens: 2048 }, 1025, { type: "enabled", budget_tokens: 1024 }, []],
    ["max − 1 below 1024 drops (effort) as reasoning_effort", { budgetTokens: 1024, effort: "minimal" as const }, 1024, undefined, ["reasoning_effort"]],
    ["max − 1 below 1024 drops (Anthropic client) as thinking", { budgetTokens: 2000 }, 900, undefined, ["thinking"]],
    ["a budget under 1024 is dropped as thinking", { budgetTokens: 500 }, 4096, undefined, ["thinking"]],
  ])("%s", (_name, thinking, maxTokens, expected, dropped) => {
    const result = encode({ thinking }, maxTokens);
    expect(result.body.thinking).toEqual(expected);
    expect(result.body.max_tokens).toBe(maxTokens);
    expect(result.dropped).toEqual(dropped);
  });

  test.each([
    ["signed thinking first: kept", [{ type: "thinking" as const, text: "t", signature: "sig" }], true, []],
    ["redacted thinking first: kept", [{ type: "redacted-thinking" as const, data: "opaque" }], true, []],
    ["unsigned thinking (OpenAI history): dropped", [{ type: "thinking" as const, text: "t" }], false, ["messages[].reasoning_content", "reasoning_effort"]],
    ["no thinking: dropped", [], false, ["reasoning_effort"]],
  ] as Array<[string, ChatMessage["content"], boolean, string[]]>)("a tool loop whose last assistant turn has %s", (_name, leading, kept, dropped) => {
    const messages: ChatMessage[] = [
      { role: "user", content: [{ type: "text", text: "Weather?" }] },
      { role: "assistant", content: [...leading, { type: "tool-use", id: "t1", name: "get_weather", input: {} }] },
      { role: "user", content: [{ type: "tool-result", toolUseId: "t1", content: [{ type: "text", text: "sunny" }], isError: false }] },
    ];
    const result = encode({ messages, tools: [WEATHER_TOOL], thinking: { budgetTokens: 2048, effort: "low" } });
    expect(result.body.thinking !== undefined).toBe(kept);
    expect(result.dropped).toEqual(dropped);
  });

  test("a forced tool drops thinking (Anthropic refuses the combination)", () => {
    const result = encode({ thinking: { budgetTokens: 2048, effort: "low" }, tools: [WEATHER_TOOL], toolChoice: { type: "any" } });
    expect(result.body).not.toHaveProperty("thinking");
    expect(result.body.tool_choice).toEqual({ type: "any" });
    expect(result.dropped).toEqual(["reasoning_effort"]);
  });
});

describe("encodeAnthropicUpstreamRequest: sampling", () => {
  test.each([
    ["temperature within range", { temperature: 0.3 }, { temperature: 0.3 }, [], 4096],
    ["OpenAI temperature above 1 is clamped", { temperature: 1.7 }, { temperature: 1 }, [], 4096],
    ["negative temperature is clamped", { temperature: -1 }, { temperature: 0 }, [], 4096],
    ["top_p alone", { topP: 0.9 }, { top_p: 0.9 }, [], 4096],
    ["top_p yields to temperature", { temperature: 0.5, topP: 0.9 }, { temperature: 0.5 }, ["top_p"], 4096],
    ["top_k", { topK: 5 }, { top_k: 5 }, [], 4096],
    [
      "thinking drops temperature and top_k",
      { thinking: { budgetTokens: 2048 }, temperature: 0.5, topK: 5 },
      {},
      ["temperature", "top_k"],
      4096,
    ],
    ["thinking keeps top_p ≥ 0.95", { thinking: { budgetTokens: 2048 }, topP: 0.95 }, { top_p: 0.95 }, [], 4096],
    ["thinking drops top_p < 0.95", { thinking: { budgetTokens: 2048 }, topP: 0.5 }, {}, ["top_p"], 4096],
    ["dropped thinking lets temperature through", { thinking: { budgetTokens: 2048 }, temperature: 0.5 }, { temperature: 0.5 }, ["thinking"], 1000],
  ] as Array<[string, Partial<ChatRequest>, Record<string, number>, string[], number]>)("%s", (_name, overrides, expected, dropped, maxTokens) => {
    const result = encode(overrides, maxTokens);
    const sampling = Object.fromEntries(
      Object.entries(result.body).filter(([key]) => key === "temperature" || key === "top_p" || key === "top_k"),
    );
    expect(sampling).toEqual(expected);
    expect(result.dropped).toEqual(dropped);
  });
});

describe("encodeAnthropicUpstreamRequest: structured outputs and stop sequences", () => {
  test("a JSON schema response format is Anthropic's output_config.format", () => {
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
    const { body, dropped } = encode({ responseFormat: { type: "json_schema", name: "answer", schema, strict: true } });
    expect(body.output_config).toEqual({ format: { type: "json_schema", schema } });
    expect(body).not.toHaveProperty("response_format");
    // The schema's name and description have no place in Anthropic's format: named as dropped.
    expect(dropped).toEqual(["response_format.json_schema.name"]);
    const described = encode({ responseFormat: { type: "json_schema", name: "answer", schema, description: "the city" } });
    expect(described.dropped).toEqual(["response_format.json_schema.name", "response_format.json_schema.description"]);
  });

  test("stop sequences without a non-whitespace character (which Anthropic refuses) are left out, and stop named", () => {
    expect(encode({ stopSequences: ["\n", "END", " \t"] })).toMatchObject({ body: { stop_sequences: ["END"] }, dropped: ["stop"] });
    const onlyBlank = encode({ stopSequences: ["\n\n"] });
    expect(onlyBlank.body).not.toHaveProperty("stop_sequences");
    expect(onlyBlank.dropped).toEqual(["stop"]);
    expect(encode({ stopSequences: ["###", " x "] })).toMatchObject({ body: { stop_sequences: ["###", " x "] }, dropped: [] });
  });
});

describe("encodeAnthropicUpstreamRequest: OpenAI-only fields", () => {
  test.each([
    ["json_object", { responseFormat: { type: "json_object" as const } }, ["response_format"]],
    ["text format carries nothing", { responseFormat: { type: "text" as const } }, []],
    ["seed", { seed: 7 }, ["seed"]],
    ["penalties", { presencePenalty: 0.1, frequencyPenalty: 0.2 }, ["presence_penalty", "frequency_penalty"]],
  ])("%s", (_name, overrides, dropped) => {
    const result = encode(overrides);
    expect(result.dropped).toEqual(dropped);
    for (const field of ["response_format", "seed", "presence_penalty", "frequency_penalty"]) expect(result.body).not.toHaveProperty(field);
  });
});
