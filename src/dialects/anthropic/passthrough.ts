/**
 * Anthropic → Anthropic-kind upstream, same dialect: the client's body goes through with the upstream
 * model and SPEC §2's max-tokens rules (max_tokens lowered to the profile's limit; a thinking budget at
 * or above it becomes max_tokens − 1, and below Anthropic's 1,024 minimum thinking is dropped).
 */

import type { PassthroughWire } from "../../gateway/codec.ts";

const MIN_THINKING_BUDGET = 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export const anthropicPassthrough: PassthroughWire = {
  prepareRequest(raw, options) {
    const body: Record<string, unknown> = { ...raw, model: options.upstreamModel };
    const dropped: string[] = [];
    const declared = typeof raw.max_tokens === "number" ? raw.max_tokens : options.maxTokensLimit;
    const maxTokens = Math.min(declared, options.maxTokensLimit);
    body.max_tokens = maxTokens;
    const thinking = raw.thinking;
    if (isRecord(thinking) && thinking.type === "enabled" && typeof thinking.budget_tokens === "number" && thinking.budget_tokens >= maxTokens) {
      const budget = maxTokens - 1;
      if (budget < MIN_THINKING_BUDGET) {
        delete body.thinking;
        dropped.push("thinking");
      } else {
        body.thinking = { ...thinking, budget_tokens: budget };
      }
    }
    return { body, dropped };
  },
  setModel(data, model) {
    if (typeof data.model === "string") data.model = model;
    const message = data.message;
    if (isRecord(message) && typeof message.model === "string") message.model = model;
  },
  isUsageEvent(event) {
    return event.event === "message_delta";
  },
  forwardUsageEvent() {
    return true;
  },
  // Never asked: message_delta always reaches the client.
  stripUsage() {
    return true;
  },
  isTerminal(event) {
    return event.event === "message_stop";
  },
};
