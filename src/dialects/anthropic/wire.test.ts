/** The Messages request schema: what passes, what is refused, and which field a refusal names. */

import { describe, expect, test } from "bun:test";
import { GatewayError } from "../../errors.ts";
import { assertValid } from "../../gateway/validate.ts";
import { anthropicCountTokensRequestCheck, anthropicMessagesRequestCheck } from "./wire.ts";

const BASE = { model: "claude-x", max_tokens: 64, messages: [{ role: "user", content: "hi" }] };

function fieldOf(body: unknown): string | undefined {
  try {
    assertValid(anthropicMessagesRequestCheck, body);
    return undefined;
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return error.param;
  }
}

describe("anthropicMessagesRequestCheck", () => {
  test.each([
    ["the minimal body", BASE],
    ["unknown top-level fields", { ...BASE, service_tier: "auto", container: "c1", mcp_servers: [] }],
    ["every known block", {
      ...BASE,
      system: [{ type: "text", text: "sys", cache_control: { type: "ephemeral", ttl: "1h" } }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "t", cache_control: null, citations: null },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
            { type: "image", source: { type: "url", url: "https://x/y.png" } },
            { type: "image", source: { type: "file", file_id: "file_1" } },
            { type: "document", source: { type: "text", media_type: "text/plain", data: "doc" }, title: null },
            { type: "search_result", source: "s", title: "t", content: [] },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hm", signature: "sig" },
            { type: "redacted_thinking", data: "opaque" },
            { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
          ],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "ok" }], is_error: false }] },
      ],
    }],
    ["custom and server tools, tool_choice, thinking", {
      ...BASE,
      tools: [{ name: "f", input_schema: { type: "object" } }, { type: "web_search_20250305", name: "web_search", max_uses: 3 }],
      tool_choice: { type: "tool", name: "f", disable_parallel_tool_use: true },
      thinking: { type: "enabled", budget_tokens: 2048 },
    }],
    ["adaptive and unknown thinking kinds", { ...BASE, thinking: { type: "between_tools" } }],
  ])("accepts %s", (_name, body) => {
    expect(fieldOf(body)).toBeUndefined();
  });

  test.each([
    ["a missing max_tokens", { model: "m", messages: BASE.messages }, "max_tokens"],
    ["max_tokens 0", { ...BASE, max_tokens: 0 }, "max_tokens"],
    ["a fractional max_tokens", { ...BASE, max_tokens: 1.5 }, "max_tokens"],
    ["no messages", { ...BASE, messages: [] }, "messages"],
    ["a bad role", { ...BASE, messages: [{ role: "tool", content: "x" }] }, "messages[0].role"],
    ["a text block without text", { ...BASE, messages: [{ role: "user", content: [{ type: "text" }] }] }, "messages[0].content"],
    ["a tool_use without input", { ...BASE, messages: [{ role: "assistant", content: [{ type: "tool_use", id: "a", name: "b" }] }] }, "messages[0].content"],
    ["temperature above 1", { ...BASE, temperature: 1.5 }, "temperature"],
    ["a thinking budget below 1024", { ...BASE, thinking: { type: "enabled", budget_tokens: 512 } }, "thinking"],
    ["a tool without input_schema", { ...BASE, tools: [{ name: "f" }] }, "tools[0]"],
    ["tool_choice tool without a name", { ...BASE, tool_choice: { type: "tool" } }, "tool_choice"],
    ["a non-string stop sequence", { ...BASE, stop_sequences: [1] }, "stop_sequences[0]"],
  ])("refuses %s, naming %s", (_name, body, field) => {
    expect(fieldOf(body)).toBe(field);
  });
});

describe("anthropicCountTokensRequestCheck", () => {
  test("max_tokens is optional, the rest is the same", () => {
    expect(anthropicCountTokensRequestCheck.Check({ model: "m", messages: BASE.messages })).toBe(true);
    expect(anthropicCountTokensRequestCheck.Check({ model: "m", messages: [] })).toBe(false);
    expect(anthropicCountTokensRequestCheck.Check({ model: "m", messages: BASE.messages, max_tokens: 0 })).toBe(false);
  });
});
