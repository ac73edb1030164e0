/**
 * Canonical events in one comparable form: a text run (the lane's) as the text deltas it stands for, and
 * a text delta's `literal` (an encoding shortcut) checked against its text and left out. Two decodes of
 * the same stream agree in this form however the reads split it.
 */

import { expect } from "bun:test";
import type { ChatEvent } from "../../src/canonical/events.ts";
import { JsonStringSlot } from "../../src/lib/json-string-slot.ts";
import { OPENAI_CHUNK_CONTENT } from "../../src/providers/openai/decode-events.ts";
import { readSlottedRun, SlottedRun } from "../../src/sse/slotted-run.ts";

export function asTextDeltas(events: readonly ChatEvent[]): ChatEvent[] {
  const out: ChatEvent[] = [];
  for (const event of events) {
    if (event.type === "text-run") {
      for (const text of event.run.texts()) out.push({ type: "block-delta", index: event.index, delta: { type: "text", text } });
    } else if (event.type === "block-delta" && event.delta.type === "text" && event.delta.literal !== undefined) {
      expect(JSON.parse(event.delta.literal)).toBe(event.delta.text);
      out.push({ type: "block-delta", index: event.index, delta: { type: "text", text: event.delta.text } });
    } else {
      out.push(event);
    }
  }
  return out;
}

const RUN_ENVELOPE = { id: "chatcmpl-run", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-run" };
const SLOT_MARK = "\u0000slot\u0000";
const runChunk = (literal: string) =>
  `data: ${JSON.stringify({ ...RUN_ENVELOPE, choices: [{ index: 0, delta: { content: SLOT_MARK }, finish_reason: null }] }).replace(JSON.stringify(SLOT_MARK), () => literal)}\n\n`;

/**
 * A text run as the translation's lane reads it from an OpenAI stream whose content chunks hold `texts`
 * (non-empty ones), each written as its literal in `literals` (JSON.stringify's by default; an upstream
 * may escape differently, e.g. `"caf\u00e9"`).
 */
export function textRunOf(texts: readonly string[], literals: readonly string[] = texts.map((text) => JSON.stringify(text))): SlottedRun {
  literals.forEach((literal, index) => expect(JSON.parse(literal)).toBe(texts[index] as string));
  const first = JSON.stringify({ ...RUN_ENVELOPE, choices: [{ index: 0, delta: { content: "Hello" }, finish_reason: null }] });
  const slot = JsonStringSlot.learn(first, JSON.parse(first), "Hello", OPENAI_CHUNK_CONTENT);
  if (!slot) throw new Error("the slot was not learned");
  const body = new TextEncoder().encode(literals.map(runChunk).join(""));
  const items: unknown[] = [];
  const read = readSlottedRun(body, slot, items as Parameters<typeof readSlottedRun>[2]);
  const run = items[0];
  if (read !== body.length || items.length !== 1 || !(run instanceof SlottedRun)) throw new Error("the lane did not read the texts as one run");
  return run;
}
