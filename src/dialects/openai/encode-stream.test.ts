/** The OpenAI stream encoder's text runs and tool-call arguments (its other events: test/e2e and src/gateway/relay.test.ts). */

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createOpenAIStreamEncoder } from "./encode-stream.ts";
import { textRunOf } from "../../../test/harness/events.ts";

const META = { model: "m", createdSec: 1_700_000_000, includeUsage: false, usageEvent: false };

describe("createOpenAIStreamEncoder", () => {
  test("a text run is byte for byte the content chunks its texts give as block-deltas carrying the upstream's literals", () => {
    const texts = fc.array(fc.oneof(fc.string({ unit: "grapheme", minLength: 1 }), fc.constantFrom("one ", 'say "hi"\n', "thré€ ", "😀", "\u2028")), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(texts, fc.boolean(), (runTexts, escaped) => {
        // An upstream may escape differently from JSON.stringify: its literal goes out as it came.
        const literals = runTexts.map((text) => (escaped ? JSON.stringify(text).replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`) : JSON.stringify(text)));
        const byRun = createOpenAIStreamEncoder(META);
        const perDelta = createOpenAIStreamEncoder(META);
        const run = byRun.encodeTextRun({ type: "text-run", index: 0, run: textRunOf(runTexts, literals) });
        const deltas = runTexts.map((text, index) => perDelta.encode({ type: "block-delta", index: 0, delta: { type: "text", text, literal: literals[index] ?? "" } })).join("");
        // The completion ids differ between encoders: compared without them.
        const withoutIds = (wire: string) => wire.replace(/"id":"chatcmpl-[^"]+"/g, '"id":""');
        expect(run).toBeInstanceOf(Uint8Array);
        const wire = new TextDecoder("utf-8", { fatal: true }).decode(run as Uint8Array);
        expect(withoutIds(wire)).toBe(withoutIds(deltas));
        // Lines split at \n only: SSE's line ends (a regex's `$` would also end one at U+2028).
        const dataLines = wire.split("\n").filter((line) => line.startsWith("data: "));
        const contents = dataLines.map((line) => (JSON.parse(line.slice(6)) as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content);
        expect(contents).toEqual(runTexts);
      }),
      { numRuns: 100 },
    );
  });

  test("a tool call that streamed no arguments (an Anthropic upstream's {} and empty delta) gets OpenAI's \"{}\" before its block ends", () => {
    const encoder = createOpenAIStreamEncoder(META);
    const argumentsOf = (wire: string) =>
      wire
        .split("\n\n")
        .filter((part) => part.startsWith("data: {"))
        .flatMap((part) => (JSON.parse(part.slice(6)) as { choices: Array<{ delta: { tool_calls?: Array<{ index: number; function: { arguments: string } }> } }> }).choices[0]?.delta.tool_calls ?? [])
        .map((call) => [call.index, call.function.arguments]);
    encoder.encode({ type: "start", id: "x", usage: { input: 1, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 } });
    expect(argumentsOf(encoder.encode({ type: "block-start", index: 0, block: { type: "tool-use", id: "toolu_1", name: "now" } }))).toEqual([[0, ""]]);
    expect(encoder.encode({ type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: "" } })).toBe("");
    expect(argumentsOf(encoder.encode({ type: "block-stop", index: 0 }))).toEqual([[0, "{}"]]);
    // One with arguments gets nothing more; one never stopped gets its "{}" with the finish.
    encoder.encode({ type: "block-start", index: 1, block: { type: "tool-use", id: "toolu_2", name: "add" } });
    expect(argumentsOf(encoder.encode({ type: "block-delta", index: 1, delta: { type: "tool-input", partialJson: '{"a":1}' } }))).toEqual([[1, '{"a":1}']]);
    expect(encoder.encode({ type: "block-stop", index: 1 })).toBe("");
    encoder.encode({ type: "block-start", index: 2, block: { type: "tool-use", id: "toolu_3", name: "ping" } });
    const finish = encoder.encode({ type: "finish", stopReason: "tool_use", stopSequence: null, usage: { input: 1, output: 3, cacheRead: 0, cacheWrite: 0, reasoning: 0 } });
    expect(argumentsOf(finish)).toEqual([[2, "{}"]]);
    expect(finish).toContain('"finish_reason":"tool_calls"');
  });

  test("the role chunk comes with the first delta, as OpenAI writes it: content \"\" before text, null with a first tool call or reasoning, alone before an empty finish", () => {
    const USAGE = { input: 1, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
    const deltasOf = (wire: string) =>
      wire
        .split("\n\n")
        .filter((part) => part.startsWith("data: {"))
        .map((part) => (JSON.parse(part.slice(6)) as { choices: Array<{ delta: Record<string, unknown> }> }).choices[0]?.delta);

    const text = createOpenAIStreamEncoder({ ...META, model: "modèle" });
    expect(text.encode({ type: "start", id: "x", usage: USAGE })).toBe("");
    expect(deltasOf(text.encode({ type: "block-delta", index: 0, delta: { type: "text", text: "Hi" } }))).toEqual([{ role: "assistant", content: "", refusal: null }, { content: "Hi" }]);
    expect(deltasOf(text.encode({ type: "block-delta", index: 0, delta: { type: "text", text: "!" } }))).toEqual([{ content: "!" }]);

    const tool = createOpenAIStreamEncoder(META);
    tool.encode({ type: "start", id: "x", usage: USAGE });
    expect(deltasOf(tool.encode({ type: "block-start", index: 0, block: { type: "tool-use", id: "toolu_1", name: "now" } }))).toEqual([
      { role: "assistant", content: null, tool_calls: [{ index: 0, id: "toolu_1", type: "function", function: { name: "now", arguments: "" } }], refusal: null },
    ]);

    const thinking = createOpenAIStreamEncoder(META);
    thinking.encode({ type: "start", id: "x", usage: USAGE });
    expect(deltasOf(thinking.encode({ type: "block-delta", index: 0, delta: { type: "thinking", text: "Hmm" } }))).toEqual([{ role: "assistant", content: null, reasoning_content: "Hmm", refusal: null }]);
    expect(deltasOf(thinking.encode({ type: "block-delta", index: 1, delta: { type: "text", text: "Hi" } }))).toEqual([{ content: "Hi" }]);

    const empty = createOpenAIStreamEncoder(META);
    empty.encode({ type: "start", id: "x", usage: USAGE });
    expect(deltasOf(empty.encode({ type: "finish", stopReason: "end_turn", stopSequence: null, usage: USAGE }))).toEqual([{ role: "assistant", content: "", refusal: null }, {}]);

    // A first text that comes as a run: the role goes first, in the same bytes (a non-ASCII model id included).
    const run = createOpenAIStreamEncoder({ ...META, model: "modèle" });
    run.encode({ type: "start", id: "x", usage: USAGE });
    const bytes = run.encodeTextRun({ type: "text-run", index: 0, run: textRunOf(["a", "b"]) });
    expect(deltasOf(new TextDecoder("utf-8", { fatal: true }).decode(bytes as Uint8Array))).toEqual([{ role: "assistant", content: "", refusal: null }, { content: "a" }, { content: "b" }]);
  });

  test("nothing after the end", () => {
    const encoder = createOpenAIStreamEncoder(META);
    encoder.encode({ type: "error", kind: "upstream_error", message: "gone" });
    expect(encoder.encodeTextRun({ type: "text-run", index: 0, run: textRunOf(["a"]) })).toBe("");
  });
});
