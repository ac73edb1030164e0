import { describe, expect, test } from "bun:test";
import { fullBucket, levelAt, msUntil, msUntilFull, refill } from "./token-bucket.ts";

const spec = { capacity: 60, refillMs: 60_000 };

describe("token bucket", () => {
  test("refills evenly and never above capacity", () => {
    const state = { level: 0, updatedAtMs: 0 };
    expect(levelAt(state, spec, 1_000)).toBe(1);
    expect(levelAt(state, spec, 30_000)).toBe(30);
    expect(levelAt(state, spec, 120_000)).toBe(60);
  });

  test("waits are exact, amounts above capacity wait for a full bucket", () => {
    const state = { level: 10, updatedAtMs: 0 };
    expect(msUntil(state, spec, 10, 0)).toBe(0);
    expect(msUntil(state, spec, 11, 0)).toBe(1_000);
    expect(msUntil(state, spec, 500, 0)).toBe(50_000);
    expect(msUntilFull(state, spec, 0)).toBe(50_000);
    expect(msUntilFull(fullBucket(spec, 0), spec, 0)).toBe(0);
  });

  test("a negative level (settlement above the estimate) refills from below zero", () => {
    const state = { level: -30, updatedAtMs: 0 };
    expect(msUntil(state, spec, 1, 0)).toBe(31_000);
    refill(state, spec, 30_000);
    expect(state.level).toBe(0);
    expect(state.updatedAtMs).toBe(30_000);
  });
});
