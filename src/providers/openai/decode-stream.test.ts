import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ChatAccumulator, accumulateChatEvents } from "../../canonical/accumulate.ts";
import type { ChatEvent } from "../../canonical/events.ts";
import { createOpenAIUpstreamStreamDecoder } from "./decode-stream.ts";

const FIXTURES = join(import.meta.dir, "../../../test/fixtures/openai");

/**
 * A deliberately tiny SSE splitter for the fixtures: events end at a blank line (an unterminated last
 * event is discarded, as the SSE spec says), `data:` lines carry JSON, `[DONE]` ends the stream.
 */
function readFixture(name: string): unknown[] {
  const events = readFileSync(join(FIXTURES, name), "utf8").split(/\r?\n\r?\n/);
  events.pop(); // whatever follows the last blank line was never terminated
  const chunks: unknown[] = [];
  for (const event of events) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).replace(/^ /, ""))
      .join("\n");
    if (data === "[DONE]") break;
    if (data !== "") chunks.push(JSON.parse(data));
  }
  return chunks;
}

function decodeAll(chunks: unknown[]): ChatEvent[] {
  const decoder = createOpenAIUpstreamStreamDecoder();
  const events = chunks.flatMap((chunk) => decoder.push(chunk));
  return [...events, ...decoder.end()];
}

const times = (count: number, type: ChatEvent["type"]): Array<ChatEvent["type"]> => Array.from({ length: count }, () => type);
const types = (events: ChatEvent[]) => events.map((event) => event.type);

describe("createOpenAIUpstreamStreamDecoder: recorded streams", () => {
  test("text-with-usage.sse", () => {
    const events = decodeAll(readFixture("text-with-usage.sse"));
    expect(types(events)).toEqual(["start", "block-start", ...times(16, "block-delta"), "block-stop", "finish"]);
    expect(events[0]).toEqual({ type: "start", id: "chatcmpl-BXq1tYkP7pB9mZ3n2vQeR8sLwJd4H", usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 } });
    expect(accumulateChatEvents(events)).toEqual({
      id: "chatcmpl-BXq1tYkP7pB9mZ3n2vQeR8sLwJd4H",
      blocks: [{ type: "text", text: "The capital of France is Paris. It’s known for the Eiffel Tower ✓." }],
      stopReason: "end_turn",
      stopSequence: null,
      usage: { input: 86, output: 16, cacheRead: 1920, cacheWrite: 0, reasoning: 0 },
    });
  });

  test("tool-calls-parallel.sse: interleaved argument pieces land in their own blocks", () => {
    const events = decodeAll(readFixture("tool-calls-parallel.sse"));
    expect(types(events)).toEqual([
      "start",
      "block-start",
      "block-delta",
      "block-start",
      ...times(23, "block-delta"),
      "block-stop",
      "block-stop",
      "finish",
    ]);
    expect(events.filter((event) => event.type === "block-start")).toEqual([
      { type: "block-start", index: 0, block: { type: "tool-use", id: "call_Qm3kd81LzXnVb2cT5RwYhF0e", name: "get_weather" } },
      { type: "block-start", index: 1, block: { type: "tool-use", id: "call_7HsPzN0aQvWk4mLr1xYcJ9Tb", name: "get_local_time" } },
    ]);
    const result = accumulateChatEvents(events);
    expect(result?.blocks).toEqual([
      { type: "tool-use", id: "call_Qm3kd81LzXnVb2cT5RwYhF0e", name: "get_weather", input: { location: "Zürich, Switzerland", unit: "celsius" } },
      { type: "tool-use", id: "call_7HsPzN0aQvWk4mLr1xYcJ9Tb", name: "get_local_time", input: { timezone: "Europe/Zurich", format: "24h" } },
    ]);
    expect(result?.stopReason).toBe("tool_use");
    expect(result?.usage).toEqual({ input: 143, output: 52, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
  });

  test("deepseek-reasoning.sse: a thinking block, then a text block; usage on the finish chunk", () => {
    const events = decodeAll(readFixture("deepseek-reasoning.sse"));
    expect(types(events)).toEqual([
      "start",
      "block-start",
      ...times(24, "block-delta"),
      "block-stop",
      "block-start",
      ...times(10, "block-delta"),
      "block-stop",
      "finish",
    ]);
    expect(accumulateChatEvents(events)).toEqual({
      id: "0b7c1e52-3f9a-4d8e-9c61-5a2f4e7d8b90",
      blocks: [
        { type: "thinking", text: "Okay, the user asks which is greater: 9.11 or 9.8. Compare tenths: 8 > 1." },
        { type: "text", text: "9.8 is greater than 9.11." },
      ],
      stopReason: "end_turn",
      stopSequence: null,
      usage: { input: 18, output: 236, cacheRead: 1024, cacheWrite: 0, reasoning: 214 },
    });
  });

  test("length.sse: finish_reason length → max_tokens", () => {
    const events = decodeAll(readFixture("length.sse"));
    expect(types(events)).toEqual(["start", "block-start", ...times(9, "block-delta"), "block-stop", "finish"]);
    const result = accumulateChatEvents(events);
    expect(result?.stopReason).toBe("max_tokens");
    expect(result?.blocks).toEqual([{ type: "text", text: "Once upon a time, in a quiet village" }]);
    expect(result?.usage).toEqual({ input: 12, output: 9, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
  });

  test("cut.sse: no finish and no [DONE] → an error, never a silent finish", () => {
    const events = decodeAll(readFixture("cut.sse"));
    expect(types(events)).toEqual(["start", "block-start", ...times(8, "block-delta"), "error"]);
    expect(events.at(-1)).toEqual({ type: "error", kind: "upstream_error", message: "The upstream stream ended before it finished." });
    const accumulator = new ChatAccumulator();
    for (const event of events) accumulator.push(event);
    expect(accumulator.result).toBeNull();
    expect(accumulator.error?.kind).toBe("upstream_error");
  });

  test("error-midstream.sse: the error chunk ends the stream", () => {
    const decoder = createOpenAIUpstreamStreamDecoder();
    const events = readFixture("error-midstream.sse").flatMap((chunk) => decoder.push(chunk));
    expect(types(events)).toEqual(["start", "block-start", ...times(5, "block-delta"), "error"]);
    expect(events.at(-1)).toEqual({ type: "error", kind: "upstream_error", message: "The upstream failed mid-stream (server_error)." });
    expect(decoder.end()).toEqual([]);
    expect(decoder.push({ id: "x", choices: [{ index: 0, delta: { content: "late" }, finish_reason: "stop" }] })).toEqual([]);
  });
});

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  choices: [{ index: 0, delta, finish_reason: finishReason }],
  ...extra,
});
const toolPiece = (call: Record<string, unknown>) => chunk({ tool_calls: [call] });

describe("createOpenAIUpstreamStreamDecoder: edge cases", () => {
  test("a refusal streams as text and finishes with refusal", () => {
    const events = decodeAll([chunk({ role: "assistant", content: "", refusal: null }), chunk({ refusal: "I can't" }), chunk({ refusal: " help." }), chunk({}, "stop")]);
    const result = accumulateChatEvents(events);
    expect(result?.blocks).toEqual([{ type: "text", text: "I can't help." }]);
    expect(result?.stopReason).toBe("refusal");
  });

  test("`reasoning` (vLLM) deltas make a thinking block", () => {
    const events = decodeAll([chunk({ reasoning: "think" }), chunk({ content: "say" }), chunk({}, "stop")]);
    expect(accumulateChatEvents(events)?.blocks).toEqual([{ type: "thinking", text: "think" }, { type: "text", text: "say" }]);
  });

  test("text before a tool call is closed when the call starts", () => {
    const events = decodeAll([
      chunk({ content: "Let me look." }),
      toolPiece({ index: 0, id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":' } }),
      toolPiece({ index: 0, function: { arguments: '"x"}' } }),
      chunk({}, "tool_calls"),
    ]);
    expect(types(events)).toEqual(["start", "block-start", "block-delta", "block-stop", "block-start", "block-delta", "block-delta", "block-stop", "finish"]);
    expect(accumulateChatEvents(events)?.blocks).toEqual([
      { type: "text", text: "Let me look." },
      { type: "tool-use", id: "call_1", name: "lookup", input: { q: "x" } },
    ]);
  });

  test("argument pieces before the name are held until the block can start", () => {
    const events = decodeAll([
      toolPiece({ index: 0, id: "call_1", function: { arguments: '{"a"' } }),
      toolPiece({ index: 0, function: { name: "f", arguments: ":1}" } }),
      chunk({}, "tool_calls"),
    ]);
    expect(types(events)).toEqual(["start", "block-start", "block-delta", "block-stop", "finish"]);
    expect(events[2]).toEqual({ type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: '{"a":1}' } });
    expect(accumulateChatEvents(events)?.blocks).toEqual([{ type: "tool-use", id: "call_1", name: "f", input: { a: 1 } }]);
  });

  test("calls without `index` are told apart by id", () => {
    const events = decodeAll([
      toolPiece({ id: "call_a", function: { name: "f", arguments: '{"n":' } }),
      toolPiece({ function: { arguments: "1}" } }),
      toolPiece({ id: "call_b", function: { name: "g", arguments: "{}" } }),
      chunk({}, "tool_calls"),
    ]);
    expect(accumulateChatEvents(events)?.blocks).toEqual([
      { type: "tool-use", id: "call_a", name: "f", input: { n: 1 } },
      { type: "tool-use", id: "call_b", name: "g", input: {} },
    ]);
  });

  test("a usage-only chunk with `choices: null` (vLLM) is read", () => {
    const usage = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
    const events = decodeAll([chunk({ content: "hi" }, "stop"), { id: "chatcmpl-1", choices: null, usage }]);
    expect(events.at(-1)).toEqual({ type: "finish", stopReason: "end_turn", stopSequence: null, usage: { input: 10, output: 2, cacheRead: 0, cacheWrite: 0, reasoning: 0 } });
  });

  test("a finish without any usage reports zeros", () => {
    expect(decodeAll([chunk({ content: "hi" }, "stop")]).at(-1)).toMatchObject({ type: "finish", usage: { input: 0, output: 0 } });
  });

  test("an empty stream is a cut stream", () => {
    expect(decodeAll([])).toEqual([{ type: "error", kind: "upstream_error", message: "The upstream stream ended before it finished." }]);
  });

  test.each([
    ["a string", "garbage"],
    ["choices not an array", { id: "x", choices: "nope" }],
    ["content a number", { id: "x", choices: [{ index: 0, delta: { content: 7 } }] }],
    ["a negative tool index", { id: "x", choices: [{ index: 0, delta: { tool_calls: [{ index: -1 }] } }] }],
  ])("a malformed chunk (%s) is an error event, never a throw", (_name, bad) => {
    const decoder = createOpenAIUpstreamStreamDecoder();
    const first = decoder.push(chunk({ content: "ok" }));
    expect(types(first)).toEqual(["start", "block-start", "block-delta"]);
    expect(decoder.push(bad)).toEqual([{ type: "error", kind: "upstream_error", message: "The upstream sent a malformed stream chunk." }]);
    expect(decoder.end()).toEqual([]);
  });

  test("an error chunk before anything else is just the error", () => {
    expect(decodeAll([{ error: { message: "Overloaded", type: "server_error", code: "overloaded <script>" } }])).toEqual([
      { type: "error", kind: "upstream_error", message: "The upstream failed mid-stream (server_error)." },
    ]);
  });
});

describe("createOpenAIUpstreamStreamDecoder: argument pieces split anywhere", () => {
  /** Escapes every non-ASCII character as \uXXXX, so splits can fall inside an escape. */
  const asciiJson = (value: unknown) => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);

  const splitAt = (text: string, cuts: number[]): string[] => {
    const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
    const pieces: string[] = [];
    let previous = 0;
    for (const point of points) {
      pieces.push(text.slice(previous, point));
      previous = point;
    }
    pieces.push(text.slice(previous));
    return pieces;
  };

  test("any split of the arguments, interleaved with a second call, accumulates to the same input", () => {
    const other = { query: "naïve café ☕", limit: 3 };
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ unit: "binary" }), fc.jsonValue({ stringUnit: "binary", maxDepth: 3 }), { maxKeys: 6 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (input, escapeAll, cuts, otherCuts) => {
          const json = escapeAll ? asciiJson(input) : JSON.stringify(input);
          const pieces = splitAt(json, cuts);
          const otherPieces = splitAt(asciiJson(other), otherCuts);
          const chunks: unknown[] = [
            toolPiece({ index: 0, id: "call_a", type: "function", function: { name: "first", arguments: "" } }),
            toolPiece({ index: 1, id: "call_b", type: "function", function: { name: "second", arguments: "" } }),
          ];
          const longest = Math.max(pieces.length, otherPieces.length);
          for (let at = 0; at < longest; at++) {
            const mine = pieces[at];
            const theirs = otherPieces[at];
            if (mine !== undefined) chunks.push(toolPiece({ index: 0, function: { arguments: mine } }));
            if (theirs !== undefined) chunks.push(toolPiece({ index: 1, function: { arguments: theirs } }));
          }
          chunks.push(chunk({}, "tool_calls"));
          const result = accumulateChatEvents(decodeAll(chunks));
          expect(result?.blocks).toEqual([
            { type: "tool-use", id: "call_a", name: "first", input: JSON.parse(json) },
            { type: "tool-use", id: "call_b", name: "second", input: other },
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
