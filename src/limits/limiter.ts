/**
 * Per-workspace rate limits (SPEC §5, §6): requests/minute and tokens/minute buckets of the workspace's
 * tier; keys never add capacity.
 *
 * 1. peek     — the snapshot for headers once the workspace is known, drawing nothing.
 * 2. admit    — take 1 request and the token estimate (input + max output), or refuse with the wait.
 * 3. giveBack — a call refused by billing returns its tokens (the request still counts).
 * 4. settle   — the token charge is corrected to the actual usage.
 * Buckets live behind LimiterStore so a Redis store can replace the in-process one for several gateways.
 */

import type { Tier } from "../config/types.ts";
import { fullBucket, levelAt, msUntil, msUntilFull, refill, type BucketSpec, type BucketState } from "./token-bucket.ts";

const MINUTE_MS = 60_000;

export interface RateLimitSnapshot {
  limitRequests: number;
  limitTokens: number;
  remainingRequests: number;
  remainingTokens: number;
  resetRequestsMs: number;
  resetTokensMs: number;
}

export interface AdmitTicket {
  workspaceId: string;
  tokens: number;
  settled: boolean;
}

export type AdmitResult =
  | { ok: true; ticket: AdmitTicket; snapshot: RateLimitSnapshot }
  | { ok: false; retryAfterMs: number; snapshot: RateLimitSnapshot; limit: "requests" | "tokens" };

interface WorkspaceBuckets {
  requests: BucketState;
  tokens: BucketState;
  tier: Tier;
}

/** Where buckets live: this process's memory now, a shared store (Redis) later. */
export interface LimiterStore {
  get(workspaceId: string): WorkspaceBuckets | undefined;
  set(workspaceId: string, buckets: WorkspaceBuckets): void;
}

export class MemoryLimiterStore implements LimiterStore {
  private readonly buckets = new Map<string, WorkspaceBuckets>();
  get(workspaceId: string) {
    return this.buckets.get(workspaceId);
  }
  set(workspaceId: string, buckets: WorkspaceBuckets) {
    this.buckets.set(workspaceId, buckets);
  }
}

const requestSpec = (tier: Tier): BucketSpec => ({ capacity: tier.requestsPerMinute, refillMs: MINUTE_MS });
const tokenSpec = (tier: Tier): BucketSpec => ({ capacity: tier.tokensPerMinute, refillMs: MINUTE_MS });

export class RateLimiter {
  constructor(
    private readonly store: LimiterStore = new MemoryLimiterStore(),
    private readonly now: () => number = Date.now,
  ) {}

  /** The workspace's buckets at its current tier; a tier change keeps the levels, with the new capacities. */
  private buckets(workspaceId: string, tier: Tier, nowMs: number): WorkspaceBuckets {
    let buckets = this.store.get(workspaceId);
    if (!buckets) {
      buckets = { requests: fullBucket(requestSpec(tier), nowMs), tokens: fullBucket(tokenSpec(tier), nowMs), tier };
      this.store.set(workspaceId, buckets);
    } else if (buckets.tier !== tier) {
      // A higher tier adds its extra capacity at once (SPEC: applies from the next call).
      buckets.requests.level += Math.max(0, tier.requestsPerMinute - buckets.tier.requestsPerMinute);
      buckets.tokens.level += Math.max(0, tier.tokensPerMinute - buckets.tier.tokensPerMinute);
      buckets.tier = tier;
    }
    refill(buckets.requests, requestSpec(tier), nowMs);
    refill(buckets.tokens, tokenSpec(tier), nowMs);
    return buckets;
  }

  private snapshot(buckets: WorkspaceBuckets, nowMs: number): RateLimitSnapshot {
    const { tier } = buckets;
    return {
      limitRequests: tier.requestsPerMinute,
      limitTokens: tier.tokensPerMinute,
      remainingRequests: Math.max(0, Math.floor(levelAt(buckets.requests, requestSpec(tier), nowMs))),
      remainingTokens: Math.max(0, Math.floor(levelAt(buckets.tokens, tokenSpec(tier), nowMs))),
      resetRequestsMs: msUntilFull(buckets.requests, requestSpec(tier), nowMs),
      resetTokensMs: msUntilFull(buckets.tokens, tokenSpec(tier), nowMs),
    };
  }

  peek(workspaceId: string, tier: Tier): RateLimitSnapshot {
    const nowMs = this.now();
    return this.snapshot(this.buckets(workspaceId, tier, nowMs), nowMs);
  }

  admit(workspaceId: string, tier: Tier, estimatedTokens: number): AdmitResult {
    const nowMs = this.now();
    const buckets = this.buckets(workspaceId, tier, nowMs);
    // A call larger than the whole minute's budget is admitted on a full bucket, else it could never run.
    const tokens = Math.min(Math.max(0, estimatedTokens), tier.tokensPerMinute);
    const waitRequests = msUntil(buckets.requests, requestSpec(tier), 1, nowMs);
    const waitTokens = msUntil(buckets.tokens, tokenSpec(tier), tokens, nowMs);
    if (waitRequests > 0 || waitTokens > 0) {
      return {
        ok: false,
        retryAfterMs: Math.max(waitRequests, waitTokens),
        snapshot: this.snapshot(buckets, nowMs),
        limit: waitRequests >= waitTokens ? "requests" : "tokens",
      };
    }
    buckets.requests.level -= 1;
    buckets.tokens.level -= tokens;
    return { ok: true, ticket: { workspaceId, tokens, settled: false }, snapshot: this.snapshot(buckets, nowMs) };
  }

  /** Corrects the token charge to `actualTokens` (0 gives everything back); once per ticket. */
  settle(ticket: AdmitTicket, actualTokens: number): void {
    if (ticket.settled) return;
    ticket.settled = true;
    const buckets = this.store.get(ticket.workspaceId);
    if (!buckets) return;
    refill(buckets.tokens, tokenSpec(buckets.tier), this.now());
    buckets.tokens.level = Math.min(buckets.tier.tokensPerMinute, buckets.tokens.level + ticket.tokens - Math.max(0, actualTokens));
  }
}
