/**
 * ChatResult → OpenAI `chat.completion`. Thinking becomes `reasoning_content` (DeepSeek's field, read
 * by the clients that show reasoning); usage follows OpenAI's meaning (prompt_tokens include cached).
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */

import type { StopReason, ChatResult } from "../../canonical/result.ts";
import type { Usage } from "../../canonical/usage.ts";
import { randomToken } from "../../lib/ids.ts";
import type { EncodeMeta } from "../../gateway/summary.ts";
import type { OpenAIFinishReason, OpenAIUsage } from "./wire.ts";

const FINISH_REASON: Record<StopReason, OpenAIFinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export function mapStopReasonToOpenAI(reason: StopReason): OpenAIFinishReason {
  return FINISH_REASON[reason];
}

export function encodeOpenAIUsage(usage: Usage): OpenAIUsage {
  const prompt = usage.input + usage.cacheRead + usage.cacheWrite;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output,
    total_tokens: prompt + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cacheRead },
    completion_tokens_details: { reasoning_tokens: usage.reasoning },
  };
}

export function newChatCompletionId(): string {
  return `chatcmpl-${randomToken(29)}`;
}

export function encodeOpenAIResponse(result: ChatResult, meta: EncodeMeta): string {
  let text: string | null = null;
  let reasoning: string | null = null;
  const toolCalls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> = [];
  for (const block of result.blocks) {
    if (block.type === "text") text = (text ?? "") + block.text;
    else if (block.type === "thinking") reasoning = (reasoning ?? "") + block.text;
    else if (block.type === "tool-use") {
      const args = typeof block.input === "string" ? block.input : JSON.stringify(block.input);
      toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: args } });
    }
  }
  const message: Record<string, unknown> = { role: "assistant", content: text, refusal: null };
  if (reasoning !== null) message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return JSON.stringify({
    id: newChatCompletionId(),
    object: "chat.completion",
    created: meta.createdSec,
    model: meta.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: mapStopReasonToOpenAI(result.stopReason) }],
    usage: encodeOpenAIUsage(result.usage),
    system_fingerprint: null,
  });
}
