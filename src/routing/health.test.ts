import { describe, expect, test } from "bun:test";
import { ChannelHealth } from "./health.ts";

function healthAt() {
  let now = 1_000_000;
  return { health: new ChannelHealth(() => now, undefined, 30_000), advance: (ms: number) => (now += ms) };
}

describe("circuit breaker", () => {
  test("closed → open after three consecutive transient failures; a success in between resets", () => {
    const { health } = healthAt();
    health.recordFailure("c");
    health.recordFailure("c");
    health.recordSuccess("c");
    health.recordFailure("c");
    health.recordFailure("c");
    expect(health.isAvailable("c")).toBe(true);
    health.recordFailure("c");
    expect(health.snapshot("c").state).toBe("open");
    expect(health.isAvailable("c")).toBe(false);
  });

  test("open → half-open after the cooldown: one probe; success closes", () => {
    const { health, advance } = healthAt();
    for (let index = 0; index < 3; index++) health.recordFailure("c");
    advance(29_999);
    expect(health.isAvailable("c")).toBe(false);
    advance(1);
    expect(health.isAvailable("c")).toBe(true);
    expect(health.snapshot("c").state).toBe("half-open");
    health.begin("c");
    expect(health.isAvailable("c")).toBe(false);
    health.recordSuccess("c");
    expect(health.snapshot("c").state).toBe("closed");
    expect(health.isAvailable("c")).toBe(true);
  });

  test("a failed probe re-opens the circuit for another cooldown", () => {
    const { health, advance } = healthAt();
    for (let index = 0; index < 3; index++) health.recordFailure("c");
    advance(30_000);
    expect(health.isAvailable("c")).toBe(true);
    health.begin("c");
    health.recordFailure("c");
    expect(health.snapshot("c").state).toBe("open");
    advance(29_000);
    expect(health.isAvailable("c")).toBe(false);
  });
});

describe("measurements", () => {
  test("time to first token and tokens per second are moving averages of real calls", () => {
    const { health } = healthAt();
    expect(health.snapshot("c").ttftMs).toBeNull();
    health.recordSuccess("c", { ttftMs: 100, outputTokens: 101, generationMs: 1000 });
    expect(health.snapshot("c")).toMatchObject({ ttftMs: 100, tokensPerSecond: 101, measuredCalls: 1 });
    health.recordSuccess("c", { ttftMs: 200, outputTokens: 51, generationMs: 1000 });
    expect(health.snapshot("c").ttftMs).toBeCloseTo(120, 6);
    expect(health.snapshot("c").tokensPerSecond).toBeCloseTo(91, 6);
    health.recordSuccess("c");
    expect(health.snapshot("c").measuredCalls).toBe(2);
  });
});
