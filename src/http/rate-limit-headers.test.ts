import { describe, expect, test } from "bun:test";
import { formatResetDuration } from "./rate-limit-headers.ts";

describe("formatResetDuration (SPEC §6: durations like 1s, 6m0s)", () => {
  test.each([
    [0, "0s"],
    [-5, "0s"],
    [20, "20ms"],
    [999.2, "1s"],
    [59_999.5, "1m0s"],
    [1_234.5, "1.235s"],
    [1_000, "1s"],
    [1_500, "1.5s"],
    [59_999, "59.999s"],
    [60_000, "1m0s"],
    [60_001, "1m1s"],
    [119_000, "1m59s"],
    [119_500, "2m0s"],
    [119_999, "2m0s"],
    [360_000, "6m0s"],
    [3_599_500, "60m0s"],
  ])("%p ms reads %p", (ms, expected) => {
    expect(formatResetDuration(ms)).toBe(expected);
  });

  test("the seconds part of a minute-long reset is always below 60", () => {
    for (let ms = 60_000; ms <= 600_000; ms += 137) expect(formatResetDuration(ms)).toMatch(/^\d+m([0-9]|[1-5][0-9])s$/);
  });
});
