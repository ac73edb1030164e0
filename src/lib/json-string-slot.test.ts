import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JsonStringSlot } from "./json-string-slot.ts";

type Chunk = { id?: string; choices: { index: number; delta: { content?: unknown } }[] };

const read = (document: unknown) => (document as Chunk).choices[0]?.delta.content;
const write = (document: unknown, value: string) => {
  const choice = (document as Chunk).choices[0];
  if (choice) choice.delta.content = value;
};

const CHUNK = '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}';

function learn(raw: string): JsonStringSlot | null {
  const parsed: unknown = JSON.parse(raw);
  const value = read(parsed);
  return typeof value === "string" ? JsonStringSlot.learn(raw, parsed, value, read, write) : null;
}

function withContent(literal: string): string {
  return CHUNK.replace('"Hello"', literal);
}

describe("JsonStringSlot", () => {
  test("learns the envelope and reads the next chunk's plain text without parsing", () => {
    const slot = learn(CHUNK);
    expect(slot?.prefix).toBe('{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":');
    expect(slot?.suffix).toBe('},"finish_reason":null}]}');
    expect(slot?.match(withContent('" world"'))).toBe(" world");
    expect(slot?.match(withContent('""'))).toBe("");
  });

  test.each([
    ["an escaped newline", String.raw`"a\nb"`, "a\nb"],
    ["an escaped quote", String.raw`"say \"hi\""`, 'say "hi"'],
    ["a unicode escape", String.raw`"caf\u00e9"`, "café"],
    ["a backslash", String.raw`"a\\"`, "a\\"],
    ["non-ASCII text", '"漢字 ✓"', "漢字 ✓"],
  ])("reads a literal with %s exactly as JSON.parse does", (_name, literal, expected) => {
    const slot = learn(CHUNK);
    expect(slot?.match(withContent(literal))).toBe(expected);
    expect(read(JSON.parse(withContent(literal)))).toBe(expected);
  });

  test.each([
    ["another id", CHUNK.replace('"c1"', '"c2"').replace('"Hello"', '"x"')],
    ["a finish reason", CHUNK.replace('"Hello"', '"x"').replace('"finish_reason":null', '"finish_reason":"stop"')],
    ["extra whitespace", CHUNK.replace('"Hello"', ' "x"')],
    ["a null content", withContent("null")],
    ["a number", withContent("12")],
    ["two members in the slot", withContent('"a","refusal":"b"')],
    ["a raw control character", withContent('"a\tb"')],
    ["an unterminated literal", withContent('"a\\"')],
    ["a truncated document", withContent('"x"').slice(0, -1)],
    ["an empty document", ""],
  ])("refuses %s (the caller parses it)", (_name, raw) => {
    const slot = learn(CHUNK);
    expect(slot?.match(raw)).toBeNull();
  });

  test("does not learn when the literal is ambiguous or not the member's", () => {
    // The text occurs twice: which one is the slot is unknown.
    expect(learn('{"id":"Hello","choices":[{"index":0,"delta":{"content":"Hello"}}]}')).toBeNull();
    // The member is written with an escape JSON.stringify would not use: no literal to find.
    expect(learn(String.raw`{"choices":[{"index":0,"delta":{"content":"caf\u00e9"}}]}`)).toBeNull();
    // The same literal elsewhere, the member's own written differently: the probe lands on the wrong member.
    expect(learn(String.raw`{"note":"H\u0065llo","x":"Hello","choices":[{"index":0,"delta":{"content":"H\u0065llo"}}]}`)).toBeNull();
  });

  test("a match is always what a full parse would read (random literals, random envelopes)", () => {
    const slot = learn(CHUNK);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.constantFrom("", " ", "\\", '"', "\\u00", "\t"), (text, noise) => {
        const raw = withContent(JSON.stringify(text) + noise);
        let expected: unknown = null;
        try {
          const value = read(JSON.parse(raw));
          expected = typeof value === "string" ? value : null;
        } catch {
          expected = null;
        }
        const got = slot?.match(raw) ?? null;
        // A match never disagrees with the parse; a refusal is always allowed (the caller then parses).
        if (got !== null) expect(got).toBe(expected as string);
        // JSON.stringify's own literal always matches; one with a space after it never does.
        if (noise === "") expect(got).toBe(text);
        if (noise === " ") expect(got).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
