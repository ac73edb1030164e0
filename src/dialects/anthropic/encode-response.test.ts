/** ChatResult → Anthropic Message: shape, usage meaning, tool inputs, and the SDK reading it back. */

import { describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import type { ChatResult } from "../../canonical/result.ts";
import type { EncodeMeta } from "../../gateway/summary.ts";
import { encodeAnthropicResponse, encodeAnthropicToolInput, encodeAnthropicUsage } from "./encode-response.ts";

const META: EncodeMeta = { model: "claude-client-id", createdSec: 1_700_000_000, includeUsage: false, usageEvent: false };

const RESULT: ChatResult = {
  id: "upstream-123",
  blocks: [
    { type: "thinking", text: "Considering.", signature: "sig-1" },
    { type: "redacted-thinking", data: "opaque" },
    { type: "text", text: "Here you go." },
    { type: "tool-use", id: "toolu_9", name: "lookup", input: { q: "x" } },
  ],
  stopReason: "tool_use",
  stopSequence: null,
  usage: { input: 100, output: 40, cacheRead: 25, cacheWrite: 5, reasoning: 10 },
};

describe("encodeAnthropicResponse", () => {
  test("renders a Message with the client's model, a fresh msg_ id and Anthropic's usage", () => {
    const body = JSON.parse(encodeAnthropicResponse(RESULT, META)) as Record<string, unknown>;
    expect(body).toEqual({
      id: expect.stringMatching(/^msg_[A-Za-z0-9]{24}$/),
      type: "message",
      role: "assistant",
      model: "claude-client-id",
      content: [
        { type: "thinking", thinking: "Considering.", signature: "sig-1" },
        { type: "redacted_thinking", data: "opaque" },
        { type: "text", text: "Here you go." },
        { type: "tool_use", id: "toolu_9", name: "lookup", input: { q: "x" } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 100,
        output_tokens: 40,
        cache_creation_input_tokens: 5,
        cache_read_input_tokens: 25,
        output_tokens_details: { thinking_tokens: 10 },
      },
    });
    expect(body.id).not.toBe(JSON.parse(encodeAnthropicResponse(RESULT, META)).id);
  });

  test("stop sequence and every stop reason pass through as Anthropic's own", () => {
    for (const stopReason of ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"] as const) {
      const body = JSON.parse(encodeAnthropicResponse({ ...RESULT, stopReason, stopSequence: stopReason === "stop_sequence" ? "###" : null }, META));
      expect(body.stop_reason).toBe(stopReason);
      expect(body.stop_sequence).toBe(stopReason === "stop_sequence" ? "###" : null);
    }
  });

  test("thinking without a signature (an OpenAI-style upstream) gets signature ''", () => {
    const body = JSON.parse(encodeAnthropicResponse({ ...RESULT, blocks: [{ type: "thinking", text: "r" }] }, META));
    expect(body.content).toEqual([{ type: "thinking", thinking: "r", signature: "" }]);
  });

  test("the official SDK parses the body", async () => {
    const client = new Anthropic({
      apiKey: "test-key",
      baseURL: "http://localhost",
      maxRetries: 0,
      fetch: async () => new Response(encodeAnthropicResponse(RESULT, META), { headers: { "content-type": "application/json" } }),
    });
    const message = await client.messages.create({ model: "claude-client-id", max_tokens: 10, messages: [{ role: "user", content: "hi" }] });
    expect(message.content.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "text", "tool_use"]);
    expect(message.usage.input_tokens).toBe(100);
    expect(message.usage.cache_read_input_tokens).toBe(25);
  });
});

describe("encodeAnthropicUsage", () => {
  test("input excludes cache; no output_tokens_details without reasoning", () => {
    expect(encodeAnthropicUsage({ input: 3, output: 4, cacheRead: 5, cacheWrite: 6, reasoning: 0 })).toEqual({
      input_tokens: 3,
      output_tokens: 4,
      cache_creation_input_tokens: 6,
      cache_read_input_tokens: 5,
    });
  });
});

describe("encodeAnthropicToolInput", () => {
  test.each([
    ["an object", { a: 1 }, { a: 1 }],
    ["JSON text of an object", '{"a":1}', { a: 1 }],
    ["unparseable text", '{"a":', { _raw: '{"a":' }],
    ["JSON text of a non-object", "[1,2]", { _raw: "[1,2]" }],
    ["empty text", "  ", {}],
    ["null", null, {}],
    ["undefined", undefined, {}],
    ["an array", [1, 2], { _raw: "[1,2]" }],
    ["a number", 7, { _raw: "7" }],
  ])("%s", (_name, input, expected) => {
    expect(encodeAnthropicToolInput(input)).toEqual(expected);
  });
});
