/** Anthropic Message JSON → ChatResult: blocks, skipped server-tool blocks, stop reasons, usage, malformed bodies. */

import { describe, expect, test } from "bun:test";
import type { StopReason } from "../../canonical/result.ts";
import { GatewayError } from "../../errors.ts";
import { decodeAnthropicUpstreamResponse, mapAnthropicStopReason } from "./decode-response.ts";

function message(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "msg_01XFDUDYJgAACzvnptvVoYEL",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content: [{ type: "text", text: "Hello!" }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 6, cache_creation_input_tokens: null, cache_read_input_tokens: null, service_tier: "standard" },
    ...overrides,
  };
}

describe("decodeAnthropicUpstreamResponse", () => {
  test("a text answer", () => {
    expect(decodeAnthropicUpstreamResponse(message())).toEqual({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      blocks: [{ type: "text", text: "Hello!" }],
      stopReason: "end_turn",
      stopSequence: null,
      usage: { input: 12, output: 6, cacheRead: 0, cacheWrite: 0, reasoning: 0 },
    });
  });

  test("thinking (signature kept), redacted thinking, text with citations, tool use; server-tool blocks skipped", () => {
    const result = decodeAnthropicUpstreamResponse(
      message({
        content: [
          { type: "thinking", thinking: "Let me search.", signature: "EqQBCgIYAh" },
          { type: "redacted_thinking", data: "EmwKAhgBEgy3va3p" },
          { type: "server_tool_use", id: "srvtoolu_01", name: "web_search", input: { query: "nyc weather" } },
          { type: "web_search_tool_result", tool_use_id: "srvtoolu_01", content: [] },
          { type: "text", text: "Sunny.", citations: [{ type: "web_search_result_location", cited_text: "Sunny" }] },
          { type: "tool_use", id: "toolu_01", name: "get_time", input: { timezone: "America/New_York" } },
        ],
        stop_reason: "tool_use",
        usage: { input_tokens: 100, output_tokens: 50, cache_read_input_tokens: 2000, cache_creation_input_tokens: 300 },
      }),
    );
    expect(result.blocks).toEqual([
      { type: "thinking", text: "Let me search.", signature: "EqQBCgIYAh" },
      { type: "redacted-thinking", data: "EmwKAhgBEgy3va3p" },
      { type: "text", text: "Sunny." },
      { type: "tool-use", id: "toolu_01", name: "get_time", input: { timezone: "America/New_York" } },
    ]);
    expect(result.stopReason).toBe("tool_use");
    expect(result.usage).toEqual({ input: 100, output: 50, cacheRead: 2000, cacheWrite: 300, reasoning: 0 });
  });

  test.each([
    ["end_turn", null, "end_turn", null],
    ["max_tokens", null, "max_tokens", null],
    ["tool_use", null, "tool_use", null],
    ["stop_sequence", "###", "stop_sequence", "###"],
    ["refusal", null, "refusal", null],
    ["pause_turn", null, "pause_turn", null],
    ["model_context_window_exceeded", null, "model_context_window_exceeded", null],
    [null, null, "end_turn", null],
  ] as Array<[string | null, string | null, StopReason, string | null]>)("stop_reason %p", (stopReason, stopSequence, expected, expectedSequence) => {
    const result = decodeAnthropicUpstreamResponse(message({ stop_reason: stopReason, stop_sequence: stopSequence }));
    expect(result.stopReason).toBe(expected);
    expect(result.stopSequence).toBe(expectedSequence);
  });

  test("an unknown future stop reason reads as end_turn", () => {
    expect(mapAnthropicStopReason("something_new")).toBe("end_turn");
  });

  test("missing cache fields count as zero; a tool_use without input gets {}", () => {
    const result = decodeAnthropicUpstreamResponse(
      message({ content: [{ type: "tool_use", id: "t", name: "f" }], usage: { input_tokens: 1, output_tokens: 2 } }),
    );
    expect(result.blocks).toEqual([{ type: "tool-use", id: "t", name: "f", input: {} }]);
    expect(result.usage).toEqual({ input: 1, output: 2, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
  });

  test.each([
    ["not an object", "oops"],
    ["null", null],
    ["missing usage", message({ usage: undefined })],
    ["usage without output_tokens", message({ usage: { input_tokens: 1 } })],
    ["content not an array", message({ content: "Hello" })],
    ["a block without type", message({ content: [{ text: "x" }] })],
    ["a text block without text", message({ content: [{ type: "text" }] })],
    ["a tool_use block without name", message({ content: [{ type: "tool_use", id: "t", input: {} }] })],
    ["a redacted_thinking block without data", message({ content: [{ type: "redacted_thinking" }] })],
    ["an error body", { type: "error", error: { type: "api_error", message: "boom" } }],
  ])("malformed: %s → upstream_error", (_name, body) => {
    let thrown: unknown;
    try {
      decodeAnthropicUpstreamResponse(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).kind).toBe("upstream_error");
  });
});
