/** The translation's lane: runs of literals that stand for exactly the texts the per-event lane reads. */

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { estimateTextTokens } from "../canonical/token-estimate.ts";
import { JsonStringSlot } from "../lib/json-string-slot.ts";
import { OPENAI_CHUNK_CONTENT, OPENAI_CHUNK_OBFUSCATION } from "../providers/openai/decode-events.ts";
import type { SseEvent } from "./decode.ts";
import { readSlottedEvents, SlottedSseEvent } from "./slotted-events.ts";
import { splicedBytes } from "./encode.ts";
import { readSlottedRun, SlottedRun } from "./slotted-run.ts";

const ENVELOPE = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-x" };
const chunkData = (content: string, padding?: string) =>
  JSON.stringify({ ...ENVELOPE, choices: [{ index: 0, delta: { content }, finish_reason: null }], ...(padding === undefined ? {} : { obfuscation: padding }) });
const event = (data: string) => `data: ${data}\n\n`;
const encode = (text: string) => new TextEncoder().encode(text);

function slotFor(padded: boolean): JsonStringSlot {
  const raw = chunkData("Hello", padded ? "Zq8" : undefined);
  const slot = JsonStringSlot.learn(raw, JSON.parse(raw), "Hello", OPENAI_CHUNK_CONTENT, OPENAI_CHUNK_OBFUSCATION);
  if (!slot || (padded && slot.tail === null)) throw new Error("the slot was not learned");
  return slot;
}

function runOf(items: (SseEvent | SlottedRun)[]): SlottedRun {
  expect(items).toHaveLength(1);
  const run = items[0];
  if (!(run instanceof SlottedRun)) throw new Error("no run");
  return run;
}

/** A literal's bytes as a string (they must be one JSON string literal). */
function literalAt(run: SlottedRun, index: number): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(run.bytes.subarray(run.spans[2 * index], run.spans[2 * index + 1]));
}

describe("readSlottedRun", () => {
  test("stops where the per-event lane stops, and holds the texts it reads (empty ones left out), their literals and token estimates", () => {
    const texts = fc.oneof(
      fc.string(),
      fc.string({ unit: "grapheme" }),
      fc.constantFrom("", "one ", "café ☕ ", 'say "hi"\n', "tab\there", "\u2028", "back\\slash", "~", "\u007f", "😀"),
    );
    fc.assert(
      fc.property(fc.array(texts, { minLength: 1, maxLength: 30 }), fc.boolean(), (contents, padded) => {
        const slot = slotFor(padded);
        const stopper = event("[DONE]");
        const body = encode(contents.map((text, index) => event(chunkData(text, padded ? "xyz0123".slice(0, 1 + (index % 7)) : undefined))).join("") + stopper);
        const events: SseEvent[] = [];
        const eventsStop = readSlottedEvents(body, slot, events);
        const items: (SseEvent | SlottedRun)[] = [];
        expect(readSlottedRun(body, slot, items)).toBe(eventsStop);
        expect(eventsStop).toBe(body.length - stopper.length);
        const expected = events.map((item) => (item as SlottedSseEvent).text).filter((text) => text !== "");
        const run = runOf(items);
        // Every event, the empty ones included: each one's data is the event's own.
        expect(run.eventCount).toBe(events.length);
        for (let index = 0; index < run.eventCount; index++) expect(run.dataOf(index)).toBe(events[index]?.data as string);
        expect(run.count).toBe(expected.length);
        expect(run.texts()).toEqual(expected);
        for (let index = 0; index < run.count; index++) expect(JSON.parse(literalAt(run, index))).toBe(expected[index] as string);
        let literalBytes = 0;
        for (let index = 0; index < run.count; index++) literalBytes += (run.spans[2 * index + 1] as number) - (run.spans[2 * index] as number);
        expect(run.literalBytes).toBe(literalBytes);
        expect(run.tokens).toBe(expected.reduce((sum, text) => sum + estimateTextTokens(text), 0));
        expect(run.slot).toBe(slot);
      }),
      { numRuns: 300 },
    );
  });

  test("a literal of malformed UTF-8 ends the run before it (the SSE decoder takes it, with replacement characters)", () => {
    const slot = slotFor(false);
    const good = encode(event(chunkData("fine ")));
    const [before, after] = event(chunkData("bad:X")).split("X") as [string, string];
    const bad = new Uint8Array([...encode(before), 0xc3, 0x28, ...encode(after)]);
    const body = new Uint8Array([...good, ...bad, ...good]);
    const items: (SseEvent | SlottedRun)[] = [];
    expect(readSlottedRun(body, slot, items)).toBe(good.length);
    expect(runOf(items).texts()).toEqual(["fine "]);
    // The per-event lane reads it (decoding replaces the bad byte): the run is stricter because it copies bytes.
    const events: SseEvent[] = [];
    expect(readSlottedEvents(body, slot, events)).toBe(body.length);
  });

  test("an invalid escape ends the run before it; a read that starts with one gives no run", () => {
    const slot = slotFor(false);
    const invalid = event(chunkData("x").replace('"x"', '"\\q"'));
    const items: (SseEvent | SlottedRun)[] = [];
    expect(readSlottedRun(encode(event(chunkData("a")) + invalid), slot, items)).toBe(event(chunkData("a")).length);
    expect(runOf(items).texts()).toEqual(["a"]);
    const none: (SseEvent | SlottedRun)[] = [];
    expect(readSlottedRun(encode(invalid), slot, none)).toBe(0);
    expect(none).toEqual([]);
  });
});

describe("a slot learned from data sent over several data: lines", () => {
  // Valid SSE: the data lines join with \n, and the JSON still parses; the slot's prefix holds that \n.
  const multiLine = (data: string) => `data: ${data.replace('"choices":', '\ndata: "choices":')}\n\n`;
  // Not the same event: the second line lacks its field name, so an SSE parser reads `{…,` as the data.
  const bareContinuation = (data: string) => `data: ${data.replace('"choices":', '\n"choices":')}\n\n`;
  const learned = (): JsonStringSlot => {
    const joined = chunkData("Hi").replace('"choices":', '\n"choices":');
    const slot = JsonStringSlot.learn(joined, JSON.parse(joined), "Hi", OPENAI_CHUNK_CONTENT, OPENAI_CHUNK_OBFUSCATION);
    if (!slot?.prefix.includes("\n")) throw new Error("the slot was not learned with its line break");
    return slot;
  };

  test("is not read from bytes: the lane takes no event, the SSE decoder gets them all", () => {
    const slot = learned();
    for (const body of [multiLine(chunkData("again")), bareContinuation(chunkData("SMUGGLED")), event(chunkData("plain"))]) {
      const events: SseEvent[] = [];
      expect(readSlottedEvents(encode(body), slot, events)).toBe(0);
      expect(events).toHaveLength(0);
      const items: (SseEvent | SlottedRun)[] = [];
      expect(readSlottedRun(encode(body), slot, items)).toBe(0);
      expect(items).toHaveLength(0);
    }
  });

  test("still matches decoded data (the per-event path): the joined lines, not the line cut short", () => {
    const slot = learned();
    expect(slot.match(chunkData("again").replace('"choices":', '\n"choices":'))).toBe("again");
    expect(slot.match(`${chunkData("SMUGGLED").split('"choices":')[0]}`)).toBeNull();
  });
});

describe("SlottedRun.forwardInPlace", () => {
  const HEAD = encode(`data: ${chunkData("Hello").slice(0, chunkData("Hello").indexOf('"Hello"'))}`);
  /** The events' head with the model id replaced by `model` (the relay's rewritten head). */
  const headFor = (model: string) => encode(new TextDecoder().decode(HEAD).replace('"gpt-x"', JSON.stringify(model)));

  /** A read: a first event of another shape, then a run of `texts`, then a stopper, all in one buffer. */
  function read(texts: string[]): { body: Uint8Array; run: SlottedRun; runStart: number } {
    const before = event('{"other":true}');
    const body = encode(before + texts.map((text) => event(chunkData(text))).join("") + event("[DONE]"));
    const items: (SseEvent | SlottedRun)[] = [];
    const runStart = encode(before).length;
    readSlottedRun(body.subarray(runStart), slotFor(false), items);
    return { body, run: runOf(items), runStart };
  }

  /** What the copying path writes: each event's bytes from its literal on, behind `head`. */
  function copied(texts: string[], head: Uint8Array): string {
    const { run } = read(texts);
    const { spans, spanBytes } = run.fromLiterals();
    return new TextDecoder().decode(splicedBytes(head, new Uint8Array(0), run.bytes, spans, run.eventCount, spanBytes));
  }

  const TEXTS = ["Hello", "", " wörld", 'a "quote"', "\n", "end"];

  test("a shorter or same-length head: the copying path's bytes, written over the read from the run's start, the rest of the read untouched", () => {
    // Shorter ids, and one of the same length (only the heads are rewritten, nothing moves).
    for (const model of ["m", "gpt-", "", "abcde"]) {
      const head = headFor(model);
      const { body, run, runStart } = read(TEXTS);
      const tailBefore = body.slice(body.length - event("[DONE]").length);
      const out = run.forwardInPlace(head);
      if (out === null) throw new Error("refused a shorter head");
      expect(new TextDecoder().decode(out)).toBe(copied(TEXTS, head));
      // A view of the read itself, from the run's first event.
      expect(out.buffer).toBe(body.buffer);
      expect(out.byteOffset).toBe(body.byteOffset + runStart);
      expect(new TextDecoder().decode(body.subarray(0, runStart))).toBe(event('{"other":true}'));
      expect(body.slice(body.length - tailBefore.length)).toEqual(tailBefore);
    }
  });

  test("any texts and any head no longer than the upstream's: the copying path's bytes", () => {
    const texts = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("", "café ☕", 'say "hi"\n', "\u2028", "😀"));
    fc.assert(
      fc.property(fc.array(texts, { minLength: 1, maxLength: 20 }), fc.string({ unit: "grapheme-ascii", maxLength: 5 }), (contents, model) => {
        const head = headFor(model);
        fc.pre(head.length <= HEAD.length);
        const { run } = read(contents);
        const out = run.forwardInPlace(head);
        expect(out).not.toBeNull();
        expect(new TextDecoder().decode(out ?? new Uint8Array(0))).toBe(copied(contents, head));
      }),
      { numRuns: 200 },
    );
  });

  test("the upstream's own head: the run's bytes as they are, nothing moved", () => {
    const { body, run, runStart } = read(TEXTS);
    const before = body.slice();
    const out = run.forwardInPlace(HEAD);
    expect(out?.byteOffset).toBe(body.byteOffset + runStart);
    expect(new TextDecoder().decode(out ?? new Uint8Array(0))).toBe(TEXTS.map((text) => event(chunkData(text))).join(""));
    expect(body).toEqual(before);
  });

  test("a longer head is refused and the run stays readable; a run forwarded in place is spent", () => {
    const { run } = read(TEXTS);
    expect(run.forwardInPlace(headFor("a-client-model-longer-than-gpt-x"))).toBeNull();
    expect(run.texts()).toEqual(TEXTS.filter((text) => text !== ""));
    expect(run.forwardInPlace(headFor("m"))).not.toBeNull();
    expect(() => run.texts()).toThrow(/written over in place/);
    expect(() => run.dataOf(0)).toThrow(/written over in place/);
    expect(() => run.fromLiterals()).toThrow(/written over in place/);
    expect(() => run.forwardInPlace(HEAD)).toThrow(/written over in place/);
  });
});

describe("SlottedRun.textsInPlace", () => {
  /** A read of a run of `texts` (OpenAI chunks) between two events of other shapes. */
  function read(texts: string[]): { body: Uint8Array; run: SlottedRun; runStart: number; runEnd: number } {
    const before = event('{"other":true}');
    const chunks = texts.map((text) => event(chunkData(text))).join("");
    const body = encode(before + chunks + event("[DONE]"));
    const runStart = encode(before).length;
    const items: (SseEvent | SlottedRun)[] = [];
    readSlottedRun(body.subarray(runStart), slotFor(false), items);
    return { body, run: runOf(items), runStart, runEnd: runStart + encode(chunks).length };
  }
  /** What the copying path writes for the same run. */
  const copied = (texts: string[], head: Uint8Array, tail: Uint8Array) => {
    const { run } = read(texts);
    return new TextDecoder().decode(splicedBytes(head, tail, run.bytes, run.spans, run.count, run.literalBytes));
  };
  // An Anthropic client's text delta around the literal: shorter than an OpenAI chunk's envelope.
  const ANTHROPIC_HEAD = encode('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":');
  const ANTHROPIC_TAIL = encode("}}\n\n");

  test("any texts: the copying path's bytes, from the run's start in the read, the bytes after the run untouched", () => {
    const texts = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("", "café ☕", 'say "hi"\n', "\u2028", "😀"));
    fc.assert(
      fc.property(fc.array(texts, { minLength: 1, maxLength: 20 }), fc.nat({ max: 20 }), (contents, cut) => {
        fc.pre(contents.some((text) => text !== ""));
        // The Anthropic envelope, and shorter heads and tails down to none.
        const head = ANTHROPIC_HEAD.subarray(0, Math.max(0, ANTHROPIC_HEAD.length - cut * 5));
        const tail = ANTHROPIC_TAIL.subarray(0, Math.max(0, ANTHROPIC_TAIL.length - (cut % 5)));
        const { body, run, runStart, runEnd } = read(contents);
        const after = body.slice(runEnd);
        const out = run.textsInPlace(head, tail);
        expect(out).not.toBeNull();
        expect(out?.byteOffset).toBe(body.byteOffset + runStart);
        expect(new TextDecoder().decode(out ?? new Uint8Array(0))).toBe(copied(contents, head, tail));
        expect(body.slice(runEnd)).toEqual(after);
      }),
      { numRuns: 200 },
    );
  });

  test("refused, the run still readable, when the head is longer than the upstream's or an event has no room for head and tail", () => {
    const texts = ["Hello", " there"];
    const { run } = read(texts);
    const upstreamHead = encode(`data: ${chunkData("Hello").slice(0, chunkData("Hello").indexOf('"Hello"'))}`).length;
    expect(run.textsInPlace(new Uint8Array(upstreamHead + 1), new Uint8Array(0))).toBeNull();
    // Within the head's length, but the tail leaves no room in the event.
    expect(run.textsInPlace(new Uint8Array(upstreamHead), new Uint8Array(200))).toBeNull();
    expect(run.texts()).toEqual(texts);
    expect(run.textsInPlace(ANTHROPIC_HEAD, ANTHROPIC_TAIL)).not.toBeNull();
    expect(() => run.texts()).toThrow(/written over in place/);
  });
});
