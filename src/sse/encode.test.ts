import { describe, expect, test } from "bun:test";
import { encodeSseEvent } from "./encode.ts";

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
