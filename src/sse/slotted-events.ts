/**
 * The fast lane of an SSE body whose events repeat a learned JsonStringSlot (an OpenAI stream's content
 * chunks, an Anthropic stream's text deltas): each `data: <prefix>"…"<suffix>\n\n` event (after its
 * `event: <name>` line when named; with a free member: `data: <prefix>"…"<suffix>"…"<tail>\n\n`)
 * is recognised on the bytes themselves (compares of the envelope, one search for the line end) and only
 * its string literal is decoded, instead of the whole read being decoded to text and each event's data
 * sliced and compared as a string. Anything else stops the lane, and the SSE decoder reads on from there
 * exactly as before.
 */

import type { JsonStringSlot } from "../lib/json-string-slot.ts";
import type { SseEvent } from "./decode.ts";

const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const DATA_FIELD = Buffer.from("data: ");

/** An event read through the lane: its text (and literal) are known; its data is rebuilt only if asked for. */
export class SlottedSseEvent implements SseEvent {
  constructor(
    /** The SSE event name ("" for a data-only event). */
    readonly event: string,
    readonly slot: JsonStringSlot,
    /** The string's value. */
    readonly text: string,
    /** The string literal, quotes included, as the upstream wrote it. */
    readonly literal: string,
    /** The read holding the free member's literal (null for a slot without one), and where it is. */
    private readonly freeBytes: Buffer | null = null,
    private readonly freeStart = 0,
    private readonly freeEnd = 0,
  ) {}

  /**
   * The free member's literal as the upstream wrote it; "" for a slot without one. Made from the read's
   * bytes only when asked for: a translation never needs it, a passthrough forwards it.
   */
  get free(): string {
    return this.freeBytes === null ? "" : this.freeBytes.toString("latin1", this.freeStart, this.freeEnd);
  }

  /** The event's data as the SSE decoder would have given it. */
  get data(): string {
    const { prefix, suffix, tail } = this.slot;
    return tail === null ? prefix + this.literal + suffix : prefix + this.literal + suffix + this.free + tail;
  }
}

/** The slot's envelope as bytes (with its SSE framing), worked out once per slot. */
export interface SlotBytes {
  /** The SSE event name the head frames ("" for a data-only event). */
  event: string;
  /** `event: <name>\n` when named, `data: ` and the slot's prefix. */
  head: Buffer;
  suffix: Buffer;
  tail: Buffer | null;
  /**
   * Whether the lane may read the slot's events from bytes: not when its envelope holds a line break. A
   * slot learned from data sent over several `data:` lines (valid SSE, joined with \n) would otherwise
   * take a later event whose continuation line lacks its `data:` field, which an SSE parser reads as a
   * data line cut short: such a slot is matched on decoded data only.
   */
  laneable: boolean;
}
const LINE_BREAK = /[\r\n]/;
const slotBytes = new WeakMap<JsonStringSlot, SlotBytes>();

export function bytesOf(slot: JsonStringSlot, event: string): SlotBytes {
  let bytes = slotBytes.get(slot);
  if (bytes?.event !== event) {
    const framing = event === "" ? DATA_FIELD : Buffer.from(`event: ${event}\ndata: `);
    bytes = {
      event,
      head: Buffer.concat([framing, Buffer.from(slot.prefix)]),
      suffix: Buffer.from(slot.suffix),
      tail: slot.tail === null ? null : Buffer.from(slot.tail),
      laneable: !LINE_BREAK.test(slot.prefix) && !LINE_BREAK.test(slot.suffix) && (slot.tail === null || !LINE_BREAK.test(slot.tail)),
    };
    slotBytes.set(slot, bytes);
  }
  return bytes;
}

/**
 * Where the free member's literal starts, given where it ends (after its closing quote): the quote before
 * the closing one, since a literal without escapes holds none; −1 for a literal with escapes, control or
 * non-ASCII characters (left to the SSE decoder), or none after `floor`.
 */
function freeLiteralStart(bytes: Buffer, floor: number, end: number): number {
  if (bytes[end - 1] !== QUOTE) return -1;
  for (let index = end - 2; index > floor; index--) {
    const byte = bytes[index] as number;
    if (byte === QUOTE) return index;
    if (byte === BACKSLASH || byte < 0x20 || byte >= 0x80) return -1;
  }
  return -1;
}

/** Envelope parts this long or shorter are compared in a loop: cheaper than a native call under ~64 bytes. */
const SHORT_COMPARE = 64;

/** Whether `bytes` holds `expected` at `position` (the caller checked it fits). */
function holdsAt(bytes: Buffer, position: number, expected: Buffer): boolean {
  if (expected.length > SHORT_COMPARE) return bytes.compare(expected, 0, expected.length, position, position + expected.length) === 0;
  for (let index = 0; index < expected.length; index++) if (bytes[position + index] !== expected[index]) return false;
  return true;
}

/**
 * ASCII bytes as a string: a streamed token is a few characters, and one `String.fromCharCode` of them
 * costs about half of a native `toString` call (bench/translation.ts profiles the lane).
 */
function asciiText(bytes: Buffer, start: number, end: number): string {
  const at = (offset: number) => bytes[start + offset] as number;
  switch (end - start) {
    case 1:
      return String.fromCharCode(at(0));
    case 2:
      return String.fromCharCode(at(0), at(1));
    case 3:
      return String.fromCharCode(at(0), at(1), at(2));
    case 4:
      return String.fromCharCode(at(0), at(1), at(2), at(3));
    case 5:
      return String.fromCharCode(at(0), at(1), at(2), at(3), at(4));
    case 6:
      return String.fromCharCode(at(0), at(1), at(2), at(3), at(4), at(5));
    default:
      return bytes.toString("latin1", start, end);
  }
}

/** Where the lane found an event's parts; one per lane call, filled again for every event. */
export interface EventMatch {
  literalStart: number;
  literalEnd: number;
  /** The free member's literal (0 and 0 for a slot without one). */
  freeStart: number;
  freeEnd: number;
  /** Where the next event starts. */
  next: number;
  /** No quote, backslash or control character inside the literal: its bytes are its text. */
  plain: boolean;
  ascii: boolean;
}

export function newMatch(): EventMatch {
  return { literalStart: 0, literalEnd: 0, freeStart: 0, freeEnd: 0, next: 0, plain: true, ascii: true };
}

/**
 * Whether an event of the slot's shape starts at `position`, whole in the read; fills `match`. The
 * literal of a match that is not plain is the caller's to check (`slot.readLiteral`).
 */
export function matchEvent(bytes: Buffer, position: number, envelope: SlotBytes, match: EventMatch): boolean {
  const { head, suffix, tail } = envelope;
  const literalStart = position + head.length;
  // `equals` of a view: about half the cost of `compare` with offsets (bench/lane.ts).
  if (literalStart > bytes.length || !bytes.subarray(position, literalStart).equals(head)) return false;
  const lineEnd = bytes.indexOf(LF, literalStart);
  // The event ends with its blank line; a line end the read does not hold yet is the SSE decoder's.
  if (lineEnd === -1 || lineEnd + 1 >= bytes.length || bytes[lineEnd + 1] !== LF) return false;
  let suffixEnd = lineEnd;
  if (tail !== null) {
    const freeEnd = lineEnd - tail.length;
    if (freeEnd - literalStart < 4 || !holdsAt(bytes, freeEnd, tail)) return false;
    suffixEnd = freeLiteralStart(bytes, literalStart, freeEnd);
    if (suffixEnd < 0) return false;
    match.freeStart = suffixEnd;
    match.freeEnd = freeEnd;
  }
  const literalEnd = suffixEnd - suffix.length;
  if (literalEnd - literalStart < 2 || !holdsAt(bytes, literalEnd, suffix)) return false;
  if (bytes[literalStart] !== QUOTE || bytes[literalEnd - 1] !== QUOTE) return false;
  let plain = true;
  let ascii = true;
  for (let index = literalStart + 1; index < literalEnd - 1; index++) {
    const byte = bytes[index] as number;
    if (byte === QUOTE || byte === BACKSLASH || byte < 0x20) {
      plain = false;
      break;
    }
    if (byte >= 0x80) ascii = false;
  }
  match.literalStart = literalStart;
  match.literalEnd = literalEnd;
  match.next = lineEnd + 2;
  match.plain = plain;
  match.ascii = ascii;
  return true;
}

/**
 * Reads events of `slot`'s shape from the start of `chunk` (which must start at an event boundary),
 * appending them to `out`; returns where the lane stopped (the chunk's length when it read it all). The
 * lane one event at a time: the relays read runs (slotted-run.ts); this is the reference their tests
 * compare runs with, and bench/lane.ts's per-event path.
 */
export function readSlottedEvents(chunk: Uint8Array, slot: JsonStringSlot, out: SseEvent[], event = ""): number {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const envelope = bytesOf(slot, event);
  if (!envelope.laneable) return 0;
  const match = newMatch();
  let position = 0;
  while (position < bytes.length && matchEvent(bytes, position, envelope, match)) {
    const { literalStart, literalEnd } = match;
    let text: string;
    let literal: string;
    if (match.plain) {
      text = match.ascii ? asciiText(bytes, literalStart + 1, literalEnd - 1) : bytes.toString("utf8", literalStart + 1, literalEnd - 1);
      literal = `"${text}"`;
    } else {
      literal = bytes.toString("utf8", literalStart, literalEnd);
      const value = slot.readLiteral(literal);
      if (value === null) break;
      text = value;
    }
    out.push(envelope.tail === null ? new SlottedSseEvent(event, slot, text, literal) : new SlottedSseEvent(event, slot, text, literal, bytes, match.freeStart, match.freeEnd));
    position = match.next;
  }
  return position;
}
