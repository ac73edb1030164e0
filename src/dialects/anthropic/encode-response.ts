/**
 * ChatResult → Anthropic `Message`. Usage keeps Anthropic's meaning (input excludes cache reads and
 * writes); a thinking block from an upstream without signatures gets `signature: ""` (the SDK types
 * the field as a required string).
 * @see https://docs.anthropic.com/en/api/messages#response
 */

import type { ChatResult, ResultBlock } from "../../canonical/result.ts";
import type { Usage } from "../../canonical/usage.ts";
import type { EncodeMeta } from "../../gateway/summary.ts";
import { randomToken } from "../../lib/ids.ts";
import type { AnthropicResponseBlock, AnthropicUsage } from "./wire.ts";

export function newAnthropicMessageId(): string {
  return `msg_${randomToken(24)}`;
}

export function encodeAnthropicUsage(usage: Usage): AnthropicUsage {
  const wire: AnthropicUsage = {
    input_tokens: usage.input,
    output_tokens: usage.output,
    cache_creation_input_tokens: usage.cacheWrite,
    cache_read_input_tokens: usage.cacheRead,
  };
  if (usage.reasoning > 0) wire.output_tokens_details = { thinking_tokens: usage.reasoning };
  return wire;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Anthropic's `tool_use.input` is always an object. An upstream may hand over unparseable argument
 * text (kept as a string by the canonical form): JSON text of an object is parsed, anything else is
 * kept whole as `{"_raw": text}` so the client still sees what the model wrote; no input is `{}`.
 */
export function encodeAnthropicToolInput(input: unknown): Record<string, unknown> {
  if (isPlainObject(input)) return input;
  if (input === undefined || input === null) return {};
  if (typeof input === "string") {
    if (input.trim() === "") return {};
    try {
      const parsed: unknown = JSON.parse(input);
      if (isPlainObject(parsed)) return parsed;
    } catch {
      // Not JSON: kept as text below.
    }
    return { _raw: input };
  }
  return { _raw: JSON.stringify(input) };
}

export function encodeAnthropicBlock(block: ResultBlock): AnthropicResponseBlock {
  switch (block.type) {
    case "text":
      return { type: "text", text: block.text };
    case "thinking":
      return { type: "thinking", thinking: block.text, signature: block.signature ?? "" };
    case "redacted-thinking":
      return { type: "redacted_thinking", data: block.data };
    case "tool-use":
      return { type: "tool_use", id: block.id, name: block.name, input: encodeAnthropicToolInput(block.input) };
  }
}

export function encodeAnthropicResponse(result: ChatResult, meta: EncodeMeta): string {
  return JSON.stringify({
    id: newAnthropicMessageId(),
    type: "message",
    role: "assistant",
    model: meta.model,
    content: result.blocks.map(encodeAnthropicBlock),
    stop_reason: result.stopReason,
    stop_sequence: result.stopSequence,
    usage: encodeAnthropicUsage(result.usage),
  });
}
