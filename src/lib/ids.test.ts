import { describe, expect, test } from "bun:test";
import { newId, randomToken } from "./ids.ts";

describe("newId", () => {
  test("prefix, 10 time characters and 16 random ones, base36", () => {
    expect(newId("req")).toMatch(/^req_[0-9a-z]{10}[0-9a-z]{16}$/);
  });

  test("ids of a later millisecond sort after earlier ones", async () => {
    const first = newId("le");
    await Bun.sleep(2);
    expect([newId("le"), first].sort()).toEqual([first, expect.any(String)]);
  });

  test("20,000 ids, many random pools apart, are all distinct and use the whole alphabet", () => {
    const ids = Array.from({ length: 20_000 }, () => newId("req"));
    expect(new Set(ids).size).toBe(ids.length);
    const randomParts = new Set(ids.map((id) => id.slice(-16)));
    expect(randomParts.size).toBe(ids.length);
    expect(new Set(ids.flatMap((id) => [...id.slice(-16)])).size).toBe(36);
  });
});

describe("randomToken", () => {
  test("the length asked for, base62, distinct across pool refills", () => {
    const tokens = Array.from({ length: 5_000 }, () => randomToken(29));
    for (const token of tokens.slice(0, 50)) expect(token).toMatch(/^[A-Za-z0-9]{29}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(randomToken()).toHaveLength(24);
  });

  test("a length that is not a whole number up to the pool's size is refused, and the pool stays usable", () => {
    for (const length of [5000, -1, 2.5]) expect(() => randomToken(length)).toThrow(RangeError);
    expect(newId("req")).toMatch(/^req_[0-9a-z]{26}$/);
  });
});
