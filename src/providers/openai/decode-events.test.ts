/**
 * The OpenAI SSE-level decoder with its content-chunk shortcut: whatever the stream, it must give exactly
 * the events of parsing every chunk (the reference below), and take the shortcut where it can.
 */

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import type { ChatEvent } from "../../canonical/events.ts";
import { SseDecoder, type SseEvent } from "../../sse/decode.ts";
import { parseSseData, upstreamEventReader } from "../sse-events.ts";
import { asTextDeltas } from "../../../test/harness/events.ts";
import { OpenAIEventDecoder } from "./decode-events.ts";
import { createOpenAIUpstreamStreamDecoder } from "./decode-stream.ts";

/** Every chunk parsed and pushed: the behaviour the shortcut must not change. */
function reference(events: SseEvent[]): ChatEvent[] {
  const decoder = createOpenAIUpstreamStreamDecoder();
  const out: ChatEvent[] = [];
  let ended = false;
  for (const event of events) {
    const data = parseSseData(event.data);
    if (data === "[DONE]") {
      if (!ended) out.push(...decoder.end());
      ended = true;
    } else if (!ended) {
      out.push(...decoder.push(data));
    }
  }
  if (!ended) out.push(...decoder.end());
  return out;
}

function decode(events: SseEvent[]): { events: ChatEvent[]; shortcuts: number } {
  const decoder = new OpenAIEventDecoder();
  const out: ChatEvent[] = [];
  let shortcuts = 0;
  for (const event of events) {
    decoder.push(event, out);
    if (decoder.lastSlot !== null) {
      shortcuts++;
      expect(decoder.lastData).toBeUndefined();
    }
  }
  decoder.end(out);
  return { events: withoutLiterals(out), shortcuts };
}

/**
 * The events without the text literals the shortcut attaches (the reference parses, so it has none);
 * each literal is checked on the way: it is one JSON string literal whose value is the text.
 */
function withoutLiterals(events: ChatEvent[]): ChatEvent[] {
  return events.map((event) => {
    if (event.type !== "block-delta" || event.delta.type !== "text" || event.delta.literal === undefined) return event;
    const { literal, ...delta } = event.delta;
    expect(JSON.parse(literal)).toBe(delta.text);
    expect(literal.startsWith('"') && literal.endsWith('"')).toBe(true);
    return { ...event, delta };
  });
}

function sse(text: string): SseEvent[] {
  const decoder = new SseDecoder();
  return [...decoder.push(new TextEncoder().encode(text)), ...decoder.end()];
}

const ENVELOPE = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-x", system_fingerprint: "fp_1" };
const chunk = (delta: unknown, extra: Record<string, unknown> = {}, finish: string | null = null) =>
  ({ data: JSON.stringify({ ...ENVELOPE, ...extra, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }), event: "" }) satisfies SseEvent;
const raw = (data: string): SseEvent => ({ event: "", data });
const usage = raw(JSON.stringify({ ...ENVELOPE, choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }));
const DONE = raw("[DONE]");

describe("OpenAIEventDecoder", () => {
  test("plain content chunks after the first are read through the slot, with the same events", () => {
    const stream = [chunk({ role: "assistant", content: "" }), ...["Hel", "lo", " wor", "ld"].map((text) => chunk({ content: text })), chunk({}, {}, "stop"), usage, DONE];
    const { events, shortcuts } = decode(stream);
    expect(events).toEqual(reference(stream));
    expect(shortcuts).toBe(3);
  });

  test("escapes, unicode and empty texts go through the slot too", () => {
    const texts = ["a", 'say "hi"', "line\nbreak", "tab\there", "café ✓ 漢字", "\\", "", "\u2028", "😀"];
    const stream = [chunk({ role: "assistant", content: "" }), ...texts.map((text) => chunk({ content: text })), chunk({}, {}, "stop"), DONE];
    const { events, shortcuts } = decode(stream);
    expect(events).toEqual(reference(stream));
    expect(shortcuts).toBe(texts.length - 1);
  });

  test.each([
    ["another id mid-stream", chunk({ content: "x" }, { id: "chatcmpl-2" })],
    ["an extra member (OpenAI's obfuscation)", chunk({ content: "x" }, { obfuscation: "a1b2" })],
    ["a null content", chunk({ content: null })],
    ["reasoning", chunk({ reasoning_content: "hmm" })],
    ["content with a finish reason", chunk({ content: "end" }, {}, "stop")],
    ["a refusal", chunk({ content: "", refusal: "no" })],
    ["a tool call", chunk({ content: "", tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "{}" } }] })],
    ["an error chunk", raw(JSON.stringify({ error: { message: "overloaded", code: "server_error" } }))],
    ["malformed JSON", raw(chunk({ content: "x" }).data.slice(0, -1))],
    ["usage on a content chunk", raw(JSON.stringify({ ...ENVELOPE, choices: [{ index: 0, delta: { content: "x" }, finish_reason: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }))],
  ])("a chunk that differs from the learned one (%s) is parsed, and decodes as it would", (_name, odd) => {
    const stream = [chunk({ role: "assistant", content: "" }), chunk({ content: "a" }), chunk({ content: "b" }), odd, chunk({ content: "c" }), chunk({}, {}, "stop"), DONE];
    const decoder = new OpenAIEventDecoder();
    const out: ChatEvent[] = [];
    for (const event of stream.slice(0, 3)) decoder.push(event, out);
    expect(decoder.lastSlot).not.toBeNull();
    decoder.push(odd, out);
    expect(decoder.lastSlot).toBeNull();
    expect(decode(stream).events).toEqual(reference(stream));
  });

  test("OpenAI's obfuscation padding, different in every chunk, is left free: the chunks still go through the slot", () => {
    const texts = ["Hel", "lo", ' "wor', "ld", "✓"];
    // As api.openai.com writes it: the padding is the chunk's last member.
    const padded = (delta: unknown, index: number, finish: string | null = null): SseEvent =>
      raw(JSON.stringify({ ...ENVELOPE, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], obfuscation: "Zq81LmN0pQ".slice(0, (index * 3) % 11) }));
    const stream = [padded({ role: "assistant", content: "" }, 0), ...texts.map((text, index) => padded({ content: text }, index + 1)), padded({}, 9, "stop"), usage, DONE];
    const { events, shortcuts } = decode(stream);
    expect(events).toEqual(reference(stream));
    expect(shortcuts).toBe(texts.length - 1);
  });

  test("any padding decodes exactly as parsing each chunk", () => {
    const item = fc
      .tuple(fc.string({ unit: "binary", maxLength: 6 }), fc.string({ unit: "binary", maxLength: 12 }), fc.boolean())
      .map(([content, obfuscation, last]) =>
        last ? raw(JSON.stringify({ ...ENVELOPE, choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }], obfuscation })) : chunk({ content }, { obfuscation }),
      );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), (middle) => {
        const stream = [chunk({ role: "assistant", content: "" }, { obfuscation: "ab" }), ...middle, chunk({}, { obfuscation: "c" }, "stop"), DONE];
        expect(decode(stream).events).toEqual(reference(stream));
      }),
      { numRuns: 200 },
    );
  });

  test("an envelope that changes on every chunk is decoded correctly (learning gives up, parsing goes on)", () => {
    const stream = [chunk({ role: "assistant", content: "" }), ...Array.from({ length: 30 }, (_, index) => chunk({ content: `w${index}` }, { id: `chatcmpl-${index}` })), chunk({}, {}, "stop"), DONE];
    const { events, shortcuts } = decode(stream);
    expect(events).toEqual(reference(stream));
    expect(shortcuts).toBe(0);
  });

  test("after [DONE] nothing is decoded, through the slot or not", () => {
    const stream = [chunk({ role: "assistant", content: "" }), chunk({ content: "a" }), chunk({ content: "b" }), chunk({}, {}, "stop"), DONE, chunk({ content: "late" })];
    expect(decode(stream).events).toEqual(reference(stream));
  });

  test("any mix of chunks decodes exactly as parsing each one", () => {
    const text = fc.string({ unit: "binary", maxLength: 6 });
    const item = fc.oneof(
      { weight: 8, arbitrary: text.map((content) => chunk({ content })) },
      { weight: 1, arbitrary: text.map((content) => chunk({ reasoning_content: content })) },
      { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 2 }), text).map(([index, args]) => chunk({ tool_calls: [{ index, id: `call_${index}`, function: { name: `f${index}`, arguments: args } }] })) },
      { weight: 1, arbitrary: text.map((content) => chunk({ content }, { id: "chatcmpl-other" })) },
      { weight: 1, arbitrary: fc.constant(chunk({ content: null })) },
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), fc.boolean(), (middle, finished) => {
        const stream = [chunk({ role: "assistant", content: "" }), ...middle, ...(finished ? [chunk({}, {}, "stop"), usage, DONE] : [])];
        expect(decode(stream).events).toEqual(reference(stream));
      }),
      { numRuns: 200 },
    );
  });

  test("the recorded fixtures decode as parsing each chunk", () => {
    const dir = join(import.meta.dir, "../../../test/fixtures/openai");
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".sse"))) {
      const events = sse(readFileSync(join(dir, file), "utf8"));
      expect(decode(events).events).toEqual(reference(events));
    }
  });

  test("through the reader's lane (text runs), split into reads anywhere, any mix decodes as parsing each chunk", async () => {
    const text = fc.string({ unit: "binary", maxLength: 6 });
    /** A content chunk whose literal is written with escapes JSON.stringify would not use (\/, \u00e9, a surrogate pair). */
    const escaped = fc.constantFrom(["a\\/b", "a/b"], ["caf\\u00e9", "café"], ["\\ud83d\\ude00!", "😀!"], ["\\u2028", "\u2028"]).map(([literal, content]) =>
      raw(chunk({ content: content ?? "" }).data.replace(JSON.stringify(content), `"${literal}"`)),
    );
    const item = fc.oneof(
      { weight: 10, arbitrary: text.map((content) => chunk({ content })) },
      { weight: 2, arbitrary: escaped },
      { weight: 1, arbitrary: text.map((content) => chunk({ reasoning_content: content })) },
      { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 2 }), text).map(([index, args]) => chunk({ tool_calls: [{ index, id: `call_${index}`, function: { name: `f${index}`, arguments: args } }] })) },
      { weight: 1, arbitrary: text.map((content) => chunk({ content }, { id: "chatcmpl-other" })) },
      { weight: 1, arbitrary: fc.constant(DONE) },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(item, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), async (middle, cuts) => {
        const stream = [chunk({ role: "assistant", content: "" }), chunk({ content: "first" }), ...middle, chunk({}, {}, "stop"), usage, DONE];
        const body = new TextEncoder().encode(stream.map((event) => `data: ${event.data}\n\n`).join(""));
        const points = [...new Set(cuts.map((cut) => cut % body.length))].sort((a, b) => a - b);
        const reads = [...points, body.length].map((end, index) => body.slice(index === 0 ? 0 : points[index - 1], end));
        const reader = upstreamEventReader(new Response(new ReadableStream({ start: (controller) => { for (const read of reads) controller.enqueue(read); controller.close(); } })).body as ReadableStream<Uint8Array>, new OpenAIEventDecoder());
        const events: ChatEvent[] = [];
        for (let next = await reader.read(); !next.done; next = await reader.read()) events.push(...next.value);
        runs += events.filter((event) => event.type === "text-run").length;
        expect(asTextDeltas(events)).toEqual(reference(stream));
      }),
      { numRuns: 300 },
    );
    // The lane took part: runs came from reads after the slot was learned.
    expect(runs).toBeGreaterThan(30);
  });
});
