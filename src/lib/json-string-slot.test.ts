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
  return typeof value === "string" ? JsonStringSlot.learn(raw, parsed, value, { read, write }) : null;
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

describe("JsonStringSlot with a free member (OpenAI's obfuscation padding)", () => {
  type Padded = Chunk & { obfuscation?: unknown };
  const free = {
    read: (document: unknown) => (document as Padded).obfuscation,
    write: (document: unknown, value: string) => {
      (document as Padded).obfuscation = value;
    },
  };
  const padded = (content: string, padding: string, after = "") =>
    `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${content}},"finish_reason":null}],"obfuscation":${padding}${after}}`;
  function learnPadded(raw: string): JsonStringSlot | null {
    const parsed: unknown = JSON.parse(raw);
    const value = read(parsed);
    return typeof value === "string" ? JsonStringSlot.learn(raw, parsed, value, { read, write }, free) : null;
  }

  test("leaves the padding free: chunks with other padding of any length match, and keep theirs", () => {
    const slot = learnPadded(padded('"Hello"', '"9Jx3"'));
    expect(slot?.suffix).toBe('},"finish_reason":null}],"obfuscation":');
    expect(slot?.tail).toBe("}");
    for (const [content, padding] of [['" world"', '"a"'], ['"!"', '"Zq81LmN0pQ"'], ['""', '""'], [String.raw`"say \"hi\""`, '"k"']] as const) {
      const raw = padded(content, padding);
      expect(slot?.match(raw)).toBe(read(JSON.parse(raw)) as string);
      expect(slot?.literalOf(raw)).toBe(content);
      expect(slot?.freeOf(raw)).toBe(padding);
    }
  });

  test("a tail after the padding is part of the template", () => {
    const slot = learnPadded(padded('"Hello"', '"xy"', ',"usage":null'));
    expect(slot?.tail).toBe(',"usage":null}');
    expect(slot?.match(padded('"a"', '"pqrs"', ',"usage":null'))).toBe("a");
    expect(slot?.match(padded('"a"', '"pqrs"', ',"usage":{"total_tokens":3}'))).toBeNull();
  });

  test.each([
    ["padding with an escape", padded('"a"', String.raw`"x\"y"`)],
    ["padding that is not a string", padded('"a"', "12")],
    ["padding with a control character", padded('"a"', '"x\ty"')],
    ["no padding member", '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}'],
    ["another envelope", padded('"a"', '"xy"').replace('"c1"', '"c2"')],
    ["two members where the text goes", padded('"a","refusal":"b"', '"xy"')],
  ])("refuses %s (the caller parses it)", (_name, raw) => {
    expect(learnPadded(padded('"Hello"', '"9Jx3"'))?.match(raw)).toBeNull();
  });

  test("learns without a free member when the padding cannot be placed, and then only that padding matches", () => {
    // The padding's literal occurs twice after the text: which one is the padding is unknown.
    const chunk = (content: string, padding: string) => `{"id":"c1","choices":[{"index":0,"delta":{"content":"${content}"},"logprobs":"pad"}],"obfuscation":"${padding}"}`;
    const slot = learnPadded(chunk("Hello", "pad"));
    expect(slot?.tail).toBeNull();
    expect(slot?.match(chunk("x", "pad"))).toBe("x");
    expect(slot?.match(chunk("x", "other"))).toBeNull();
  });

  test("a match is always what a full parse would read (random text, random padding)", () => {
    const slot = learnPadded(padded('"Hello"', '"9Jx3"'));
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary", maxLength: 12 }), fc.constantFrom("", " ", "\\", '"'), (text, padding, noise) => {
        const raw = padded(JSON.stringify(text), JSON.stringify(padding) + noise);
        let expected: string | null = null;
        try {
          const document = JSON.parse(raw) as Padded;
          expected = typeof read(document) === "string" && typeof document.obfuscation === "string" ? (read(document) as string) : null;
        } catch {
          expected = null;
        }
        const got = slot?.match(raw) ?? null;
        if (got !== null) {
          expect(got).toBe(expected as string);
          expect(slot?.freeOf(raw)).toBe(JSON.stringify(padding));
        }
        // Plain padding (no escapes) always matches; padding with a space after it never does.
        if (noise === "" && !/[\u0000-\u001f"\\]/.test(padding)) expect(got).toBe(text);
        if (noise === " ") expect(got).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
