import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SseDecoder } from "./decode.ts";
import { encodeSseEvent, encodeSseEventLines, SseChunk } from "./encode.ts";

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

describe("SseChunk", () => {
  async function sent(pieces: Array<string | Uint8Array>): Promise<{ chunks: number; text: string }> {
    const chunk = new SseChunk();
    for (const piece of pieces) chunk.add(piece);
    let chunks = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        chunk.sendTo({ enqueue: (bytes: Uint8Array) => { chunks++; controller.enqueue(bytes); } } as ReadableStreamDefaultController<Uint8Array>);
        controller.close();
      },
    });
    return { chunks, text: await new Response(body).text() };
  }

  test("text and bytes go out in the order added: the text between bytes encoded once per stretch", async () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(await sent(["a", "b"])).toEqual({ chunks: 1, text: "ab" });
    expect(await sent([bytes("r1")])).toEqual({ chunks: 1, text: "r1" });
    expect(await sent(["a", "é", bytes("r1"), bytes(""), "b", "c", bytes("r2"), "d"])).toEqual({ chunks: 5, text: "aér1bcr2d" });
    const empty = new SseChunk();
    expect(empty.empty).toBe(true);
    empty.add(bytes(""));
    empty.add("");
    expect(empty.empty).toBe(true);
    empty.add(bytes("x"));
    expect(empty.empty).toBe(false);
  });
});
