/** The fast lane for slotted events: the same events as the SSE decoder, wherever the reads split the body. */

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JsonStringSlot } from "../lib/json-string-slot.ts";
import { SseBatchReader } from "./batch-reader.ts";
import { SseDecoder, type SseEvent } from "./decode.ts";
import { readSlottedEvents, SlottedSseEvent } from "./slotted-events.ts";

type Chunk = { choices: { delta: { content: string } }[] };
const ENVELOPE = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-x" };
const chunkData = (content: string) => JSON.stringify({ ...ENVELOPE, choices: [{ index: 0, delta: { content }, finish_reason: null }] });

function learnedSlot(): JsonStringSlot {
  const raw = chunkData("Hello");
  const slot = JsonStringSlot.learn(
    raw,
    JSON.parse(raw),
    "Hello",
    {
      read: (document) => (document as Chunk).choices[0]?.delta.content,
      write: (document, value) => {
        const choice = (document as Chunk).choices[0];
        if (choice) choice.delta.content = value;
      },
    },
  );
  if (!slot) throw new Error("the slot was not learned");
  return slot;
}

const encode = (text: string) => new TextEncoder().encode(text);
const event = (data: string) => `data: ${data}\n\n`;

describe("readSlottedEvents", () => {
  test("reads the events of the slot's shape, with their text, literal and data, and stops at the first other one", () => {
    const slot = learnedSlot();
    // ASCII texts of every length up to past the short-text cases, then other shapes.
    const ascii = Array.from({ length: 10 }, (_, length) => "abcdefghij".slice(0, length));
    const texts = [...ascii, "one ", "café ☕ ", "é", 'say "hi"\n', "~", "\u007f"];
    const body = texts.map((text) => event(chunkData(text))).join("") + event("[DONE]");
    const out: SseEvent[] = [];
    const stop = readSlottedEvents(encode(body), slot, out);
    expect(new TextDecoder().decode(encode(body).subarray(stop))).toBe(event("[DONE]"));
    expect(out.every((item) => item instanceof SlottedSseEvent)).toBe(true);
    expect(out.map((item) => (item as SlottedSseEvent).text)).toEqual(texts);
    expect(out.map((item) => item.data)).toEqual(texts.map(chunkData));
    for (const item of out) expect(JSON.parse((item as SlottedSseEvent).literal)).toBe((item as SlottedSseEvent).text);
  });

  test("an event the read holds only part of is left to the SSE decoder", () => {
    const slot = learnedSlot();
    const whole = event(chunkData("a")) + event(chunkData("b"));
    for (const cut of [whole.length - 1, whole.length - 2, whole.length - 5]) {
      const out: SseEvent[] = [];
      expect(readSlottedEvents(encode(whole.slice(0, cut)), slot, out)).toBe(event(chunkData("a")).length);
      expect(out).toHaveLength(1);
    }
  });

  test("other shapes are not read: another envelope, a data line without its space, two data lines, a CRLF stream", () => {
    const slot = learnedSlot();
    for (const body of [
      event(chunkData("x").replace("gpt-x", "gpt-y")),
      `data:${chunkData("x")}\n\n`,
      `data: ${chunkData("x")}\ndata: more\n\n`,
      `data: ${chunkData("x")}\r\n\r\n`,
      `event: other\ndata: ${chunkData("x")}\n\n`,
    ]) {
      const out: SseEvent[] = [];
      expect(readSlottedEvents(encode(body), slot, out)).toBe(0);
      expect(out).toEqual([]);
    }
  });
});

/**
 * The body split at `cuts` (byte offsets), read to its end through the batch reader with `slot`'s lane:
 * each event as (event, data), and how many of them the lane read.
 */
async function readAll(body: Uint8Array, cuts: number[], slot: JsonStringSlot | null): Promise<{ all: Array<[string, string]>; lane: number }> {
  const points = [...new Set(cuts.map((cut) => cut % (body.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, body.length]) {
    if (point > from) pieces.push(body.subarray(from, point));
    from = Math.max(from, point);
  }
  let index = 0;
  let lane = 0;
  const reader = new SseBatchReader(
    { read: async () => (index < pieces.length ? { done: false, value: pieces[index++] } : { done: true }), cancel: async () => {} },
    (events) => {
      lane += events.filter((item) => item instanceof SlottedSseEvent).length;
      return events.map((item): [string, string] => [item.event, item.data]);
    },
    { slot: () => slot, lane: readSlottedEvents },
  );
  const all: Array<[string, string]> = [];
  for (let read = await reader.read(); !read.done; read = await reader.read()) all.push(...read.value);
  return { all, lane };
}

describe("SseBatchReader with the lane", () => {

  test("any split of a body gives the events the SSE decoder gives, lane or not", async () => {
    const slot = learnedSlot();
    const parts = [
      event(chunkData("")),
      ...["é", "two words ", "\u2028", "tab\there", "end"].map((text) => event(chunkData(text))),
      ": a comment\n\n",
      `event: ping\ndata: {}\n\n`,
      ...["a", "b"].map((text) => event(chunkData(text))),
      `data: ${chunkData("split")}\r\n\r\n`,
      event(chunkData("after")),
      event("[DONE]"),
    ];
    const body = encode(parts.join(""));
    const decoder = new SseDecoder();
    const expected = [...decoder.push(body), ...decoder.end()].map((item): [string, string] => [item.event, item.data]);
    // Unsplit (one read): the lane reads the six slotted events before the comment; the SSE decoder
    // takes the comment, the lane reads nothing at the ping, and the SSE decoder takes the rest of the read.
    const whole = await readAll(body, [], slot);
    expect(whole.all).toEqual(expected);
    expect(whole.lane).toBe(6);
    // A read cut inside the third event: the lane reads two; the next read starts with the SSE decoder
    // completing the third, then the lane reads the three after it.
    const insideThird = new TextEncoder().encode(parts.slice(0, 2).join("")).length + 10;
    const cut = await readAll(body, [insideThird], slot);
    expect(cut.all).toEqual(expected);
    expect(cut.lane).toBe(5);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: body.length }), { maxLength: 12 }), async (cuts) => {
        expect((await readAll(body, cuts, slot)).all).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe("the lane with a free member (OpenAI's obfuscation padding)", () => {
  type Padded = Chunk & { obfuscation?: string };
  const paddedData = (content: string, padding: string) => JSON.stringify({ ...ENVELOPE, choices: [{ index: 0, delta: { content }, finish_reason: null }], obfuscation: padding });
  function paddedSlot(): JsonStringSlot {
    const raw = paddedData("Hello", "9Jx3");
    const slot = JsonStringSlot.learn(
      raw,
      JSON.parse(raw),
      "Hello",
      {
        read: (document) => (document as Padded).choices[0]?.delta.content,
        write: (document, value) => {
          const choice = (document as Padded).choices[0];
          if (choice) choice.delta.content = value;
        },
      },
      {
        read: (document) => (document as Padded).obfuscation,
        write: (document, value) => {
          (document as Padded).obfuscation = value;
        },
      },
    );
    if (slot?.tail === null || !slot) throw new Error("the slot with a free member was not learned");
    return slot;
  }

  test("reads events whatever their padding, keeping it as written, and stops at padding it cannot read", () => {
    const slot = paddedSlot();
    const chunks: Array<[string, string]> = [["one ", "a"], ["café ☕ ", "Zq81LmN0pQx"], ['say "hi"', ""], ["", "p"], ["x", "k"]];
    const stopper = event(paddedData("y", 'with "quotes"'));
    const body = chunks.map(([text, padding]) => event(paddedData(text, padding))).join("") + stopper;
    const out: SseEvent[] = [];
    const stop = readSlottedEvents(encode(body), slot, out);
    expect(new TextDecoder().decode(encode(body).subarray(stop))).toBe(stopper);
    expect(out.map((item) => (item as SlottedSseEvent).text)).toEqual(chunks.map(([text]) => text));
    expect(out.map((item) => (item as SlottedSseEvent).free)).toEqual(chunks.map(([, padding]) => JSON.stringify(padding)));
    // The data is the upstream's own text, byte for byte: the padding included.
    expect(out.map((item) => item.data)).toEqual(chunks.map(([text, padding]) => paddedData(text, padding)));
  });

  test("any split of a padded body gives the events the SSE decoder gives", async () => {
    const slot = paddedSlot();
    const body = encode(
      [
        ...["a", "bb", "é", "tab\there", "end "].map((text, index) => event(paddedData(text, "xyz0123".slice(0, index + 1)))),
        event(paddedData("non-ASCII padding", "é")),
        event(paddedData("after", "q")),
        event("[DONE]"),
      ].join(""),
    );
    const decoder = new SseDecoder();
    const expected = [...decoder.push(body), ...decoder.end()].map((item): [string, string] => [item.event, item.data]);
    const whole = await readAll(body, [], slot);
    expect(whole.all).toEqual(expected);
    // Five through the lane, the non-ASCII padding through the SSE decoder, then the lane again.
    expect(whole.lane).toBe(6);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: body.length }), { maxLength: 12 }), async (cuts) => {
        expect((await readAll(body, cuts, slot)).all).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
