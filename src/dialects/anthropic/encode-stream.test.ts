/** The Anthropic stream encoder, read back by the official SDK's own SSE parser and MessageStream. */

import { describe, expect, test } from "bun:test";
import Anthropic, { APIError } from "@anthropic-ai/sdk";
import { Stream } from "@anthropic-ai/sdk/core/streaming";
import fc from "fast-check";
import type { ChatEvent } from "../../canonical/events.ts";
import type { Usage } from "../../canonical/usage.ts";
import type { EncodeMeta, RelayEvent, TollgateSummary } from "../../gateway/summary.ts";
import { encodeStreamEvent, summaryOf } from "../../gateway/summary.ts";
import { createAnthropicStreamEncoder } from "./encode-stream.ts";
import { textRunOf } from "../../../test/harness/events.ts";

const META: EncodeMeta = { model: "claude-test", createdSec: 1_700_000_000, includeUsage: false, usageEvent: false };
const START_USAGE: Usage = { input: 120, output: 1, cacheRead: 30, cacheWrite: 10, reasoning: 0 };
const FINAL_USAGE: Usage = { input: 120, output: 57, cacheRead: 30, cacheWrite: 10, reasoning: 12 };
const SUMMARY: TollgateSummary = summaryOf("req_test", "claude-billed", 4321, FINAL_USAGE);

/** Thinking with a signature, text, then two tool calls whose JSON arrives split; canonical indexes 0, 1, 7, 3. */
const EVENTS: ChatEvent[] = [
  { type: "start", id: "upstream-id", usage: START_USAGE },
  { type: "block-start", index: 0, block: { type: "thinking" } },
  { type: "block-delta", index: 0, delta: { type: "thinking", text: "Let me " } },
  { type: "block-delta", index: 0, delta: { type: "thinking", text: "think." } },
  { type: "block-delta", index: 0, delta: { type: "signature", signature: "sig-abc" } },
  { type: "block-stop", index: 0 },
  { type: "block-start", index: 1, block: { type: "text" } },
  { type: "block-delta", index: 1, delta: { type: "text", text: "Hello" } },
  { type: "block-delta", index: 1, delta: { type: "text", text: " world" } },
  { type: "block-stop", index: 1 },
  { type: "block-start", index: 7, block: { type: "tool-use", id: "toolu_1", name: "get_weather" } },
  { type: "block-delta", index: 7, delta: { type: "tool-input", partialJson: '{"city":' } },
  { type: "block-delta", index: 7, delta: { type: "tool-input", partialJson: '"Paris"}' } },
  { type: "block-stop", index: 7 },
  { type: "block-start", index: 3, block: { type: "tool-use", id: "toolu_2", name: "get_time" } },
  { type: "block-delta", index: 3, delta: { type: "tool-input", partialJson: '{"tz"' } },
  { type: "block-delta", index: 3, delta: { type: "tool-input", partialJson: ':"UTC"}' } },
  { type: "block-stop", index: 3 },
  { type: "finish", stopReason: "tool_use", stopSequence: null, usage: FINAL_USAGE },
];

const EXPECTED_TYPES = [
  "message_start",
  ...["content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop"],
  ...["content_block_start", "content_block_delta", "content_block_delta", "content_block_stop"],
  ...["content_block_start", "content_block_delta", "content_block_delta", "content_block_stop"],
  ...["content_block_start", "content_block_delta", "content_block_delta", "content_block_stop"],
  "message_delta",
  "message_stop",
];

function encodeAll(events: (ChatEvent | RelayEvent)[], meta: EncodeMeta = META): Uint8Array[] {
  const encoder = createAnthropicStreamEncoder(meta);
  return events
    .map((event) => encodeStreamEvent(encoder, event))
    .filter((piece) => piece.length > 0)
    .map((piece) => (typeof piece === "string" ? new TextEncoder().encode(piece) : piece));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The bytes as a response body, cut at the given positions (an SSE parser must not care). */
function sseResponse(bytes: Uint8Array, cuts: number[] = []): Response {
  const points = [...new Set([0, ...cuts.filter((cut) => cut > 0 && cut < bytes.length), bytes.length])].sort((a, b) => a - b);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 1; i < points.length; i++) controller.enqueue(bytes.slice(points[i - 1], points[i]));
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

function sdkClient(respond: () => Response): Anthropic {
  return new Anthropic({ apiKey: "test-key", baseURL: "http://localhost", maxRetries: 0, fetch: async () => respond() });
}

async function readWithSdk(bytes: Uint8Array, cuts: number[] = []) {
  const client = sdkClient(() => sseResponse(bytes, cuts));
  const stream = client.messages.stream({ model: "claude-test", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
  // What the SDK reports at each content_block_stop (the block it closed).
  const blocks: Anthropic.ContentBlock[] = [];
  stream.on("contentBlock", (block) => blocks.push(block));
  const events: Array<{ type: string } & Record<string, unknown>> = [];
  for await (const event of stream) events.push(event as unknown as { type: string } & Record<string, unknown>);
  return { events, blocks, message: await stream.finalMessage() };
}

describe("createAnthropicStreamEncoder", () => {
  test("the SDK accumulates blocks, tool inputs, stop reason and usage, in Anthropic's event order", async () => {
    const { events, message } = await readWithSdk(concat(encodeAll([...EVENTS, { type: "summary", summary: SUMMARY }])));
    expect(events.map((event) => event.type)).toEqual(EXPECTED_TYPES);
    expect(message.id).toMatch(/^msg_[A-Za-z0-9]{24}$/);
    expect(message.model).toBe("claude-test");
    expect(message.content).toEqual([
      { type: "thinking", thinking: "Let me think.", signature: "sig-abc" },
      { type: "text", text: "Hello world" },
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "toolu_2", name: "get_time", input: { tz: "UTC" } },
    ] as unknown as typeof message.content);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.stop_sequence).toBeNull();
    expect(message.usage).toMatchObject({
      input_tokens: 120,
      output_tokens: 57,
      cache_creation_input_tokens: 10,
      cache_read_input_tokens: 30,
      output_tokens_details: { thinking_tokens: 12 },
    });
  });

  test("wire indexes are 0..n in order of first appearance, whatever the canonical indexes", async () => {
    const { events } = await readWithSdk(concat(encodeAll([...EVENTS, { type: "summary", summary: SUMMARY }])));
    const starts = events.filter((event) => event.type === "content_block_start").map((event) => event.index);
    expect(starts).toEqual([0, 1, 2, 3]);
  });

  test("message_start carries the real input count; message_delta the final usage and the tollgate object", async () => {
    // Raw events: the SDK's MessageStream mutates the message_start snapshot as the stream goes on.
    const raw: Array<Record<string, unknown>> = [];
    for await (const sse of Stream.rawEvents(sseResponse(concat(encodeAll([...EVENTS, { type: "summary", summary: SUMMARY }])))))
      raw.push(JSON.parse(sse.data) as Record<string, unknown>);
    expect(raw[0]).toEqual({
      type: "message_start",
      message: {
        id: expect.stringMatching(/^msg_/),
        type: "message",
        role: "assistant",
        model: "claude-test",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 120, output_tokens: 1, cache_creation_input_tokens: 10, cache_read_input_tokens: 30 },
      },
    });
    expect(raw.find((event) => event.type === "message_delta")).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: {
        input_tokens: 120,
        output_tokens: 57,
        cache_creation_input_tokens: 10,
        cache_read_input_tokens: 30,
        output_tokens_details: { thinking_tokens: 12 },
      },
      tollgate: SUMMARY,
    });
  });

  test("the SDK parses the stream cut at any byte boundaries", async () => {
    const bytes = concat(encodeAll([...EVENTS, { type: "summary", summary: SUMMARY }]));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), async (cuts) => {
        const { events, message } = await readWithSdk(bytes, cuts);
        expect(events.map((event) => event.type)).toEqual(EXPECTED_TYPES);
        expect(message.content).toHaveLength(4);
      }),
      { numRuns: 30 },
    );
  });

  test("tollgate.usage follows message_stop only when asked for", async () => {
    const names = async (meta: EncodeMeta) => {
      const raw = [];
      for await (const sse of Stream.rawEvents(sseResponse(concat(encodeAll([...EVENTS, { type: "summary", summary: SUMMARY }], meta)))))
        raw.push(sse);
      return raw;
    };
    const without = await names(META);
    expect(without.at(-1)?.event).toBe("message_stop");
    const withUsage = await names({ ...META, usageEvent: true });
    expect(withUsage.slice(-2).map((sse) => sse.event)).toEqual(["message_stop", "tollgate.usage"]);
    expect(JSON.parse(withUsage.at(-1)?.data ?? "null")).toEqual(SUMMARY);
    // Every other event's name equals its data's type, as Anthropic sends them.
    for (const sse of without) expect((JSON.parse(sse.data) as { type: string }).type).toBe(sse.event ?? "");
  });

  test("an error ends the stream with event: error, which the SDK raises as an APIError", async () => {
    const events: (ChatEvent | RelayEvent)[] = [
      ...EVENTS.slice(0, 8),
      { type: "error", kind: "upstream_error", message: "The upstream connection failed mid-stream." },
      { type: "summary", summary: SUMMARY },
    ];
    const chunks = encodeAll(events);
    const last = new TextDecoder().decode(chunks.at(-1));
    expect(last).toStartWith("event: error\ndata: ");
    expect(JSON.parse(last.slice(last.indexOf("data: ") + 6))).toEqual({
      type: "error",
      error: { type: "api_error", message: "The upstream connection failed mid-stream.", details: { error_code: "upstream_error" } },
    });
    const error = await readWithSdk(concat(chunks)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).type).toBe("api_error");
    expect((error as APIError).errorCode).toBe("upstream_error");
  });

  test("blocks left open are closed before message_delta, one after another; deltas for unknown blocks are dropped", async () => {
    const events: RelayEvent[] = [
      { type: "start", id: "x", usage: START_USAGE },
      { type: "block-start", index: 4, block: { type: "text" } },
      { type: "block-delta", index: 4, delta: { type: "text", text: "partial" } },
      { type: "block-delta", index: 9, delta: { type: "text", text: "orphan" } },
      { type: "block-start", index: 2, block: { type: "redacted-thinking", data: "opaque" } },
      { type: "finish", stopReason: "max_tokens", stopSequence: null, usage: { ...FINAL_USAGE, reasoning: 0 } },
      { type: "summary", summary: SUMMARY },
    ];
    const { events: wire, message } = await readWithSdk(concat(encodeAll(events)));
    expect(wire.map((event) => event.type)).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(message.content).toEqual([
      { type: "text", text: "partial" },
      { type: "redacted_thinking", data: "opaque" },
    ] as unknown as typeof message.content);
    expect(message.stop_reason).toBe("max_tokens");
    expect(message.usage.output_tokens_details ?? null).toBeNull();
  });

  test("interleaved tool blocks (parallel calls from an OpenAI-style upstream) accumulate by index", async () => {
    const events: RelayEvent[] = [
      { type: "start", id: "x", usage: START_USAGE },
      { type: "block-start", index: 10, block: { type: "tool-use", id: "call_a", name: "a" } },
      { type: "block-start", index: 11, block: { type: "tool-use", id: "call_b", name: "b" } },
      { type: "block-delta", index: 10, delta: { type: "tool-input", partialJson: '{"x":' } },
      { type: "block-delta", index: 11, delta: { type: "tool-input", partialJson: '{"y":2}' } },
      { type: "block-delta", index: 10, delta: { type: "tool-input", partialJson: "1}" } },
      { type: "finish", stopReason: "tool_use", stopSequence: null, usage: FINAL_USAGE },
      { type: "summary", summary: SUMMARY },
    ];
    const { message } = await readWithSdk(concat(encodeAll(events)));
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_a", name: "a", input: { x: 1 } },
      { type: "tool_use", id: "call_b", name: "b", input: { y: 2 } },
    ] as unknown as typeof message.content);
  });

  test("one text per encode call; nothing after the end", () => {
    const encoder = createAnthropicStreamEncoder(META);
    for (const event of EVENTS) encodeStreamEvent(encoder, event);
    const final = encoder.encode({ type: "summary", summary: SUMMARY });
    expect(final.match(/^event: /gm)).toEqual(["event: ", "event: "]);
    expect(encoder.encode({ type: "error", kind: "internal", message: "late" })).toBe("");
    expect(encoder.encode({ type: "block-start", index: 0, block: { type: "text" } })).toBe("");
  });

  test("overlapping blocks go out one at a time: a block that starts while another is open waits, its events kept, until that one stops", () => {
    const encoder = createAnthropicStreamEncoder(META);
    const wire = (event: RelayEvent) =>
      encoder
        .encode(event)
        .split("\n\n")
        .filter((part) => part !== "")
        .map((part) => {
          const data = JSON.parse(part.split("data: ")[1] ?? "") as { type: string; index?: number; delta?: { partial_json?: string } };
          return `${data.type}:${data.index ?? ""}${data.delta?.partial_json === undefined ? "" : `:${data.delta.partial_json}`}`;
        });
    wire({ type: "start", id: "x", usage: START_USAGE });
    // An OpenAI upstream's parallel calls, their argument pieces interleaved (the decoder keeps both open).
    expect(wire({ type: "block-start", index: 0, block: { type: "tool-use", id: "call_a", name: "f" } })).toEqual(["content_block_start:0"]);
    expect(wire({ type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: '{"a"' } })).toEqual(['content_block_delta:0:{"a"']);
    expect(wire({ type: "block-start", index: 1, block: { type: "tool-use", id: "call_b", name: "g" } })).toEqual([]);
    expect(wire({ type: "block-delta", index: 1, delta: { type: "tool-input", partialJson: '{"b":2}' } })).toEqual([]);
    expect(wire({ type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: ":1}" } })).toEqual(["content_block_delta:0::1}"]);
    expect(wire({ type: "block-start", index: 2, block: { type: "tool-use", id: "call_c", name: "h" } })).toEqual([]);
    expect(wire({ type: "block-stop", index: 1 })).toEqual([]);
    expect(wire({ type: "block-stop", index: 0 })).toEqual(["content_block_stop:0", "content_block_start:1", 'content_block_delta:1:{"b":2}', "content_block_stop:1", "content_block_start:2"]);
    expect(wire({ type: "block-delta", index: 2, delta: { type: "tool-input", partialJson: "{}" } })).toEqual(["content_block_delta:2:{}"]);
    expect(wire({ type: "finish", stopReason: "tool_use", stopSequence: null, usage: FINAL_USAGE })).toEqual(["content_block_stop:2"]);
  });

  test("a text run for a block queued behind an open one waits with it, and comes out as that block's text deltas", async () => {
    const runTexts = ["Hel", "lo ", "wörld"];
    const encoder = createAnthropicStreamEncoder(META);
    const pieces: Array<string | Uint8Array> = [];
    const add = (piece: string | Uint8Array) => pieces.push(piece);
    add(encoder.encode({ type: "start", id: "x", usage: START_USAGE }));
    add(encoder.encode({ type: "block-start", index: 0, block: { type: "tool-use", id: "call_a", name: "f" } }));
    add(encoder.encode({ type: "block-start", index: 1, block: { type: "text" } }));
    const queuedRun = encoder.encodeTextRun({ type: "text-run", index: 1, run: textRunOf(runTexts) });
    expect(queuedRun).toBe("");
    add(encoder.encode({ type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: '{"a":1}' } }));
    add(encoder.encode({ type: "block-stop", index: 0 }));
    add(encoder.encode({ type: "block-stop", index: 1 }));
    add(encoder.encode({ type: "finish", stopReason: "end_turn", stopSequence: null, usage: FINAL_USAGE }));
    add(encoder.encode({ type: "summary", summary: SUMMARY }));
    const { message, blocks } = await readWithSdk(concat(pieces.map((piece) => (typeof piece === "string" ? new TextEncoder().encode(piece) : piece))));
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_a", name: "f", input: { a: 1 } },
      { type: "text", text: runTexts.join("") },
    ] as unknown as typeof message.content);
    expect(blocks.map((block) => block.type)).toEqual(["tool_use", "text"]);
  });

  test("parallel tool calls with interleaved pieces: the SDK's contentBlock event gives each call whole, in order", async () => {
    const events: RelayEvent[] = [
      { type: "start", id: "x", usage: START_USAGE },
      { type: "block-start", index: 0, block: { type: "tool-use", id: "call_a", name: "f" } },
      { type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: '{"a"' } },
      { type: "block-start", index: 1, block: { type: "tool-use", id: "call_b", name: "g" } },
      { type: "block-delta", index: 1, delta: { type: "tool-input", partialJson: '{"b":2}' } },
      { type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: ":1}" } },
      { type: "block-stop", index: 0 },
      { type: "block-stop", index: 1 },
      { type: "finish", stopReason: "tool_use", stopSequence: null, usage: FINAL_USAGE },
      { type: "summary", summary: SUMMARY },
    ];
    const { message, blocks } = await readWithSdk(concat(encodeAll(events)));
    expect(blocks.map((block) => (block.type === "tool_use" ? [block.id, block.input] : null))).toEqual([
      ["call_a", { a: 1 }],
      ["call_b", { b: 2 }],
    ]);
    expect(message.content.map((block) => (block.type === "tool_use" ? block.id : block.type))).toEqual(["call_a", "call_b"]);
  });

  test("a text delta that carries the upstream's own literal writes it as it is (escapes included), and means the same text", () => {
    const encoder = createAnthropicStreamEncoder(META);
    encoder.encode({ type: "start", id: "x", usage: START_USAGE });
    encoder.encode({ type: "block-start", index: 0, block: { type: "text" } });
    const text = encoder.encode({ type: "block-delta", index: 0, delta: { type: "text", text: "café \"x\"", literal: '"caf\\u00e9 \\"x\\""' } });
    expect(text).toBe('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"caf\\u00e9 \\"x\\""}}\n\n');
    expect((JSON.parse(text.split("data: ")[1] ?? "") as { delta: { text: string } }).delta.text).toBe('café "x"');
  });

  test("a text delta is byte for byte the serialised event object, whatever the text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.nat({ max: 12 }), (text, extraBlocks) => {
        const encoder = createAnthropicStreamEncoder(META);
        encoder.encode({ type: "start", id: "x", usage: START_USAGE });
        for (let index = 0; index < extraBlocks; index++) {
          encoder.encode({ type: "block-start", index, block: { type: "text" } });
          encoder.encode({ type: "block-stop", index });
        }
        encoder.encode({ type: "block-start", index: extraBlocks, block: { type: "text" } });
        const wire = encoder.encode({ type: "block-delta", index: extraBlocks, delta: { type: "text", text } });
        const data = JSON.stringify({ type: "content_block_delta", index: extraBlocks, delta: { type: "text_delta", text } });
        expect(wire).toBe(`event: content_block_delta\ndata: ${data}\n\n`);
      }),
      { numRuns: 100 },
    );
  });

  test("a text run is byte for byte the text deltas of its texts, copied from the upstream's literals; the SDK reads them", async () => {
    const texts = fc.array(fc.oneof(fc.string({ unit: "grapheme", minLength: 1 }), fc.constantFrom("a", 'say "hi"\n', "\u2028", "😀 ", "back\\slash")), { minLength: 1, maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(texts, fc.nat({ max: 12 }), async (runTexts, extraBlocks) => {
        const run = textRunOf(runTexts);
        const head: ChatEvent[] = [{ type: "start", id: "x", usage: START_USAGE }];
        for (let index = 0; index < extraBlocks; index++) head.push({ type: "block-start", index, block: { type: "tool-use", id: `t${index}`, name: "f" } }, { type: "block-stop", index });
        head.push({ type: "block-start", index: extraBlocks, block: { type: "text" } });
        const perDelta = createAnthropicStreamEncoder(META);
        const byRun = createAnthropicStreamEncoder(META);
        const headBytes = head.map((event) => {
          encodeStreamEvent(perDelta, event);
          return encodeStreamEvent(byRun, event);
        });
        const bytes = byRun.encodeTextRun({ type: "text-run", index: extraBlocks, run });
        expect(bytes).toBeInstanceOf(Uint8Array);
        const expected = runTexts.map((text) => perDelta.encode({ type: "block-delta", index: extraBlocks, delta: { type: "text", text } })).join("");
        expect(new TextDecoder("utf-8", { fatal: true }).decode(bytes as Uint8Array)).toBe(expected);
        const tail: RelayEvent[] = [
          { type: "finish", stopReason: "end_turn", stopSequence: null, usage: FINAL_USAGE },
          { type: "summary", summary: SUMMARY },
        ];
        const stream = concat([...headBytes.map((piece) => new TextEncoder().encode(piece as string)), bytes as Uint8Array, ...tail.map((event) => new TextEncoder().encode(byRun.encode(event)))]);
        const { message } = await readWithSdk(stream);
        const text = message.content.flatMap((block) => (block.type === "text" ? [block.text] : []));
        expect(text).toEqual([runTexts.join("")]);
      }),
      { numRuns: 60 },
    );
  });

  test("a run's literals go out as the upstream escaped them, as a text delta carrying its literal does", () => {
    const texts = ["a/b", "café", "😀!", "\u2028", "tab\t"];
    const literals = ['"a\\/b"', '"caf\\u00e9"', '"\\ud83d\\ude00!"', '"\\u2028"', '"tab\\t"'];
    const run = textRunOf(texts, literals);
    const byRun = createAnthropicStreamEncoder(META);
    const perDelta = createAnthropicStreamEncoder(META);
    for (const encoder of [byRun, perDelta]) {
      encoder.encode({ type: "start", id: "x", usage: START_USAGE });
      encoder.encode({ type: "block-start", index: 0, block: { type: "text" } });
    }
    const expected = texts.map((text, index) => perDelta.encode({ type: "block-delta", index: 0, delta: { type: "text", text, literal: literals[index] ?? "" } })).join("");
    expect(new TextDecoder().decode(byRun.encodeTextRun({ type: "text-run", index: 0, run }) as Uint8Array)).toBe(expected);
    expect(expected).toContain('"text":"caf\\u00e9"');
  });

  test("a text run into a block that is not open, or after the end, writes what its deltas would", () => {
    const run = textRunOf(["one ", "two"]);
    const deltasOf = (index: number) => (encoder: ReturnType<typeof createAnthropicStreamEncoder>) =>
      ["one ", "two"].map((text) => encoder.encode({ type: "block-delta", index, delta: { type: "text", text } })).join("");
    const withoutId = (wire: string | Uint8Array) => (typeof wire === "string" ? wire : new TextDecoder().decode(wire)).replace(/"id":"msg_[^"]+"/, '"id":""');
    // Not started: message_start first, then nothing for a block never opened (as for a block-delta).
    const early = createAnthropicStreamEncoder(META).encodeTextRun({ type: "text-run", index: 3, run });
    expect(withoutId(early)).toBe(withoutId(deltasOf(3)(createAnthropicStreamEncoder(META))));
    expect(withoutId(early)).toStartWith("event: message_start\n");
    expect(withoutId(early)).not.toContain("content_block_delta");
    // Started, the block opened and stopped: nothing, as for its deltas.
    const stopped = createAnthropicStreamEncoder(META);
    stopped.encode({ type: "start", id: "x", usage: START_USAGE });
    stopped.encode({ type: "block-start", index: 0, block: { type: "text" } });
    stopped.encode({ type: "block-stop", index: 0 });
    expect(stopped.encodeTextRun({ type: "text-run", index: 0, run })).toBe("");
    expect(deltasOf(0)(stopped)).toBe("");
    stopped.encode({ type: "summary", summary: SUMMARY });
    expect(stopped.encodeTextRun({ type: "text-run", index: 3, run })).toBe("");
  });

  test("a thinking block without a signature ends with signature ''", async () => {
    const events: RelayEvent[] = [
      { type: "start", id: "x", usage: START_USAGE },
      { type: "block-start", index: 0, block: { type: "thinking" } },
      { type: "block-delta", index: 0, delta: { type: "thinking", text: "reasoning" } },
      { type: "block-stop", index: 0 },
      { type: "finish", stopReason: "end_turn", stopSequence: null, usage: FINAL_USAGE },
      { type: "summary", summary: SUMMARY },
    ];
    const { message } = await readWithSdk(concat(encodeAll(events)));
    expect(message.content).toEqual([{ type: "thinking", thinking: "reasoning", signature: "" }] as unknown as typeof message.content);
  });
});
