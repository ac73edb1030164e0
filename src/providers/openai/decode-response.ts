/**
 * An OpenAI-compatible `chat.completion` body → ChatResult, plus the pieces the stream decoder shares:
 * the usage reading (Tollgate's meaning: input excludes cached tokens) and the finish-reason table.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 * @see https://api-docs.deepseek.com/api/create-chat-completion (reasoning_content, prompt_cache_hit_tokens)
 */

import { Type, type Static, type TSchema } from "@sinclair/typebox";
import type { ResultBlock, StopReason, ChatResult } from "../../canonical/result.ts";
import type { Usage } from "../../canonical/usage.ts";
import { GatewayError } from "../../errors.ts";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

const Nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));
const Count = Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()]));

/** Usage as OpenAI sends it, with DeepSeek's cache fields; every field optional (compatible servers vary). */
export const OpenAIUpstreamUsageSchema = Type.Object({
  prompt_tokens: Count,
  completion_tokens: Count,
  prompt_tokens_details: Type.Optional(Type.Union([Type.Object({ cached_tokens: Count }), Type.Null()])),
  completion_tokens_details: Type.Optional(Type.Union([Type.Object({ reasoning_tokens: Count }), Type.Null()])),
  prompt_cache_hit_tokens: Count,
});
export type OpenAIUpstreamUsage = Static<typeof OpenAIUpstreamUsageSchema>;

/** Content is a string; a few servers (Mistral-style) send an array of parts, of which text counts. */
export const OpenAIUpstreamContentSchema = Type.Optional(
  Type.Union([
    Type.String(),
    Type.Null(),
    Type.Array(Type.Object({ type: Type.String(), text: Type.Optional(Type.Union([Type.String(), Type.Null()])) })),
  ]),
);
export type OpenAIUpstreamContent = Static<typeof OpenAIUpstreamContentSchema>;

const ToolCall = Type.Object({
  id: Type.String(),
  type: Nullable(Type.String()),
  function: Type.Object({ name: Type.String(), arguments: Nullable(Type.String()) }),
});

const Message = Type.Object({
  content: OpenAIUpstreamContentSchema,
  reasoning_content: Nullable(Type.String()),
  reasoning: Nullable(Type.String()),
  refusal: Nullable(Type.String()),
  tool_calls: Type.Optional(Type.Union([Type.Array(ToolCall), Type.Null()])),
});

const CompletionSchema = Type.Object({
  id: Type.Optional(Type.String()),
  choices: Type.Array(Type.Object({ message: Message, finish_reason: Nullable(Type.String()) }), { minItems: 1 }),
  usage: Type.Optional(Type.Union([OpenAIUpstreamUsageSchema, Type.Null()])),
});

const completionCheck = compileOnFirstUse(CompletionSchema);
const errorBodyCheck = compileOnFirstUse(Type.Object({ error: Type.Object({}) }));

const FINISH_REASON: Readonly<Record<string, StopReason>> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

/**
 * OpenAI finish_reason → StopReason. A missing reason, and reasons only some servers send (DeepSeek's
 * `insufficient_system_resource`, vLLM's `abort`), read as end_turn. OpenAI does not say whether a
 * stop sequence matched, so `stop` is always end_turn.
 */
export function mapOpenAIFinishReason(reason: string | null | undefined): StopReason {
  return (reason ? FINISH_REASON[reason] : undefined) ?? "end_turn";
}

/** Usage in Tollgate's meaning: input excludes cache reads; output (completion) includes reasoning. */
export function decodeOpenAIUpstreamUsage(usage: OpenAIUpstreamUsage | null | undefined): Usage {
  const prompt = usage?.prompt_tokens ?? 0;
  const cacheRead = usage?.prompt_tokens_details?.cached_tokens ?? usage?.prompt_cache_hit_tokens ?? 0;
  return {
    input: Math.max(prompt - cacheRead, 0),
    output: usage?.completion_tokens ?? 0,
    cacheRead,
    cacheWrite: 0,
    reasoning: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

export function decodeOpenAIContentText(content: OpenAIUpstreamContent | undefined): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => (part.type === "text" ? (part.text ?? "") : "")).join("");
}

/** Tool-call arguments → input; unparseable arguments are kept as the raw string so nothing is lost. */
export function parseOpenAIToolArguments(text: string | null | undefined): unknown {
  if (text === undefined || text === null || text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function decodeOpenAIUpstreamResponse(body: unknown): ChatResult {
  if (!completionCheck.Check(body)) {
    // Some compatible servers answer 200 with an error object (an upstream behind a router failed).
    if (errorBodyCheck.Check(body)) {
      throw new GatewayError("upstream_error", "The upstream answered with an error instead of a completion.", { retryable: true });
    }
    const first = completionCheck.Errors(body).First();
    const where = first ? ` (${first.path || "/"}: ${first.message})` : "";
    throw new GatewayError("upstream_error", `The upstream returned a malformed chat completion${where}.`, { retryable: false });
  }
  // Tollgate never asks for n > 1: the first choice is the answer.
  const choice = body.choices[0];
  if (!choice) throw new GatewayError("upstream_error", "The upstream returned no choices.", { retryable: false });
  const message = choice.message;
  const blocks: ResultBlock[] = [];
  const reasoning = message.reasoning_content || message.reasoning;
  if (reasoning) blocks.push({ type: "thinking", text: reasoning });
  const text = decodeOpenAIContentText(message.content);
  if (text !== "") blocks.push({ type: "text", text });
  if (message.refusal) blocks.push({ type: "text", text: message.refusal });
  for (const call of message.tool_calls ?? []) {
    blocks.push({ type: "tool-use", id: call.id, name: call.function.name, input: parseOpenAIToolArguments(call.function.arguments) });
  }
  return {
    id: body.id ?? "",
    blocks,
    stopReason: message.refusal ? "refusal" : mapOpenAIFinishReason(choice.finish_reason),
    stopSequence: null,
    usage: decodeOpenAIUpstreamUsage(body.usage),
  };
}
