/**
 * The Anthropic SSE-level decoder with the translation's lane: whatever the stream and however its reads
 * split it, the events (text runs read as their deltas) must be those of parsing every event.
 */

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ChatEvent } from "../../canonical/events.ts";
import { SseDecoder } from "../../sse/decode.ts";
import { parseSseData, upstreamEventReader } from "../sse-events.ts";
import { anthropicEventDecoder } from "./decode-events.ts";
import { createAnthropicUpstreamStreamDecoder } from "./decode-stream.ts";
import { asTextDeltas } from "../../../test/harness/events.ts";

/** Every event parsed and pushed: what the lane must not change. */
function reference(body: string): ChatEvent[] {
  const sse = new SseDecoder();
  const decoder = createAnthropicUpstreamStreamDecoder();
  const out: ChatEvent[] = [];
  for (const event of [...sse.push(new TextEncoder().encode(body)), ...sse.end()]) out.push(...decoder.push(event.event, parseSseData(event.data)));
  out.push(...decoder.end());
  return out;
}

async function throughReader(body: string, cuts: number[], learns: boolean): Promise<ChatEvent[]> {
  const bytes = new TextEncoder().encode(body);
  const points = [...new Set(cuts.map((cut) => cut % bytes.length))].sort((a, b) => a - b);
  const reads = [...points, bytes.length].map((end, index) => bytes.slice(index === 0 ? 0 : points[index - 1], end));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const read of reads) controller.enqueue(read);
      controller.close();
    },
  });
  const reader = upstreamEventReader(stream, anthropicEventDecoder({ learns }));
  const events: ChatEvent[] = [];
  for (let next = await reader.read(); !next.done; next = await reader.read()) events.push(...next.value);
  return events;
}

const sse = (name: string | null, data: unknown) => `${name === null ? "" : `event: ${name}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
const start = sse("message_start", { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], usage: { input_tokens: 5, output_tokens: 1 } } });
const blockStart = (index: number, type: "text" | "thinking" | "tool_use") =>
  sse("content_block_start", {
    type: "content_block_start",
    index,
    content_block: type === "text" ? { type, text: "" } : type === "thinking" ? { type, thinking: "" } : { type, id: `toolu_${index}`, name: "f", input: {} },
  });
const textDelta = (index: number, text: string, named = true) => sse(named ? "content_block_delta" : null, { type: "content_block_delta", index, delta: { type: "text_delta", text } });
const blockStop = (index: number) => sse("content_block_stop", { type: "content_block_stop", index });
const finish = sse("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 9 } }) + sse("message_stop", { type: "message_stop" });

describe("AnthropicEventDecoder with the lane", () => {
  test("text deltas after the first come as one text run per read, with the same texts", async () => {
    const texts = Array.from({ length: 30 }, (_, index) => `w${index} `);
    const body = start + blockStart(0, "text") + texts.map((text) => textDelta(0, text)).join("") + blockStop(0) + finish;
    const cut = (start + blockStart(0, "text") + textDelta(0, texts[0] ?? "")).length;
    const events = await throughReader(body, [cut], true);
    const runs = events.flatMap((event) => (event.type === "text-run" ? [event.run] : []));
    expect(runs).toHaveLength(1);
    expect(runs[0]?.texts()).toEqual(texts.slice(1));
    expect(asTextDeltas(events)).toEqual(reference(body));
    // Read whole: the deltas after the first still come as one run (the first events are decoded one by one until the slot is learned).
    const whole = await throughReader(body, [], true);
    expect(whole.flatMap((event) => (event.type === "text-run" ? [event.run.texts()] : []))).toEqual([texts.slice(1)]);
    expect(asTextDeltas(whole)).toEqual(reference(body));
    // The passthrough's tap learns nothing: no runs.
    expect((await throughReader(body, [cut], false)).some((event) => event.type === "text-run")).toBe(false);
  });

  test("any stream, split into reads anywhere, decodes as parsing every event", async () => {
    const text = fc.oneof(fc.string({ unit: "binary", maxLength: 6 }), fc.constantFrom("", "a/b", "café", "😀", "\u2028"));
    /** A text delta written with escapes JSON.stringify would not use. */
    const escaped = (index: number) => fc.constantFrom(["a\\/b", "a/b"], ["caf\\u00e9", "café"], ["\\ud83d\\ude00", "😀"]).map(([literal, value]) => textDelta(index, value ?? "").replace(JSON.stringify(value), `"${literal}"`));
    const block = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.array(text, { maxLength: 12 }), fc.array(fc.nat({ max: 11 }), { maxLength: 3 }), fc.boolean()).map(([texts, escapes, named]) => ({ type: "text" as const, texts, escapes, named })) },
      { weight: 1, arbitrary: fc.array(text, { maxLength: 4 }).map((texts) => ({ type: "thinking" as const, texts, escapes: [] as number[], named: true })) },
      { weight: 1, arbitrary: fc.constant({ type: "tool_use" as const, texts: [] as string[], escapes: [] as number[], named: true }) },
    );
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(block, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), async (blocks, cuts, cut) => {
        let body = start;
        blocks.forEach((spec, index) => {
          body += blockStart(index, spec.type);
          spec.texts.forEach((value, at) => {
            if (spec.type === "thinking") body += sse("content_block_delta", { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: value } });
            else body += spec.escapes.includes(at) ? fc.sample(escaped(index), { numRuns: 1, seed: at })[0] : textDelta(index, value, spec.named);
          });
          if (index % 2 === 1) body += sse("ping", { type: "ping" });
          body += blockStop(index);
        });
        body += cut ? "" : finish;
        const events = await throughReader(body, cuts, true);
        runs += events.filter((event) => event.type === "text-run").length;
        expect(asTextDeltas(events)).toEqual(reference(body));
      }),
      { numRuns: 300 },
    );
    // The lane took part.
    expect(runs).toBeGreaterThan(50);
  });

  test("deltas for a block that was stopped, or restarted as one Tollgate skips, decode as parsing them does (an error, nothing)", async () => {
    const deltas = (count: number) => Array.from({ length: count }, (_, at) => textDelta(0, `t${at} `)).join("");
    const head = start + blockStart(0, "text") + deltas(2);
    const skipped = sse("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "server_tool_use", id: "srv_1", name: "web_search", input: {} } });
    for (const body of [head + blockStop(0) + deltas(5) + finish, head + blockStop(0) + skipped + deltas(5) + blockStop(0) + finish]) {
      // Cut after the deltas that teach the slot, so the later ones arrive as a run.
      const events = await throughReader(body, [head.length + blockStop(0).length + (body.includes("server_tool_use") ? skipped.length : 0)], true);
      expect(asTextDeltas(events)).toEqual(reference(body));
    }
    expect(reference(head + blockStop(0) + deltas(5) + finish).at(-1)).toMatchObject({ type: "error" });
  });

  test("framing the lane does not take (no space after the colon, id lines, comments, CRLF) and odd deltas decode as parsing them", async () => {
    const texts = Array.from({ length: 8 }, (_, at) => `t${at} `);
    const deltas = (index: number) => texts.map((text) => textDelta(index, text)).join("");
    const variants = [
      deltas(0).replaceAll("event: content_block_delta", "event:content_block_delta"),
      deltas(0).replaceAll("event: content_block_delta\n", "event: content_block_delta\nid: 7\n"),
      deltas(0).replaceAll("\n\n", "\n\n: keepalive\n\n"),
      deltas(0).replaceAll("\n", "\r\n"),
      deltas(0).replaceAll("event: content_block_delta", "event: message"),
    ];
    for (const middle of variants) {
      const body = start + blockStart(0, "text") + textDelta(0, "first ") + middle + blockStop(0) + finish;
      const cut = (start + blockStart(0, "text") + textDelta(0, "first ")).length;
      expect(asTextDeltas(await throughReader(body, [cut], true))).toEqual(reference(body));
    }
    // Text deltas into a thinking block, and deltas after message_stop.
    const odd = start + blockStart(0, "thinking") + textDelta(0, "x ") + deltas(0) + blockStop(0) + finish + deltas(0);
    expect(asTextDeltas(await throughReader(odd, [(start + blockStart(0, "thinking") + textDelta(0, "x ")).length], true))).toEqual(reference(odd));
  });
});
