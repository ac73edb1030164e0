import { describe, expect, test } from "bun:test";
import { costOfUsage, estimateMaxCost, type Price } from "./pricing.ts";

const sonnet: Price = {
  inputPerMtok: 60_000_000n,
  outputPerMtok: 90_000_000n,
  cacheReadPerMtok: 6_000_000n,
  cacheWritePerMtok: 75_000_000n,
};

describe("costOfUsage", () => {
  test("rounds up once per call, not per component", () => {
    // 1 input token = 60 µ¢, 1 output token = 90 µ¢, exactly.
    expect(costOfUsage({ input: 1, output: 1, cacheRead: 0, cacheWrite: 0, reasoning: 0 }, sonnet)).toBe(150n);
    // 1 cache-read token = 6 µ¢; 3 tokens of $0.000001/Mtok would be 0.3 µ¢ → 1 µ¢.
    const tiny: Price = { inputPerMtok: 100n, outputPerMtok: 100n, cacheReadPerMtok: 100n, cacheWritePerMtok: 100n };
    expect(costOfUsage({ input: 3000, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 }, tiny)).toBe(1n);
    expect(costOfUsage({ input: 3000, output: 3000, cacheRead: 3000, cacheWrite: 3000, reasoning: 0 }, tiny)).toBe(2n);
  });

  test("reasoning tokens are part of output and not billed twice", () => {
    const withReasoning = { input: 0, output: 1000, cacheRead: 0, cacheWrite: 0, reasoning: 800 };
    expect(costOfUsage(withReasoning, sonnet)).toBe(90_000n);
  });

  test("stays exact beyond 2^53", () => {
    const expensive: Price = { inputPerMtok: 7_500_000_000n, outputPerMtok: 7_500_000_000n, cacheReadPerMtok: 0n, cacheWritePerMtok: 0n };
    const usage = { input: 10_000_000_000, output: 1, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
    expect(costOfUsage(usage, expensive)).toBe(75_000_000_007_500n);
  });

  test("zero usage costs nothing", () => {
    expect(costOfUsage({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 }, sonnet)).toBe(0n);
  });
});

test("estimateMaxCost prices input plus the whole output allowance", () => {
  expect(estimateMaxCost(1000, 16_384, sonnet)).toBe(60_000n + 1_474_560n);
});
