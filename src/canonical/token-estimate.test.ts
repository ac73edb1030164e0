import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { estimateAsciiTokens, estimateTextTokens } from "./token-estimate.ts";

/** The definition the scanner implements: one token per match of this pattern. */
function byPattern(text: string): number {
  return text.match(/[A-Za-z0-9]{1,4}|[^\sA-Za-z0-9]/g)?.length ?? 0;
}

describe("estimateTextTokens", () => {
  test("word-pieces of up to four letters or digits, punctuation and non-ASCII characters one each, whitespace none", () => {
    expect(estimateTextTokens("")).toBe(0);
    expect(estimateTextTokens("   \n\t")).toBe(0);
    expect(estimateTextTokens("fox")).toBe(1);
    expect(estimateTextTokens("jump")).toBe(1);
    expect(estimateTextTokens("jumps")).toBe(2);
    expect(estimateTextTokens("abcdefgh9")).toBe(3);
    expect(estimateTextTokens("the quick, brown fox!")).toBe(8);
    expect(estimateTextTokens("día")).toBe(3);
    expect(estimateTextTokens("a\u00a0b\u3000c\ufeffd")).toBe(4);
    expect(estimateTextTokens("😀")).toBe(2);
  });

  test("equals the pattern's match count on any text", () => {
    const characters = fc.constantFrom("a", "Z", "5", " ", "\n", "\t", "\u000b", ",", "-", "é", "\u00a0", "\u2009", "\u2028", "\u3000", "\ufeff", "语", "\ud83d", "\ude00", "_");
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(characters).map((chars) => chars.join("")), fc.string({ unit: "binary" })), (text) => {
        expect(estimateTextTokens(text)).toBe(byPattern(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe("estimateAsciiTokens", () => {
  test("equals estimateTextTokens of the same ASCII text, over any range of the bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((code) => String.fromCharCode(code)) }), fc.nat(), fc.nat(), (text, a, b) => {
        const bytes = new TextEncoder().encode(`<${text}>`);
        const start = a % bytes.length;
        const end = start + (b % (bytes.length - start + 1));
        expect(estimateAsciiTokens(bytes, start, end)).toBe(estimateTextTokens(`<${text}>`.slice(start, end)));
      }),
      { numRuns: 500 },
    );
  });
});
