import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SseDecoder } from "./decode.ts";
import { encodeSseEvent, encodeSseEventLines } from "./encode.ts";

function roundTrip(text: string) {
  const decoder = new SseDecoder();
  return [...decoder.push(new TextEncoder().encode(text)), ...decoder.end()];
}

describe("encodeSseEvent", () => {
  test("data, with or without an event name", () => {
    expect(encodeSseEvent('{"a":1}')).toBe('data: {"a":1}\n\n');
    expect(encodeSseEvent('{"a":1}', "message_stop")).toBe('event: message_stop\ndata: {"a":1}\n\n');
  });

  test.each([
    ["a newline in the data", "a\nb", undefined],
    ["a carriage return in the data", "a\rb", undefined],
    ["a newline in the event name", "x", "a\nb"],
  ])("refuses %s", (_name, data, event) => {
    expect(() => encodeSseEvent(data, event)).toThrow();
  });
});

describe("encodeSseEventLines", () => {
  test("data an upstream sent over several lines goes out over as many, and decodes to the same data", () => {
    expect(encodeSseEventLines('{"a":\n1}', "e")).toBe('event: e\ndata: {"a":\ndata: 1}\n\n');
    fc.assert(
      fc.property(fc.array(fc.string().filter((line) => !/[\r\n]/.test(line)), { minLength: 1, maxLength: 4 }), fc.constantFrom(undefined, "x"), (lines, event) => {
        const data = lines.join("\n");
        expect(roundTrip(encodeSseEventLines(data, event))).toEqual([{ event: event ?? "", data }]);
      }),
    );
  });
});
