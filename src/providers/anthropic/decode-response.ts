/**
 * Anthropic Message JSON (a non-streamed upstream answer) → ChatResult, plus the stop-reason and usage
 * mappings the stream decoder shares. Block types Tollgate cannot carry (server tools) are skipped.
 * @see https://docs.anthropic.com/en/api/messages
 */

import { Type, type Static } from "@sinclair/typebox";
import type { ChatResult, ResultBlock, StopReason } from "../../canonical/result.ts";
import type { Usage } from "../../canonical/usage.ts";
import { GatewayError } from "../../errors.ts";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

const Count = Type.Number({ minimum: 0 });
const NullableCount = Type.Optional(Type.Union([Count, Type.Null()]));

/** Usage as on a Message and in `message_start` (open object: server_tool_use, service_tier… allowed). */
export const AnthropicUsageSchema = Type.Object({
  input_tokens: Count,
  output_tokens: Count,
  cache_read_input_tokens: NullableCount,
  cache_creation_input_tokens: NullableCount,
});
export type AnthropicUsage = Static<typeof AnthropicUsageSchema>;

const MessageSchema = Type.Object({
  id: Type.String(),
  content: Type.Array(Type.Object({ type: Type.String() })),
  stop_reason: Type.Union([Type.String(), Type.Null()]),
  stop_sequence: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  usage: AnthropicUsageSchema,
});

const TextBlockCheck = compileOnFirstUse(Type.Object({ type: Type.Literal("text"), text: Type.String() }));
const ThinkingBlockCheck = compileOnFirstUse(
  Type.Object({ type: Type.Literal("thinking"), thinking: Type.String(), signature: Type.Optional(Type.String()) }),
);
const RedactedThinkingBlockCheck = compileOnFirstUse(Type.Object({ type: Type.Literal("redacted_thinking"), data: Type.String() }));
const ToolUseBlockCheck = compileOnFirstUse(
  Type.Object({ type: Type.Literal("tool_use"), id: Type.String(), name: Type.String(), input: Type.Optional(Type.Unknown()) }),
);
const MessageCheck = compileOnFirstUse(MessageSchema);

const STOP_REASONS: ReadonlySet<string> = new Set<StopReason>([
  "end_turn",
  "max_tokens",
  "tool_use",
  "stop_sequence",
  "refusal",
  "pause_turn",
  "model_context_window_exceeded",
]);

function isStopReason(value: string): value is StopReason {
  return STOP_REASONS.has(value);
}

/** Anthropic's stop reasons are the canonical ones; an unknown future value reads as a normal end. */
export function mapAnthropicStopReason(value: string | null | undefined): StopReason {
  return value !== null && value !== undefined && isStopReason(value) ? value : "end_turn";
}

/** Anthropic's usage already has Tollgate's meaning; reasoning is not reported apart (it is inside output). */
export function decodeAnthropicUsage(usage: AnthropicUsage): Usage {
  return {
    input: usage.input_tokens,
    output: usage.output_tokens,
    cacheRead: usage.cache_read_input_tokens ?? 0,
    cacheWrite: usage.cache_creation_input_tokens ?? 0,
    reasoning: 0,
  };
}

function malformed(detail: string): GatewayError {
  return new GatewayError("upstream_error", `The upstream returned a malformed message: ${detail}.`);
}

/** Canonical block for a known block type, null for one to skip, a throw for a malformed known one. */
function decodeBlock(block: { type: string }, path: string): ResultBlock | null {
  switch (block.type) {
    case "text":
      if (!TextBlockCheck.Check(block)) throw malformed(`${path} is not a valid text block`);
      return { type: "text", text: block.text };
    case "thinking":
      if (!ThinkingBlockCheck.Check(block)) throw malformed(`${path} is not a valid thinking block`);
      return block.signature === undefined
        ? { type: "thinking", text: block.thinking }
        : { type: "thinking", text: block.thinking, signature: block.signature };
    case "redacted_thinking":
      if (!RedactedThinkingBlockCheck.Check(block)) throw malformed(`${path} is not a valid redacted_thinking block`);
      return { type: "redacted-thinking", data: block.data };
    case "tool_use":
      if (!ToolUseBlockCheck.Check(block)) throw malformed(`${path} is not a valid tool_use block`);
      return { type: "tool-use", id: block.id, name: block.name, input: block.input ?? {} };
    default:
      // server_tool_use, web_search_tool_result, …: run upstream, no canonical counterpart.
      return null;
  }
}

export function decodeAnthropicUpstreamResponse(body: unknown): ChatResult {
  if (!MessageCheck.Check(body)) {
    const first = MessageCheck.Errors(body).First();
    throw malformed(first ? `${first.path || "body"} ${first.message}` : "not a Message object");
  }
  const blocks: ResultBlock[] = [];
  body.content.forEach((block, index) => {
    const decoded = decodeBlock(block, `content[${index}]`);
    if (decoded) blocks.push(decoded);
  });
  return {
    id: body.id,
    blocks,
    stopReason: mapAnthropicStopReason(body.stop_reason),
    stopSequence: body.stop_sequence ?? null,
    usage: decodeAnthropicUsage(body.usage),
  };
}
