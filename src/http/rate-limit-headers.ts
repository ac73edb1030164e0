/**
 * The six x-ratelimit-* headers (SPEC §6) on every response once the workspace is known, errors and
 * streams included. Resets are durations the way OpenAI writes them ("20ms", "1.5s", "6m0s").
 */

import type { RequestContext } from "../gateway/context.ts";
import type { RateLimitSnapshot } from "../limits/limiter.ts";

/**
 * What each request knows of its workspace's rate limits (an inference call's context, whose snapshot
 * moves as the call is admitted and settled; another route's peek), for renderers that only see the Request.
 */
const contexts = new WeakMap<Request, { readonly rateLimit: RateLimitSnapshot | null }>();

export function rememberContext(request: Request, ctx: RequestContext): void {
  contexts.set(request, ctx);
}

/** A route that draws nothing from the buckets (management, models) shows them as they stand. */
export function rememberRateLimit(request: Request, snapshot: RateLimitSnapshot): void {
  contexts.set(request, { rateLimit: snapshot });
}

export function formatResetDuration(ms: number): string {
  if (ms <= 0) return "0s";
  // Rounded up to whole units before choosing the form: 999.2 ms reads "1s", 119.5 s "2m0s" (never "1m60s").
  const wholeMs = Math.ceil(ms);
  if (wholeMs < 1000) return `${wholeMs}ms`;
  if (wholeMs < 60_000) return `${wholeMs / 1000}s`;
  const seconds = Math.ceil(wholeMs / 1000);
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

export function rateLimitHeaders(snapshot: RateLimitSnapshot | null): Record<string, string> {
  if (!snapshot) return {};
  return {
    "x-ratelimit-limit-requests": String(snapshot.limitRequests),
    "x-ratelimit-limit-tokens": String(snapshot.limitTokens),
    "x-ratelimit-remaining-requests": String(snapshot.remainingRequests),
    "x-ratelimit-remaining-tokens": String(snapshot.remainingTokens),
    "x-ratelimit-reset-requests": formatResetDuration(snapshot.resetRequestsMs),
    "x-ratelimit-reset-tokens": formatResetDuration(snapshot.resetTokensMs),
  };
}

/** The headers for a request whose context is known (an error after authentication), else none. */
export function rateLimitHeadersFor(request: Request): Record<string, string> {
  return rateLimitHeaders(contexts.get(request)?.rateLimit ?? null);
}
