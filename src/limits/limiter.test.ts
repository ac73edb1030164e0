import { describe, expect, test } from "bun:test";
import type { Tier } from "../config/types.ts";
import { RateLimiter } from "./limiter.ts";

const starter: Tier = { name: "starter", minLifetimeSpendMicrocents: 0, requestsPerMinute: 3, tokensPerMinute: 1_000 };
const growth: Tier = { name: "growth", minLifetimeSpendMicrocents: 1, requestsPerMinute: 10, tokensPerMinute: 10_000 };

function limiterAt(start = 0) {
  let now = start;
  return { limiter: new RateLimiter(undefined, () => now), advance: (ms: number) => (now += ms) };
}

describe("RateLimiter", () => {
  test("requests per minute: the fourth call in a minute waits 20 s; remaining counts down", () => {
    const { limiter, advance } = limiterAt();
    const remaining: number[] = [];
    for (let index = 0; index < 3; index++) {
      const result = limiter.admit("ws", starter, 10);
      expect(result.ok).toBe(true);
      remaining.push(result.snapshot.remainingRequests);
    }
    expect(remaining).toEqual([2, 1, 0]);
    const refused = limiter.admit("ws", starter, 10);
    expect(refused).toMatchObject({ ok: false, limit: "requests", retryAfterMs: 20_000 });
    advance(20_000);
    expect(limiter.admit("ws", starter, 10).ok).toBe(true);
  });

  test("tokens per minute: estimates are taken at admission and corrected at settlement", () => {
    const { limiter } = limiterAt();
    const first = limiter.admit("ws", starter, 800);
    if (!first.ok) throw new Error("expected admission");
    expect(first.snapshot.remainingTokens).toBe(200);
    expect(limiter.admit("ws", starter, 300)).toMatchObject({ ok: false, limit: "tokens", retryAfterMs: 6_000 });
    limiter.settle(first.ticket, 100);
    expect(limiter.peek("ws", starter).remainingTokens).toBe(900);
    limiter.settle(first.ticket, 900);
    expect(limiter.peek("ws", starter).remainingTokens).toBe(900);
  });

  test("a refused call gives its tokens back but its request still counts", () => {
    const { limiter } = limiterAt();
    const admitted = limiter.admit("ws", starter, 500);
    if (!admitted.ok) throw new Error("expected admission");
    limiter.settle(admitted.ticket, 0);
    const snapshot = limiter.peek("ws", starter);
    expect(snapshot.remainingTokens).toBe(1_000);
    expect(snapshot.remainingRequests).toBe(2);
  });

  test("workspaces are independent; a higher tier applies from the next call", () => {
    const { limiter } = limiterAt();
    for (let index = 0; index < 3; index++) limiter.admit("a", starter, 1);
    expect(limiter.admit("a", starter, 1).ok).toBe(false);
    expect(limiter.admit("b", starter, 1).ok).toBe(true);
    const upgraded = limiter.admit("a", growth, 1);
    expect(upgraded.ok).toBe(true);
    expect(upgraded.snapshot.limitRequests).toBe(10);
    expect(upgraded.snapshot.remainingRequests).toBe(6);
  });

  test("a call larger than the minute's budget runs on a full bucket", () => {
    const { limiter } = limiterAt();
    expect(limiter.admit("ws", starter, 50_000).ok).toBe(true);
    expect(limiter.peek("ws", starter).remainingTokens).toBe(0);
  });
});
