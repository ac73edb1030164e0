/**
 * Anthropic upstream stream decoding over recorded fixtures: the exact canonical event sequence and the
 * accumulated result; malformed and early-ended streams; tool input split at random boundaries.
 */

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import fc from "fast-check";
import { accumulateChatEvents, ChatAccumulator } from "../../canonical/accumulate.ts";
import type { ChatEvent } from "../../canonical/events.ts";
import type { StopReason } from "../../canonical/result.ts";
import { createAnthropicUpstreamStreamDecoder } from "./decode-stream.ts";

interface ParsedSseEvent {
  event: string;
  data: unknown;
}

/** A tiny splitter for test fixtures only (the gateway's SSE decoder lives in src/sse). */
function parseSse(text: string): ParsedSseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((chunk) => chunk.trim() !== "")
    .map((chunk) => {
      let event = "";
      const data: string[] = [];
      for (const line of chunk.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      return { event, data: JSON.parse(data.join("\n")) as unknown };
    });
}

const FIXTURES = join(import.meta.dir, "../../../test/fixtures/anthropic");

async function decodeFixture(name: string): Promise<ChatEvent[]> {
  const events = parseSse(await Bun.file(join(FIXTURES, name)).text());
  return decodeEvents(events);
}

function decodeEvents(events: ParsedSseEvent[]): ChatEvent[] {
  const decoder = createAnthropicUpstreamStreamDecoder();
  const out: ChatEvent[] = [];
  for (const { event, data } of events) out.push(...decoder.push(event, data));
  out.push(...decoder.end());
  return out;
}

/** `block-delta` runs collapse to one entry so sequences stay readable: start, bs, bd, bx, finish. */
function shape(events: ChatEvent[]): string[] {
  const names: string[] = [];
  for (const event of events) {
    const name =
      event.type === "block-start" ? `start:${event.index}:${event.block.type}`
      : event.type === "block-delta" ? `delta:${event.index}:${event.delta.type}`
      : event.type === "block-stop" ? `stop:${event.index}`
      : event.type;
    if (names.at(-1) !== name) names.push(name);
  }
  return names;
}

describe("createAnthropicUpstreamStreamDecoder over fixtures", () => {
  test("text.sse", async () => {
    const events = await decodeFixture("text.sse");
    expect(shape(events)).toEqual(["start", "start:0:text", "delta:0:text", "stop:0", "finish"]);
    expect(events[0]).toEqual({
      type: "start",
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      usage: { input: 25, output: 1, cacheRead: 1200, cacheWrite: 0, reasoning: 0 },
    });
    expect(accumulateChatEvents(events)).toEqual({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      blocks: [{ type: "text", text: "Hello! How can I help you today?" }],
      stopReason: "end_turn",
      stopSequence: null,
      usage: { input: 25, output: 12, cacheRead: 1200, cacheWrite: 0, reasoning: 0 },
    });
  });

  test("tool-use-two-calls.sse", async () => {
    const events = await decodeFixture("tool-use-two-calls.sse");
    expect(shape(events)).toEqual([
      "start",
      "start:0:text", "delta:0:text", "stop:0",
      "start:1:tool-use", "delta:1:tool-input", "stop:1",
      "start:2:tool-use", "delta:2:tool-input", "stop:2",
      "finish",
    ]);
    // The empty first input_json_delta carries nothing and is not relayed.
    expect(events.filter((event) => event.type === "block-delta" && event.delta.type === "tool-input")).toHaveLength(8);
    expect(accumulateChatEvents(events)).toEqual({
      id: "msg_014p7gG3wDgGV9EUtLvnow3U",
      blocks: [
        { type: "text", text: "I'll check the weather and the time for you." },
        { type: "tool-use", id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", input: { location: "San Francisco, CA", unit: "celsius" } },
        { type: "tool-use", id: "toolu_01NRLabsLyVHZPKxbKvkfSMn", name: "get_time", input: { timezone: "America/Los_Angeles" } },
      ],
      stopReason: "tool_use",
      stopSequence: null,
      usage: { input: 472, output: 89, cacheRead: 0, cacheWrite: 0, reasoning: 0 },
    });
  });

  test("thinking.sse", async () => {
    const events = await decodeFixture("thinking.sse");
    expect(shape(events)).toEqual([
      "start",
      "start:0:thinking", "delta:0:thinking", "delta:0:signature", "stop:0",
      "start:1:text", "delta:1:text", "stop:1",
      "finish",
    ]);
    const result = accumulateChatEvents(events);
    expect(result?.blocks).toEqual([
      {
        type: "thinking",
        text: "The user asks for 27 * 453.\n\n27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231.",
        signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds6IEqaXFD2jhJzCvTTfQ7QlsDAW1SvIjHymoFpeMHuB1SoBaQbdw4oqrSDoWRirgA0H1o9zyEWsmpO5ydvCtkZ3g",
      },
      { type: "text", text: "27 × 453 = **12,231**" },
    ]);
    expect(result?.usage).toEqual({ input: 85, output: 118, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
  });

  test.each([
    ["stop-sequence.sse", "stop_sequence", "5", "1, 2, 3, 4, ", 9],
    ["max-tokens.sse", "max_tokens", null, "Once upon a time, in a quiet", 8],
    ["refusal.sse", "refusal", null, "I can", 3],
  ] as Array<[string, StopReason, string | null, string, number]>)("%s", async (name, stopReason, stopSequence, text, output) => {
    const events = await decodeFixture(name);
    expect(shape(events)).toEqual(["start", "start:0:text", "delta:0:text", "stop:0", "finish"]);
    const result = accumulateChatEvents(events);
    expect(result?.stopReason).toBe(stopReason);
    expect(result?.stopSequence).toBe(stopSequence);
    expect(result?.blocks).toEqual([{ type: "text", text }]);
    expect(result?.usage.output).toBe(output);
  });

  test("pause-turn.sse: the server tool block is skipped, pause_turn kept", async () => {
    const events = await decodeFixture("pause-turn.sse");
    expect(shape(events)).toEqual(["start", "start:0:text", "delta:0:text", "stop:0", "finish"]);
    expect(accumulateChatEvents(events)?.stopReason).toBe("pause_turn");
  });

  test("with-server-tool.sse: server tool blocks skipped, kept blocks renumbered densely, citations ignored", async () => {
    const events = await decodeFixture("with-server-tool.sse");
    expect(shape(events)).toEqual(["start", "start:0:text", "delta:0:text", "stop:0", "start:1:text", "delta:1:text", "stop:1", "finish"]);
    expect(accumulateChatEvents(events)).toEqual({
      id: "msg_01G4pRzWbN8e2kTqYx7vHc3M",
      blocks: [
        { type: "text", text: "I'll search for the current weather in New York City." },
        { type: "text", text: "It is currently 18°C and sunny in New York City." },
      ],
      stopReason: "end_turn",
      stopSequence: null,
      // message_delta's input figure replaces message_start's (server tools add input).
      usage: { input: 10682, output: 510, cacheRead: 0, cacheWrite: 0, reasoning: 0 },
    });
  });

  test("cut.sse: no message_stop → an error event at end, partial usage kept", async () => {
    const events = await decodeFixture("cut.sse");
    expect(shape(events)).toEqual(["start", "start:0:text", "delta:0:text", "error"]);
    expect(events.at(-1)).toMatchObject({ type: "error", kind: "upstream_error" });
    const accumulator = new ChatAccumulator();
    for (const event of events) accumulator.push(event);
    expect(accumulator.result).toBeNull();
    expect(accumulator.partialUsage.input).toBe(52);
  });

  test("error-overloaded.sse: the in-stream error becomes an error event, end() adds nothing", async () => {
    const events = await decodeFixture("error-overloaded.sse");
    expect(shape(events)).toEqual(["start", "start:0:text", "delta:0:text", "error"]);
    expect(events.at(-1)).toEqual({ type: "error", kind: "upstream_error", message: "Overloaded" });
  });
});

describe("createAnthropicUpstreamStreamDecoder: edge cases", () => {
  const START = { event: "message_start", data: { type: "message_start", message: { id: "msg_1", usage: { input_tokens: 3, output_tokens: 1 } } } };
  const STOP = { event: "message_stop", data: { type: "message_stop" } };

  test.each([
    ["rate_limit_error", "upstream_rate_limited"],
    ["overloaded_error", "upstream_error"],
    ["api_error", "upstream_error"],
  ])("error event of type %s → kind %s", (type, kind) => {
    const events = decodeEvents([START, { event: "error", data: { type: "error", error: { type, message: "m" } } }]);
    expect(events.at(-1)).toEqual({ type: "error", kind, message: "m" });
  });

  test.each([
    ["message_start without usage", [{ event: "message_start", data: { type: "message_start", message: { id: "m" } } }]],
    ["a block event before message_start", [{ event: "content_block_start", data: { index: 0, content_block: { type: "text", text: "" } } }]],
    ["data that is not an object", [START, { event: "content_block_delta", data: "garbage" }]],
    ["a delta for an unknown index", [START, { event: "content_block_delta", data: { index: 4, delta: { type: "text_delta", text: "x" } } }]],
    ["a text_delta without text", [START, { event: "content_block_start", data: { index: 0, content_block: { type: "text", text: "" } } }, { event: "content_block_delta", data: { index: 0, delta: { type: "text_delta" } } }]],
    ["a tool_use start without a name", [START, { event: "content_block_start", data: { index: 0, content_block: { type: "tool_use", id: "t" } } }]],
    ["a message_delta with a numeric stop_reason", [START, { event: "message_delta", data: { delta: { stop_reason: 5 } } }]],
    ["an error event without detail", [START, { event: "error", data: {} }]],
  ])("malformed: %s → one error event, nothing after", (_name, input) => {
    const events = decodeEvents([...input, STOP]);
    expect(events.filter((event) => event.type === "error")).toHaveLength(1);
    expect(events.at(-1)?.type).toBe("error");
    expect(events.some((event) => event.type === "finish")).toBe(false);
  });

  test("unnamed events are dispatched by their JSON type; unknown event types are ignored", () => {
    const events = decodeEvents([
      { event: "", data: START.data },
      { event: "message", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "Hi" } } },
      { event: "something_new", data: { type: "something_new" } },
      { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
      { event: "", data: STOP.data },
    ]);
    expect(shape(events)).toEqual(["start", "start:0:text", "delta:0:text", "stop:0", "finish"]);
  });

  test("a tool_use start carrying an input object ignores it; deltas carry the input", () => {
    const events = decodeEvents([
      START,
      { event: "content_block_start", data: { index: 0, content_block: { type: "tool_use", id: "t", name: "f", input: { stale: true } } } },
      { event: "content_block_delta", data: { index: 0, delta: { type: "input_json_delta", partial_json: '{"a":1}' } } },
      { event: "content_block_stop", data: { index: 0 } },
      STOP,
    ]);
    expect(accumulateChatEvents(events)?.blocks).toEqual([{ type: "tool-use", id: "t", name: "f", input: { a: 1 } }]);
  });

  test("message_stop closes blocks left open and defaults the stop reason", () => {
    const events = decodeEvents([START, { event: "content_block_start", data: { index: 0, content_block: { type: "text", text: "" } } }, STOP]);
    expect(shape(events)).toEqual(["start", "start:0:text", "stop:0", "finish"]);
    expect(events.at(-1)).toMatchObject({ type: "finish", stopReason: "end_turn", stopSequence: null });
  });

  test("end() on an empty stream is an error", () => {
    expect(decodeEvents([])).toEqual([{ type: "error", kind: "upstream_error", message: "The upstream stream ended before the message was complete." }]);
  });
});

describe("createAnthropicUpstreamStreamDecoder: tool input split at random boundaries", () => {
  const json = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 });

  test("any split of input_json_delta pieces accumulates to the same input", () => {
    fc.assert(
      fc.property(json, fc.array(fc.nat(), { maxLength: 12 }), (input, cuts) => {
        const text = JSON.stringify(input);
        const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...points].map((from, i) => text.slice(from, [...points, text.length][i]));
        const events = decodeEvents([
          { event: "message_start", data: { message: { id: "m", usage: { input_tokens: 1, output_tokens: 1 } } } },
          { event: "content_block_start", data: { index: 0, content_block: { type: "tool_use", id: "t", name: "f", input: {} } } },
          ...pieces.map((partial_json) => ({ event: "content_block_delta", data: { index: 0, delta: { type: "input_json_delta", partial_json } } })),
          { event: "content_block_stop", data: { index: 0 } },
          { event: "message_delta", data: { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } } },
          { event: "message_stop", data: {} },
        ]);
        const result = accumulateChatEvents(events);
        expect(result?.blocks).toEqual([{ type: "tool-use", id: "t", name: "f", input: JSON.parse(text) as unknown }]);
        expect(result?.stopReason).toBe("tool_use");
      }),
      { numRuns: 300 },
    );
  });
});
