/** Anthropic count_tokens: the request carries the conversation only; the answer is {input_tokens}. */

import { describe, expect, test } from "bun:test";
import type { ChatRequest } from "../../canonical/request.ts";
import { GatewayError } from "../../errors.ts";
import { decodeAnthropicCountTokensResponse, encodeAnthropicCountTokensRequest } from "./count-tokens.ts";

const REQUEST: ChatRequest = {
  model: "claude-sonnet-4-6",
  system: [{ type: "text", text: "Be brief." }],
  messages: [
    { role: "user", content: [{ type: "text", text: "Weather?" }] },
    { role: "user", content: [{ type: "text", text: "In Paris." }] },
  ],
  maxTokens: 1000,
  stream: true,
  temperature: 0.2,
  topP: 0.9,
  topK: 10,
  stopSequences: ["END"],
  tools: [{ name: "get_weather", inputSchema: { type: "object", properties: {} } }],
  toolChoice: { type: "auto" },
  thinking: { budgetTokens: 2048 },
  userId: "u1",
  includeUsage: false,
};

describe("encodeAnthropicCountTokensRequest", () => {
  test("model, system, merged messages, tools, tool_choice, thinking; no max_tokens, stream or sampling", () => {
    expect(encodeAnthropicCountTokensRequest(REQUEST, "claude-sonnet-4-5-20250929")).toEqual({
      model: "claude-sonnet-4-5-20250929",
      system: "Be brief.",
      messages: [{ role: "user", content: [{ type: "text", text: "Weather?" }, { type: "text", text: "In Paris." }] }],
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: {} } }],
      tool_choice: { type: "auto" },
      // The budget is not lowered against max_tokens: count_tokens has none.
      thinking: { type: "enabled", budget_tokens: 2048 },
    });
  });

  test("a budget under Anthropic's minimum is left out", () => {
    const body = encodeAnthropicCountTokensRequest({ ...REQUEST, thinking: { budgetTokens: 512 } }, "m");
    expect(body).not.toHaveProperty("thinking");
  });
});

describe("decodeAnthropicCountTokensResponse", () => {
  test("reads input_tokens", () => {
    expect(decodeAnthropicCountTokensResponse({ input_tokens: 2095 })).toBe(2095);
  });

  test.each([[{}], [{ input_tokens: "12" }], [{ input_tokens: -1 }], [{ input_tokens: 1.5 }], [null]])("malformed %p → upstream_error", (body) => {
    expect(() => decodeAnthropicCountTokensResponse(body)).toThrow(GatewayError);
  });
});
