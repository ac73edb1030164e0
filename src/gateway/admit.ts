/**
 * Admit stage: the workspace's rate limits (SPEC §5). One request and the call's token estimate (input +
 * max output) are taken from the workspace's buckets, at the tier its lifetime spend has reached; a full
 * bucket refuses with 429 rate_limited and the wait (Retry-After, retry-after-ms).
 */

import { GatewayError } from "../errors.ts";
import type { AdmitTicket, RateLimitSnapshot } from "../limits/limiter.ts";
import { tierForSpend } from "../limits/tiers.ts";
import type { RequestContext } from "./context.ts";
import type { GatewayServices } from "./services.ts";

export function currentTier(services: GatewayServices, workspaceId: string) {
  return tierForSpend(services.config.limits.tiers, services.spend.lifetimeSpent(workspaceId));
}

/** The workspace's buckets as they stand, drawing nothing. */
export function rateLimitPeek(services: GatewayServices, workspaceId: string): RateLimitSnapshot {
  return services.limiter.peek(workspaceId, currentTier(services, workspaceId));
}

/** The snapshot for headers of a call that draws nothing (errors before admission, free endpoints). */
export function peekRateLimit(services: GatewayServices, ctx: RequestContext): void {
  ctx.rateLimit = rateLimitPeek(services, ctx.principal.workspaceId);
}

export function admit(services: GatewayServices, ctx: RequestContext, estimatedTokens: number): AdmitTicket {
  const workspaceId = ctx.principal.workspaceId;
  const tier = currentTier(services, workspaceId);
  const result = services.limiter.admit(workspaceId, tier, estimatedTokens);
  ctx.rateLimit = result.snapshot;
  if (result.ok) return result.ticket;
  const what = result.limit === "requests" ? `${tier.requestsPerMinute} requests` : `${tier.tokensPerMinute} tokens`;
  throw new GatewayError("rate_limited", `Rate limit reached: this workspace's tier '${tier.name}' allows ${what} per minute. Retry after ${Math.ceil(result.retryAfterMs / 1000)} s.`, {
    retryAfterMs: result.retryAfterMs,
  });
}
