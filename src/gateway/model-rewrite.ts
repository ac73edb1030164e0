/**
 * The passthrough's one change to an upstream event or answer: the model id. The member is replaced in
 * the text when it occurs there exactly once as `"model":"<id>"` or `"model": "<id>"` (what upstreams
 * write; a JSON string's own quotes are escaped, so only a member matches); anything else is
 * re-serialised from the parsed object. For chunks read through a learned slot, the rewrite is worked out once per slot.
 */

import type { JsonStringSlot } from "../lib/json-string-slot.ts";
import type { SseEvent } from "../sse/decode.ts";
import type { PassthroughWire } from "./codec.ts";

/** `locate` results other than a position: nothing to change, or no single member to replace in the text. */
const SAME = -1;
const RESERIALISE = -2;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export class ModelRewrite {
  /** The upstream's model id the needles were built for. */
  private current: string | null = null;
  /** The member as `locate` last found it, and what replaces it (in the same spacing). */
  needle = "";
  replacement: string;
  private compactNeedle = "";
  private spacedNeedle = "";
  private readonly compactReplacement: string;
  private readonly spacedReplacement: string;

  constructor(
    private readonly wire: PassthroughWire,
    private readonly model: string,
  ) {
    this.compactReplacement = `"model":${JSON.stringify(model)}`;
    this.spacedReplacement = `"model": ${JSON.stringify(model)}`;
    this.replacement = this.compactReplacement;
  }

  /** The event's data text as the client gets it. May set the model in `data` (when re-serialised). */
  apply(text: string, data: Record<string, unknown>): string {
    const at = this.locate(text, data);
    if (at === SAME) return text;
    if (at === RESERIALISE) {
      this.wire.setModel(data, this.model);
      return JSON.stringify(data);
    }
    return this.replaceAt(text, at);
  }

  /** Where the model member to replace starts in `text`; SAME or RESERIALISE otherwise. */
  locate(text: string, data: Record<string, unknown>): number {
    const message = data.message;
    const current = typeof data.model === "string" ? data.model : isRecord(message) && typeof message.model === "string" ? message.model : null;
    if (current === null || current === this.model) return SAME;
    if (current !== this.current) {
      this.current = current;
      this.compactNeedle = `"model":${JSON.stringify(current)}`;
      this.spacedNeedle = `"model": ${JSON.stringify(current)}`;
    }
    // Stream chunks are compact; OpenAI's non-stream answers are indented, with a space after the colon.
    let at = text.indexOf(this.compactNeedle);
    if (at !== -1) {
      this.needle = this.compactNeedle;
      this.replacement = this.compactReplacement;
    } else {
      at = text.indexOf(this.spacedNeedle);
      this.needle = this.spacedNeedle;
      this.replacement = this.spacedReplacement;
    }
    if (at === -1 || text.indexOf(this.needle, at + this.needle.length) !== -1) return RESERIALISE;
    return at;
  }

  replaceAt(text: string, at: number): string {
    return `${text.slice(0, at)}${this.replacement}${text.slice(at + this.needle.length)}`;
  }
}

/**
 * How the chunks of one slot reach the client: the SSE event's text up to the chunk's literal (its
 * `event:` line, `data: ` and the slot's prefix as rewritten) and after it (the suffix as rewritten, and
 * the blank line); for a slot with a free member, the suffix runs up to the free literal, which the chunk
 * gives, and `freeTail` (the slot's tail and the blank line) follows it. `head` null when they cannot be
 * forwarded so (they are then parsed).
 */
export interface SlotForward {
  slot: JsonStringSlot;
  eventName: string;
  head: string | null;
  tail: string;
  freeTail: string | null;
  /**
   * `head` as bytes when everything after it goes out as the upstream wrote it (the model member, if
   * any, is in the prefix): a run of chunks is then forwarded as spans of the read (slotted-run.ts).
   */
  headBytes: Uint8Array | null;
}

const utf8 = new TextEncoder();

/** The SSE framing around data from an SSE line or a slot's envelope (no line break in either: checked or by construction). */
function framed(slot: JsonStringSlot, eventName: string, prefix: string, suffix: string): SlotForward {
  const head = eventName === "" ? `data: ${prefix}` : `event: ${eventName}\ndata: ${prefix}`;
  const headBytes = suffix === slot.suffix ? utf8.encode(head) : null;
  if (slot.tail === null) return { slot, eventName, head, tail: `${suffix}\n\n`, freeTail: null, headBytes };
  return { slot, eventName, head, tail: suffix, freeTail: `${slot.tail}\n\n`, headBytes };
}

/** A slotted chunk as the client gets it: the forwarding's envelope (`head` its non-null head) around its literal and free literal. */
export function forwardedText(forward: SlotForward, head: string, literal: string, free: string): string {
  return forward.freeTail === null ? head + literal + forward.tail : head + literal + forward.tail + free + forward.freeTail;
}

/**
 * Works out a slot's forwarding from one of its chunks (parsed once here). Exact: the chunks differ only
 * in the literal (and the free member's, after it), which hold no unescaped quote, so the model member
 * sits at the same place in the envelope of each, and the wire's decisions (usage event, terminal) are
 * those of this chunk.
 */
export function slotForward(slot: JsonStringSlot, event: SseEvent, wire: PassthroughWire, rewrite: ModelRewrite): SlotForward {
  const refused: SlotForward = { slot, eventName: event.event, head: null, tail: "", freeTail: null, headBytes: null };
  const raw = event.data;
  // Data that came in several `data:` lines holds line breaks: it is re-encoded from the parse instead.
  if (raw.includes("\n") || raw.includes("\r")) return refused;
  const data: unknown = JSON.parse(raw);
  if (!isRecord(data) || wire.isUsageEvent(event, data) || wire.isTerminal(event, data)) return refused;
  const at = rewrite.locate(raw, data);
  if (at === SAME) return framed(slot, event.event, slot.prefix, slot.suffix);
  if (at === RESERIALISE) return refused;
  const end = at + rewrite.needle.length;
  if (end <= slot.prefix.length) return framed(slot, event.event, rewrite.replaceAt(slot.prefix, at), slot.suffix);
  // The suffix starts after the chunk's literal; with a free member it ends before the free literal (a
  // model member after that, in the tail, is not rewritten here: those chunks are parsed).
  const suffixStart = slot.prefix.length + slot.literalOf(raw).length;
  if (at >= suffixStart && end <= suffixStart + slot.suffix.length) return framed(slot, event.event, slot.prefix, rewrite.replaceAt(slot.suffix, at - suffixStart));
  return refused;
}
