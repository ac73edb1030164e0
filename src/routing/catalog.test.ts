import { describe, expect, test } from "bun:test";
import type { ModelProfile } from "../config/types.ts";
import { Catalog } from "./catalog.ts";

function profile(id: string, aliases: string[]): ModelProfile {
  return {
    id,
    displayName: id,
    aliases,
    contextWindow: 1000,
    maxOutputTokens: 100,
    price: { inputPerMtok: 0n, outputPerMtok: 0n, cacheReadPerMtok: 0n, cacheWritePerMtok: 0n },
    capabilities: new Set(),
    channels: [],
  };
}

describe("Catalog.resolve", () => {
  const catalog = new Catalog([
    profile("sonnet", ["claude-sonnet-*", "gpt-4o*", "fixed-name"]),
    profile("sonnet-latest", ["claude-sonnet-4-*"]),
    profile("anything", ["*"]),
  ]);

  test("exact ids and literal aliases first, then the most specific glob, the catch-all last", () => {
    expect(catalog.resolve("sonnet")?.id).toBe("sonnet");
    expect(catalog.resolve("fixed-name")?.id).toBe("sonnet");
    expect(catalog.resolve("claude-sonnet-4-6")?.id).toBe("sonnet-latest");
    expect(catalog.resolve("claude-sonnet-3")?.id).toBe("sonnet");
    expect(catalog.resolve("gpt-4o-mini")?.id).toBe("sonnet");
    expect(catalog.resolve("mistral")?.id).toBe("anything");
  });

  test("a glob's literal parts are literal (regex characters escaped); '*' spans any characters, line terminators included", () => {
    const strict = new Catalog([profile("dotted", ["a.b*"])]);
    expect(strict.resolve("a.bc")?.id).toBe("dotted");
    expect(strict.resolve("axbc")).toBeNull();
    expect(strict.resolve("a.b\u2028x")?.id).toBe("dotted");
    expect(strict.resolve("a.b\nx")?.id).toBe("dotted");
    expect(new Catalog([profile("any", ["*"])]).resolve("line\u2029break")?.id).toBe("any");
  });
});
