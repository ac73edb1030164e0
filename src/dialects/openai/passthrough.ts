/**
 * OpenAI → OpenAI-kind upstream, same dialect: the client's body goes through with the upstream model,
 * the max-tokens rules of SPEC §2 and `stream_options.include_usage` forced on (the gateway always asks
 * for usage; the usage chunk reaches the client only if it asked).
 */

import type { PassthroughWire } from "../../gateway/codec.ts";

const MAX_TOKEN_FIELDS = ["max_completion_tokens", "max_tokens"] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export const openAIPassthrough: PassthroughWire = {
  prepareRequest(raw, options) {
    const body: Record<string, unknown> = { ...raw, model: options.upstreamModel };
    let declared = false;
    for (const field of MAX_TOKEN_FIELDS) {
      const value = body[field];
      if (typeof value !== "number") continue;
      declared = true;
      if (value > options.maxTokensLimit) body[field] = options.maxTokensLimit;
    }
    if (!declared) body[options.defaultMaxTokensField] = options.maxTokensLimit;
    if (options.stream) body.stream_options = { ...(isRecord(raw.stream_options) ? raw.stream_options : {}), include_usage: true };
    return { body, dropped: [] };
  },
  setModel(data, model) {
    if (typeof data.model === "string") data.model = model;
  },
  // OpenAI sends usage in a chunk of its own (`choices: []`); some compatible servers put it on the
  // chunk that carries the finish reason, or on every chunk.
  isUsageEvent(_event, data) {
    return isRecord(data) && isRecord(data.usage);
  },
  forwardUsageEvent(meta) {
    return meta.includeUsage;
  },
  stripUsage(data) {
    delete data.usage;
    return Array.isArray(data.choices) && data.choices.length > 0;
  },
  isTerminal(_event, data) {
    return data === "[DONE]";
  },
};
