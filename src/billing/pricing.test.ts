import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { usdToMicrocents } from "./money.ts";
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

describe("money properties (fast-check)", () => {
  const tokens = fc.bigInt({ min: 0n, max: 10_000_000_000n }).map(Number);
  const price = fc.bigInt({ min: 0n, max: 1_000_000_000_000n });
  const usage = fc.record({ input: tokens, output: tokens, cacheRead: tokens, cacheWrite: tokens, reasoning: fc.constant(0) });
  const prices = fc.record({ inputPerMtok: price, outputPerMtok: price, cacheReadPerMtok: price, cacheWritePerMtok: price });
  const total = (u: { input: number; output: number; cacheRead: number; cacheWrite: number }, p: Price) =>
    BigInt(u.input) * p.inputPerMtok + BigInt(u.output) * p.outputPerMtok + BigInt(u.cacheRead) * p.cacheReadPerMtok + BigInt(u.cacheWrite) * p.cacheWritePerMtok;

  test("cost is the exact ceiling of Σ tokens × price / 1e6, up to extreme values", () => {
    fc.assert(
      fc.property(usage, prices, (u, p) => {
        const cost = costOfUsage(u, p);
        const sum = total(u, p);
        if (sum === 0n) return cost === 0n;
        return cost * 1_000_000n >= sum && (cost - 1n) * 1_000_000n < sum;
      }),
      { numRuns: 2000 },
    );
  });

  test("agrees with plain arithmetic wherever doubles are exact", () => {
    const small = fc.integer({ min: 0, max: 1_000_000 });
    const smallPrice = fc.integer({ min: 0, max: 1_000_000 }).map(BigInt);
    fc.assert(
      fc.property(small, small, smallPrice, smallPrice, (input, output, inputPrice, outputPrice) => {
        const p: Price = { inputPerMtok: inputPrice, outputPerMtok: outputPrice, cacheReadPerMtok: 0n, cacheWritePerMtok: 0n };
        const expected = Math.ceil((input * Number(inputPrice) + output * Number(outputPrice)) / 1_000_000);
        return costOfUsage({ input, output, cacheRead: 0, cacheWrite: 0, reasoning: 0 }, p) === BigInt(expected);
      }),
      { numRuns: 2000 },
    );
  });

  test("rounding happens once per call: splitting a call never saves more than a microcent per part", () => {
    fc.assert(
      fc.property(usage, usage, prices, (a, b, p) => {
        const whole = costOfUsage({ input: a.input + b.input, output: a.output + b.output, cacheRead: a.cacheRead + b.cacheRead, cacheWrite: a.cacheWrite + b.cacheWrite, reasoning: 0 }, p);
        const parts = costOfUsage(a, p) + costOfUsage(b, p);
        return whole <= parts && parts <= whole + 1n;
      }),
      { numRuns: 1000 },
    );
  });

  test("every amount of whole microcents in config USD converts exactly", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 999_999_999_999_999n }), (microcents) => usdToMicrocents(Number(microcents) / 1e8) === microcents),
      { numRuns: 3000 },
    );
  });
});
