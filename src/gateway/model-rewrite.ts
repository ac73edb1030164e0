/**
 * The passthrough's one change to an upstream event or answer: the model id. Its value is replaced in
 * the text, whatever the spacing around the member's colon, when the id occurs there exactly once as a
 * JSON string and that string is the value of a `"model"` key (a JSON string's own quotes are escaped,
 * so another string cannot hold it, and a nested member with the same id makes two); anything else is
 * re-serialised from the parsed object. For chunks read through a learned slot, the rewrite is worked
 * out once per slot.
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

const MODEL_KEY = '"model"';
const COLON = 58;
const BACKSLASH = 92;

function isJsonSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/** Whether the JSON string at `at` is the value of a `"model"` member: `"model"`, spaces, `:`, spaces, then it. */
function isModelValue(text: string, at: number): boolean {
  let index = at - 1;
  while (index >= 0 && isJsonSpace(text.charCodeAt(index))) index--;
  if (text.charCodeAt(index) !== COLON) return false;
  index--;
  while (index >= 0 && isJsonSpace(text.charCodeAt(index))) index--;
  const keyAt = index - MODEL_KEY.length + 1;
  if (keyAt < 0 || !text.startsWith(MODEL_KEY, keyAt)) return false;
  // An escaped quote (`\"model"`, inside another string) is no key; an escaped backslash before it is.
  let backslashes = 0;
  for (let before = keyAt - 1; before >= 0 && text.charCodeAt(before) === BACKSLASH; before--) backslashes++;
  return backslashes % 2 === 0;
}

export class ModelRewrite {
  /** The upstream's model id `needle` was built for. */
  private current: string | null = null;
  /** The upstream's model id as a JSON string (what `locate` finds), and the client's (what replaces it). */
  needle = "";
  readonly replacement: string;

  constructor(
    private readonly wire: PassthroughWire,
    private readonly model: string,
  ) {
    this.replacement = JSON.stringify(model);
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

  /** Where the model id's value to replace starts in `text`; SAME or RESERIALISE otherwise. */
  locate(text: string, data: Record<string, unknown>): number {
    const message = data.message;
    const current = typeof data.model === "string" ? data.model : isRecord(message) && typeof message.model === "string" ? message.model : null;
    if (current === null || current === this.model) return SAME;
    if (current !== this.current) {
      this.current = current;
      this.needle = JSON.stringify(current);
    }
    const at = text.indexOf(this.needle);
    if (at === -1 || text.indexOf(this.needle, at + this.needle.length) !== -1 || !isModelValue(text, at)) return RESERIALISE;
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
