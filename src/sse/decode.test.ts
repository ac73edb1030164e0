import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { GatewayError } from "../errors.ts";
import { SseDecoder, type SseEvent } from "./decode.ts";

const encoder = new TextEncoder();

function decodeAll(chunks: Uint8Array[]): SseEvent[] {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  for (const chunk of chunks) events.push(...decoder.push(chunk));
  events.push(...decoder.end());
  return events;
}

/** The spec's rules applied to a whole text at once: the reference the incremental decoder must match. */
function referenceDecode(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let event = "";
  let data: string[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // what follows the last line end is not a complete line
  for (const line of lines) {
    if (line === "") {
      if (data.length > 0) events.push({ event, data: data.join("\n") });
      data = [];
      event = "";
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  }
  return events;
}

const LINES = ["data: x", "data:y", "data:  two spaces", "data", "data:", "event: e", "event:", "event", ": note", ":", "id: 7", "", "", "data: é✓ 漢", "datum: no"];

describe("SseDecoder", () => {
  test.each([
    ["plain data", "data: {\"a\":1}\n\n", [{ event: "", data: "{\"a\":1}" }]],
    ["event name", "event: message_start\ndata: x\n\n", [{ event: "message_start", data: "x" }]],
    ["CRLF", "event: a\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n", [{ event: "a", data: "1" }, { event: "", data: "2" }]],
    ["CR only", "data: 1\r\rdata: 2\r\r", [{ event: "", data: "1" }, { event: "", data: "2" }]],
    ["comments and pings", ": keepalive\n\nevent: ping\ndata: {}\n\n", [{ event: "ping", data: "{}" }]],
    ["multi-line data", "data: a\ndata: b\n\n", [{ event: "", data: "a\nb" }]],
    ["no space after colon", "data:x\n\n", [{ event: "", data: "x" }]],
    ["unterminated last event is dropped", "data: 1\n\ndata: 2", [{ event: "", data: "1" }]],
    ["unknown fields ignored", "id: 7\nretry: 10\ndata: z\n\n", [{ event: "", data: "z" }]],
  ])("%s", (_name, wire, expected) => {
    expect(decodeAll([encoder.encode(wire)])).toEqual(expected);
  });

  test("splitting the bytes anywhere gives the same events (multi-byte characters included)", () => {
    const wire = encoder.encode(
      'event: content_block_delta\r\ndata: {"text":"héllo wörld ✓ 漢字"}\r\n\r\n: c\n\ndata: [DONE]\n\nevent: x\rdata: y\r\r',
    );
    const whole = decodeAll([wire]);
    expect(whole).toHaveLength(3);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 12 }), (cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let previous = 0;
        for (const cut of sorted) {
          chunks.push(wire.slice(previous, cut));
          previous = cut;
        }
        chunks.push(wire.slice(previous));
        expect(decodeAll(chunks)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  test("any mix of lines and line ends, split anywhere, decodes as the spec's rules on the whole text", () => {
    const line = fc.tuple(fc.constantFrom(...LINES), fc.constantFrom("\n", "\r", "\r\n"));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 10 }), (parts, cuts) => {
        const text = parts.map(([content, end]) => content + end).join("");
        const wire = encoder.encode(text);
        const chunks: Uint8Array[] = [];
        let previous = 0;
        for (const cut of [...new Set(cuts.map((value) => value % (wire.length + 1)))].sort((a, b) => a - b)) {
          chunks.push(wire.slice(previous, cut));
          previous = cut;
        }
        chunks.push(wire.slice(previous));
        expect(decodeAll(chunks)).toEqual(referenceDecode(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe("an upstream that never finishes an event", () => {
  const bytes = (text: string) => encoder.encode(text);

  test("a line past the limit, in one read or over many, is refused as an upstream error, not buffered on", () => {
    const whole = new SseDecoder(100);
    expect(() => whole.push(bytes(`data: ${"x".repeat(200)}`))).toThrow(/longer than 100 characters/);
    const piecewise = new SseDecoder(100);
    let thrown: unknown = null;
    for (let index = 0; index < 50 && thrown === null; index++) {
      try {
        piecewise.push(bytes(index === 0 ? "data: " : "xxxxxxxxxx"));
      } catch (error) {
        thrown = error;
      }
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).kind).toBe("upstream_error");
    // Not retried elsewhere: that upstream accepted the call and answered it.
    expect((thrown as GatewayError).retryable).toBe(false);
  });

  test("so is an event whose data lines never meet a blank line", () => {
    const decoder = new SseDecoder(100);
    expect(() => {
      for (let index = 0; index < 50; index++) decoder.push(bytes("data: 0123456789\n"));
    }).toThrow(GatewayError);
  });

  test("events up to the limit pass whole", () => {
    const decoder = new SseDecoder(100);
    const data = "y".repeat(94); // "data: " + 94 characters = a 100-character line
    expect(decoder.push(bytes(`data: ${data}`))).toEqual([]);
    expect(decoder.push(bytes("\n\n"))).toEqual([{ event: "", data }]);
  });
});
