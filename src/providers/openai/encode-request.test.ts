import { describe, expect, test } from "bun:test";
import type { ChatMessage, ChatRequest, ReasoningEffort, ResponseFormat, ThinkingConfig, ToolChoice } from "../../canonical/request.ts";
import { encodeOpenAIUpstreamRequest, mapThinkingToOpenAIEffort, type OpenAIUpstreamRequestOptions } from "./encode-request.ts";

const OPTIONS: OpenAIUpstreamRequestOptions = { upstreamModel: "gpt-4.1", maxTokens: 1024, maxTokensField: "max_tokens", stream: false };
const HELLO: ChatMessage = { role: "user", content: [{ type: "text", text: "Hi" }] };
const CACHE = { type: "ephemeral" } as const;

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model: "claude-sonnet-4-6",
    system: [],
    messages: [HELLO],
    maxTokens: 1024,
    stream: false,
    stopSequences: [],
    tools: [],
    includeUsage: false,
    ...overrides,
  };
}

function encode(overrides: Partial<ChatRequest> = {}, options: Partial<OpenAIUpstreamRequestOptions> = {}) {
  return encodeOpenAIUpstreamRequest(chatRequest(overrides), { ...OPTIONS, ...options });
}

const WEATHER_TOOL = { name: "get_weather", description: "Weather now", inputSchema: { type: "object", properties: { city: { type: "string" } } } };

describe("encodeOpenAIUpstreamRequest: envelope", () => {
  test("a minimal request", () => {
    expect(encode()).toEqual({ body: { model: "gpt-4.1", messages: [{ role: "user", content: "Hi" }], max_tokens: 1024 }, dropped: [] });
  });

  test.each([
    ["max_tokens", { max_tokens: 500 }],
    ["max_completion_tokens", { max_completion_tokens: 500 }],
  ] as const)("the allowance goes in %s", (field, expected) => {
    const { body } = encode({}, { maxTokensField: field, maxTokens: 500 });
    expect(body).toMatchObject(expected);
    expect(Object.keys(body).filter((key) => key.startsWith("max_"))).toEqual([field]);
  });

  test("a stream always asks for usage", () => {
    const { body } = encode({ stream: true, includeUsage: false }, { stream: true });
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  test("system blocks become one leading system message; cache hints vanish silently", () => {
    const { body, dropped } = encode({ system: [{ type: "text", text: "Be brief.", cacheControl: CACHE }, { type: "text", text: "Answer in French." }] });
    expect(body.messages).toEqual([{ role: "system", content: "Be brief.\n\nAnswer in French." }, { role: "user", content: "Hi" }]);
    expect(dropped).toEqual([]);
  });
});

describe("encodeOpenAIUpstreamRequest: messages", () => {
  test.each<[string, ChatMessage, unknown[], string[]]>([
    ["one text block → a string", HELLO, [{ role: "user", content: "Hi" }], []],
    [
      "mixed user content → parts",
      {
        role: "user",
        content: [
          { type: "text", text: "Look:" },
          { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBOR" }, cacheControl: CACHE },
          { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" } },
          { type: "document", source: { kind: "base64", mediaType: "application/pdf", data: "JVBER" }, title: "report.pdf" },
          { type: "document", source: { kind: "base64", mediaType: "application/pdf", data: "JVBER" } },
          { type: "document", source: { kind: "text", mediaType: "text/plain", data: "plain notes" } },
        ],
      },
      [
        {
          role: "user",
          content: [
            { type: "text", text: "Look:" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBOR" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBER", filename: "report.pdf" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBER", filename: "document.pdf" } },
            { type: "text", text: "plain notes" },
          ],
        },
      ],
      [],
    ],
    [
      "a URL document has no counterpart",
      { role: "user", content: [{ type: "text", text: "Read" }, { type: "document", source: { kind: "url", url: "https://example.com/a.pdf" } }] },
      [{ role: "user", content: "Read" }],
      ["messages[].content[].document"],
    ],
    [
      "assistant: thinking dropped, text joined, tool calls",
      {
        role: "assistant",
        content: [
          { type: "thinking", text: "Let me check.", signature: "sig" },
          { type: "redacted-thinking", data: "opaque" },
          { type: "text", text: "Checking " },
          { type: "text", text: "both." },
          { type: "tool-use", id: "call_1", name: "get_weather", input: { city: "Zürich" } },
          { type: "tool-use", id: "call_2", name: "get_weather", input: "{not json" },
        ],
      },
      [
        {
          role: "assistant",
          content: "Checking both.",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Zürich"}' } },
            { id: "call_2", type: "function", function: { name: "get_weather", arguments: "{not json" } },
          ],
        },
      ],
      ["messages[].content[].thinking", "messages[].content[].redacted_thinking"],
    ],
    [
      "assistant tool calls alone → content null",
      { role: "assistant", content: [{ type: "tool-use", id: "call_1", name: "get_weather", input: {} }] },
      [{ role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }] }],
      [],
    ],
    ["an assistant turn of thinking only is omitted", { role: "assistant", content: [{ type: "thinking", text: "hmm" }] }, [], ["messages[].content[].thinking"]],
    [
      "tool results → one tool message each, then the rest of the turn",
      {
        role: "user",
        content: [
          { type: "tool-result", toolUseId: "call_1", content: [{ type: "text", text: "18°C" }, { type: "text", text: "sunny" }], isError: false },
          {
            type: "tool-result",
            toolUseId: "call_2",
            content: [{ type: "text", text: "see chart" }, { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAA" } }],
            isError: true,
          },
          { type: "text", text: "Thanks" },
        ],
      },
      [
        { role: "tool", tool_call_id: "call_1", content: "18°C\n\nsunny" },
        { role: "tool", tool_call_id: "call_2", content: "see chart" },
        { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAA" } }, { type: "text", text: "Thanks" }] },
      ],
      ["messages[].content[].is_error"],
    ],
    [
      "tool results alone add no user message; a URL document inside one is dropped",
      {
        role: "user",
        content: [
          { type: "tool-result", toolUseId: "call_1", content: [], isError: false },
          { type: "tool-result", toolUseId: "call_2", content: [{ type: "document", source: { kind: "url", url: "https://x.test/a.pdf" } }], isError: false },
        ],
      },
      [
        { role: "tool", tool_call_id: "call_1", content: "" },
        { role: "tool", tool_call_id: "call_2", content: "" },
      ],
      ["messages[].content[].content[].document"],
    ],
  ])("%s", (_name, message, expected, expectedDropped) => {
    const { body, dropped } = encode({ messages: [message] });
    expect(body.messages).toEqual(expected);
    expect(dropped).toEqual(expectedDropped);
  });

  test("dropped names are listed once however often they occur", () => {
    const thinking: ChatMessage = { role: "assistant", content: [{ type: "thinking", text: "a" }, { type: "text", text: "b" }] };
    expect(encode({ messages: [HELLO, thinking, HELLO, thinking] }).dropped).toEqual(["messages[].content[].thinking"]);
  });
});

describe("encodeOpenAIUpstreamRequest: tools", () => {
  test("tools become functions; strict kept; cache hints vanish", () => {
    const { body, dropped } = encode({ tools: [{ ...WEATHER_TOOL, strict: true, cacheControl: CACHE }, { name: "ping", inputSchema: { type: "object" } }] });
    expect(body.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather now", parameters: WEATHER_TOOL.inputSchema, strict: true } },
      { type: "function", function: { name: "ping", parameters: { type: "object" } } },
    ]);
    expect(dropped).toEqual([]);
  });

  test.each<[ToolChoice, unknown]>([
    [{ type: "auto" }, "auto"],
    [{ type: "any" }, "required"],
    [{ type: "none" }, "none"],
    [{ type: "tool", name: "get_weather" }, { type: "function", function: { name: "get_weather" } }],
  ])("tool choice %j → %j", (toolChoice, expected) => {
    expect(encode({ tools: [WEATHER_TOOL], toolChoice }).body.tool_choice).toEqual(expected);
  });

  test.each<[string, Partial<ChatRequest>, boolean | undefined]>([
    ["false with tools", { tools: [WEATHER_TOOL], parallelToolCalls: false }, false],
    ["true is the default", { tools: [WEATHER_TOOL], parallelToolCalls: true }, undefined],
    ["false without tools", { parallelToolCalls: false }, undefined],
  ])("parallel_tool_calls: %s", (_name, overrides, expected) => {
    expect(encode(overrides).body.parallel_tool_calls).toBe(expected);
  });

  test("tool_choice without tools is not sent", () => {
    expect(encode({ toolChoice: { type: "none" } }).body).not.toHaveProperty("tool_choice");
  });
});

describe("encodeOpenAIUpstreamRequest: sampling and options", () => {
  test("every carried option has its field", () => {
    const { body, dropped } = encode({
      temperature: 0.3,
      topP: 0.9,
      topK: 40,
      stopSequences: ["END", "###"],
      userId: "user-42",
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
    });
    expect(body).toMatchObject({ temperature: 0.3, top_p: 0.9, stop: ["END", "###"], user: "user-42", seed: 7, presence_penalty: 0.5, frequency_penalty: -0.5 });
    expect(body).not.toHaveProperty("top_k");
    expect(dropped).toEqual(["top_k"]);
  });

  test("nothing optional is sent when the request has none of it", () => {
    const keys = Object.keys(encode().body).sort();
    expect(keys).toEqual(["max_tokens", "messages", "model"]);
  });

  test.each<[ThinkingConfig, ReasoningEffort]>([
    [{ budgetTokens: 1024 }, "low"],
    [{ budgetTokens: 2048 }, "low"],
    [{ budgetTokens: 4095 }, "low"],
    [{ budgetTokens: 4096 }, "medium"],
    [{ budgetTokens: 8192 }, "medium"],
    [{ budgetTokens: 16_383 }, "medium"],
    [{ budgetTokens: 16_384 }, "high"],
    [{ budgetTokens: 24_576 }, "high"],
    [{ budgetTokens: 1024, effort: "minimal" }, "minimal"],
    [{ budgetTokens: 30_000, effort: "low" }, "low"],
  ])("thinking %j → reasoning_effort %s", (thinking, effort) => {
    expect(mapThinkingToOpenAIEffort(thinking)).toBe(effort);
    expect(encode({ thinking }).body.reasoning_effort).toBe(effort);
  });

  test.each<[ResponseFormat, unknown]>([
    [{ type: "text" }, { type: "text" }],
    [{ type: "json_object" }, { type: "json_object" }],
    [
      { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true, description: "The answer" },
      { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" }, description: "The answer", strict: true } },
    ],
    [{ type: "json_schema", name: "answer", schema: {} }, { type: "json_schema", json_schema: { name: "answer", schema: {} } }],
  ])("response format %j", (responseFormat, expected) => {
    expect(encode({ responseFormat }).body.response_format).toEqual(expected);
  });
});
