/**
 * Anthropic SSE events → ChatEvents, each event's data parsed for decode-stream.ts. For a translation,
 * text deltas repeat one envelope around their text (`{"type":"content_block_delta","index":N,"delta":
 * {"type":"text_delta","text":…}}`): once one was parsed, the decoder learns it as a JsonStringSlot, and
 * the reader's lane hands the next ones over as runs of literals, never parsed (slotted-run.ts).
 */

import type { ChatEvent } from "../../canonical/events.ts";
import { JsonStringSlot, type MemberAccess } from "../../lib/json-string-slot.ts";
import type { SseEvent } from "../../sse/decode.ts";
import type { SlottedRun } from "../../sse/slotted-run.ts";
import { parseSseData, type UpstreamEventDecoder } from "../sse-events.ts";
import { createAnthropicUpstreamStreamDecoder } from "./decode-stream.ts";

/** Attempts to learn a slot without a run read through one in between, before learning stops. */
const LEARN_BUDGET = 4;

type TextDeltaEvent = { type: string; index: number; delta: { type: string; text: string } };
/** The slot: a text_delta's text. */
export const ANTHROPIC_TEXT_DELTA: MemberAccess = {
  read: (document) => (document as TextDeltaEvent).delta.text,
  write: (document, value) => {
    (document as TextDeltaEvent).delta.text = value;
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A text_delta's upstream block index and text, when `data` is one (the decoder checks the rest). */
function textDeltaOf(data: unknown): { index: number; text: string } | null {
  if (!isRecord(data) || data.type !== "content_block_delta" || typeof data.index !== "number") return null;
  const delta = data.delta;
  if (!isRecord(delta) || delta.type !== "text_delta" || typeof delta.text !== "string") return null;
  return { index: data.index, text: delta.text };
}

export class AnthropicEventDecoder implements UpstreamEventDecoder {
  private readonly decoder = createAnthropicUpstreamStreamDecoder();
  private slot: JsonStringSlot | null = null;
  private slotEvent = "";
  private learnBudget = LEARN_BUDGET;
  /** The upstream block each learned slot's events address (a run may come from a slot learned before the current one). */
  private readonly slotIndex = new WeakMap<JsonStringSlot, number>();
  lastData: unknown = undefined;
  readonly lastSlot = null;

  /** `learns`: learn text deltas' envelope for the reader's lane (the translated path's reader hands runs over). */
  constructor(private readonly learns: boolean) {}

  get expectedSlot(): JsonStringSlot | null {
    return this.slot;
  }

  get expectedEvent(): string {
    return this.slotEvent;
  }

  push(event: SseEvent, out: ChatEvent[]): void {
    const data = parseSseData(event.data);
    this.lastData = data;
    const events = this.decoder.push(event.event, data);
    for (const item of events) out.push(item);
    if (!this.learns || this.learnBudget <= 0) return;
    const delta = textDeltaOf(data);
    // Only from a text delta the decoder took as one (its block open and a text block's): the events of
    // its envelope then decode the same way, whatever their text.
    const took = events.length === 1 && events[0]?.type === "block-delta" && events[0].delta.type === "text";
    if (delta === null || delta.text === "" || !took || (event.event !== "" && event.event !== "content_block_delta")) return;
    // One the current slot reads (an event a read cut in two, parsed whole): nothing to learn.
    if (this.slot !== null && event.event === this.slotEvent && this.slot.match(event.data) !== null) return;
    this.learnBudget--;
    const slot = JsonStringSlot.learn(event.data, data, delta.text, ANTHROPIC_TEXT_DELTA);
    if (slot === null) return;
    this.slot = slot;
    this.slotEvent = event.event;
    this.slotIndex.set(slot, delta.index);
  }

  /** Text deltas read as one run: what `push` gives for each of them, without their texts. */
  pushRun(run: SlottedRun, out: ChatEvent[]): void {
    const index = this.slotIndex.get(run.slot);
    // The reader reads with this decoder's own slots only; failing the read beats dropping text.
    if (index === undefined) throw new Error("a text run read through a slot this decoder did not learn");
    this.decoder.pushTextRun(index, run, out);
    this.learnBudget = LEARN_BUDGET;
    this.lastData = undefined;
  }

  end(out: ChatEvent[]): void {
    for (const item of this.decoder.end()) out.push(item);
  }
}

/** The translated path's decoder (it learns text deltas' envelope); the passthrough's tap learns nothing. */
export function anthropicEventDecoder(options: { learns?: boolean } = {}): UpstreamEventDecoder {
  return new AnthropicEventDecoder(options.learns ?? false);
}
