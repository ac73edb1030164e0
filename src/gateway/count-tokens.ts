/**
 * count_tokens: forwarded to the model's first Anthropic channel, which counts exactly (with the
 * client's anthropic-version/-beta); otherwise counted by the gateway's tokenizer over every block type.
 * Free: nothing is held, billed or recorded.
 */

import type { ChatRequest } from "../canonical/request.ts";
import { countRequestTokens } from "../canonical/token-count.ts";
import type { RequestContext } from "./context.ts";
import { CallAbort } from "./abort.ts";
import { resolveProfile } from "./candidates.ts";
import type { GatewayServices } from "./services.ts";
import { messageOf } from "../lib/log.ts";

export async function countInputTokens(services: GatewayServices, ctx: RequestContext, request: ChatRequest): Promise<number> {
  const profile = resolveProfile(services, request);
  for (const channel of profile.channels) {
    const adapter = services.adapters.get(channel.provider.id);
    if (!adapter?.countTokens) continue;
    // request_timeout_ms bounds the upstream's count, its body included; then the tokenizer answers.
    const abort = new CallAbort(ctx.signal, services.config.routing.requestTimeoutMs);
    try {
      return await adapter.countTokens(request, {
        channel,
        apiKey: channel.provider.apiKey,
        maxTokens: profile.maxOutputTokens,
        signal: abort.signal,
        headersTimeoutMs: null,
        forwardHeaders: ctx.options.forwardHeaders,
      });
    } catch (error) {
      // The upstream's count is a nicety: the tokenizer still answers.
      services.log.warn("count_tokens upstream failed; counting locally", { provider: channel.provider.id, error: messageOf(abort.reason ?? error) });
      break;
    } finally {
      abort.dispose();
    }
  }
  return countRequestTokens(request);
}
