import { describe, expect, test } from "bun:test";
import { formatUsd, usdToMicrocents } from "./money.ts";

describe("usdToMicrocents", () => {
  test.each([
    [0, 0n],
    [1, 100_000_000n],
    [0.6, 60_000_000n],
    [0.9, 90_000_000n],
    [0.001, 100_000n],
    [0.0001, 10_000n],
    [25, 2_500_000_000n],
    [0.1 + 0.2, null], // 0.30000000000000004 carries float noise below a microcent
    [1e-8, 1n],
    [1e-9, null],
    [1.5e21, 150_000_000_000_000_000_000_000_000_000n],
    [-0.5, -50_000_000n],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
  ])("%p USD → %p µ¢", (usd, expected) => {
    expect(usdToMicrocents(usd)).toBe(expected);
  });
});

describe("formatUsd", () => {
  test.each([
    [0, "$0.00"],
    [100_000_000, "$1.00"],
    [123_456_789, "$1.23456789"],
    [100_000, "$0.001"],
    [-50_000_000, "-$0.50"],
  ])("%p µ¢ → %s", (microcents, text) => {
    expect(formatUsd(microcents)).toBe(text);
  });
});
