import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ChatRequest, ContentBlock } from "./request.ts";
import { estimateAsciiTokens, estimateRequestTokens, estimateTextTokens, IMAGE_TOKEN_ESTIMATE } from "./token-estimate.ts";

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

describe("estimateRequestTokens: media the text count cannot see", () => {
  const request = (content: ContentBlock[]): ChatRequest => ({ model: "m", system: [], messages: [{ role: "user", content }], maxTokens: null, stream: false, stopSequences: [], tools: [], includeUsage: false });
  const base = estimateRequestTokens(request([]));
  const pdf = (bytes: number) => ({ type: "document" as const, source: { kind: "base64" as const, mediaType: "application/pdf", data: "A".repeat(Math.ceil(bytes / 3) * 4) } });

  test("an image counts as the largest an upstream bills for one, wherever it sits (a tool result too)", () => {
    const image = { type: "image" as const, source: { kind: "base64" as const, mediaType: "image/png", data: "AAAA" } };
    expect(estimateRequestTokens(request([image])) - base).toBe(IMAGE_TOKEN_ESTIMATE);
    expect(estimateRequestTokens(request([{ type: "tool-result", toolUseId: "t", content: [image, image], isError: false }])) - base).toBe(2 * IMAGE_TOKEN_ESTIMATE);
  });

  test("a PDF by its size (a token for every 16 bytes, at least one page's worth); a text document by its text", () => {
    expect(estimateRequestTokens(request([pdf(3_000)])) - base).toBe(IMAGE_TOKEN_ESTIMATE);
    expect(estimateRequestTokens(request([pdf(1_599_984)])) - base).toBe(99_999);
    const text = { type: "document" as const, source: { kind: "text" as const, mediaType: "text/plain", data: "one two three" } };
    expect(estimateRequestTokens(request([text])) - base).toBe(estimateTextTokens("one two three"));
  });
});
