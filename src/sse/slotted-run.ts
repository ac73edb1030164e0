/**
 * The fast lane as the relays use it: the content events of a stream (those of a learned JsonStringSlot's
 * shape, matched as in slotted-events.ts: an OpenAI stream's content chunks, an Anthropic stream's text
 * deltas) read as one run per stretch of a read, where each literal is only located, checked and
 * estimated in tokens. Nothing is decoded to a string: a translation copies the literals into the
 * client's events, a passthrough forwards each event's bytes after the envelope's head.
 */

import { isUtf8 } from "node:buffer";
import type { TextRun } from "../canonical/events.ts";
import { estimateAsciiTokens, estimateTextTokens } from "../canonical/token-estimate.ts";
import type { JsonStringSlot } from "../lib/json-string-slot.ts";
import type { SseEvent } from "./decode.ts";
import { bytesOf, matchEvent, newMatch } from "./slotted-events.ts";

/** Per event of a run: where it starts, its literal starts and ends, and it ends (after its blank line). */
const EVENT_START = 0;
const EVENT_LITERAL_START = 1;
const EVENT_LITERAL_END = 2;
const EVENT_END = 3;
const EVENT_FIELDS = 4;
const EMPTY = new Uint8Array(0);

/**
 * Consecutive events the lane read, as one run: where their literals are in the read, nothing decoded.
 * A translation to a dialect that writes the same JSON string literals copies their bytes (`spans`: the
 * non-empty ones); a passthrough forwards every event's bytes after its envelope's head (`fromLiterals`).
 */
export class SlottedRun implements TextRun {
  readonly slot: JsonStringSlot;
  /** The SSE event name of its events ("" for data-only events). */
  readonly event: string;
  readonly bytes: Buffer;
  readonly spans: Int32Array;
  readonly count: number;
  readonly literalBytes: number;
  readonly tokens: number;
  /** Every event (empty texts included): EVENT_FIELDS numbers each. */
  private readonly events: Int32Array;
  /** How many events it holds (`count` and the empty ones). */
  readonly eventCount: number;
  /** Set by forwardInPlace and textsInPlace, which rewrite the bytes its events are read from. */
  private spent = false;

  constructor(fields: {
    slot: JsonStringSlot;
    event: string;
    bytes: Buffer;
    spans: Int32Array;
    count: number;
    literalBytes: number;
    tokens: number;
    events: Int32Array;
    eventCount: number;
  }) {
    this.slot = fields.slot;
    this.event = fields.event;
    this.bytes = fields.bytes;
    this.spans = fields.spans;
    this.count = fields.count;
    this.literalBytes = fields.literalBytes;
    this.tokens = fields.tokens;
    this.events = fields.events;
    this.eventCount = fields.eventCount;
  }

  texts(): string[] {
    this.assertUnspent();
    const texts: string[] = [];
    for (let index = 0; index < this.count; index++) texts.push(this.textOf(this.spans[2 * index] as number, this.spans[2 * index + 1] as number));
    return texts;
  }

  /** Event `index` (< eventCount): its start, literal start and end, and end, in `bytes`. */
  eventAt(index: number): { start: number; literalStart: number; literalEnd: number; end: number } {
    this.assertUnspent();
    const at = index * EVENT_FIELDS;
    const events = this.events;
    return {
      start: events[at + EVENT_START] as number,
      literalStart: events[at + EVENT_LITERAL_START] as number,
      literalEnd: events[at + EVENT_LITERAL_END] as number,
      end: events[at + EVENT_END] as number,
    };
  }

  /** The data of event `index` as the SSE decoder would give it (its `data:` line's value). */
  dataOf(index: number): string {
    const { start, end } = this.eventAt(index);
    const framing = Buffer.byteLength(this.event === "" ? "data: " : `event: ${this.event}\ndata: `);
    return this.bytes.toString("utf8", start + framing, end - 2);
  }

  /**
   * Each event from its literal to its end (its blank line included): what follows the envelope's head,
   * as spans for `splicedBytes`, and their length.
   */
  fromLiterals(): { spans: Int32Array; spanBytes: number } {
    this.assertUnspent();
    const spans = new Int32Array(2 * this.eventCount);
    let spanBytes = 0;
    for (let index = 0; index < this.eventCount; index++) {
      const at = index * EVENT_FIELDS;
      const start = this.events[at + EVENT_LITERAL_START] as number;
      const end = this.events[at + EVENT_END] as number;
      spans[2 * index] = start;
      spans[2 * index + 1] = end;
      spanBytes += end - start;
    }
    return { spans, spanBytes };
  }

  /**
   * What `fromLiterals` and `splicedBytes` give (each event's bytes from its literal on, behind `head`,
   * the slot's envelope head as the client gets it), written over the run's own bytes instead of into a
   * new buffer: a view of the read, from the first event's start. Null when `head` is longer than the
   * upstream's (every event of a run starts with the same one); no byte moves when it is the upstream's
   * own. The read must be the caller's alone and this its last use of the run: the run is spent after it.
   */
  forwardInPlace(head: Uint8Array): Uint8Array | null {
    this.assertUnspent();
    const events = this.events;
    const first = events[EVENT_START] as number;
    const upstreamHead = (events[EVENT_LITERAL_START] as number) - first;
    if (head.length > upstreamHead) return null;
    if (head.length < upstreamHead) return this.packed(head, EMPTY, EVENT_END);
    this.spent = true;
    // Same length: nothing moves; only the heads change, if they differ at all.
    const bytes = this.bytes;
    if (!bytes.subarray(first, first + upstreamHead).equals(head)) {
      for (let index = 0; index < this.eventCount; index++) bytes.set(head, events[index * EVENT_FIELDS + EVENT_START] as number);
    }
    return bytes.subarray(first, events[(this.eventCount - 1) * EVENT_FIELDS + EVENT_END] as number);
  }

  /**
   * What `textRunBytes(head, tail, run)` gives (each non-empty literal between `head` and `tail`: a
   * translation's events), written over the run's own bytes as forwardInPlace writes. Null when `head` is
   * longer than the upstream's or an event's bytes outside its literal are fewer than `head` and `tail`
   * together (its output would pass what is still to be read). Spends the run, as forwardInPlace does.
   */
  textsInPlace(head: Uint8Array, tail: Uint8Array): Uint8Array | null {
    this.assertUnspent();
    const events = this.events;
    if (head.length > (events[EVENT_LITERAL_START] as number) - (events[EVENT_START] as number)) return null;
    for (let field = 0; field < this.eventCount * EVENT_FIELDS; field += EVENT_FIELDS) {
      const literal = (events[field + EVENT_LITERAL_END] as number) - (events[field + EVENT_LITERAL_START] as number);
      if ((events[field + EVENT_END] as number) - (events[field + EVENT_START] as number) - literal < head.length + tail.length) return null;
    }
    return this.packed(head, tail, EVENT_LITERAL_END);
  }

  /**
   * Writes each event as `head`, its bytes from its literal's start to `through` (its literal's end, when
   * empty literals are dropped as no delta; or its own end), and `tail`, packed from the first event's start;
   * spends the run. The callers have checked that no event's output is longer than the event and no head
   * longer than the upstream's: events are back to back, so what is written never passes what is still to
   * be read (copyWithin moves overlapping bytes as memmove does).
   */
  private packed(head: Uint8Array, tail: Uint8Array, through: typeof EVENT_END | typeof EVENT_LITERAL_END): Uint8Array {
    this.spent = true;
    const events = this.events;
    const bytes = this.bytes;
    const first = events[EVENT_START] as number;
    let at = first;
    for (let field = 0; field < this.eventCount * EVENT_FIELDS; field += EVENT_FIELDS) {
      const from = events[field + EVENT_LITERAL_START] as number;
      const to = events[field + through] as number;
      if (through === EVENT_LITERAL_END && to - from <= 2) continue;
      bytes.set(head, at);
      at += head.length;
      bytes.copyWithin(at, from, to);
      at += to - from;
      if (tail.length > 0) bytes.set(tail, at);
      at += tail.length;
    }
    return bytes.subarray(first, at);
  }

  private assertUnspent(): void {
    if (this.spent) throw new Error("a run written over in place has no events left to read");
  }

  /** A literal's text (checked when read: one with a backslash is valid JSON, one without is its text in quotes). */
  private textOf(start: number, end: number): string {
    const literal = this.bytes.toString("utf8", start, end);
    return literal.includes("\\") ? (JSON.parse(literal) as string) : literal.slice(1, -1);
  }
}

/**
 * The lane as runs: reads events of `slot`'s shape from the start of `chunk` (an event boundary) and
 * appends them to `out` as one SlottedRun; returns where it stopped. Beyond the envelope it checks each
 * literal (valid escapes, well-formed UTF-8) and estimates its tokens; an empty literal is an event of
 * the run with no text (as its parse gives no delta).
 */
export function readSlottedRun(chunk: Uint8Array, slot: JsonStringSlot, out: (SseEvent | SlottedRun)[], event = ""): number {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const envelope = bytesOf(slot, event);
  if (!envelope.laneable) return 0;
  const match = newMatch();
  // No event is shorter than its envelope, two quotes and the blank line (and the free member's quotes).
  const shortestEvent = envelope.head.length + envelope.suffix.length + 4 + (envelope.tail === null ? 0 : envelope.tail.length + 2);
  /** Made at the first event, for as many as the rest of the read can hold (the lane stops often on some streams). */
  let events: Int32Array | null = null;
  let spans: Int32Array | null = null;
  let eventCount = 0;
  let count = 0;
  let literalBytes = 0;
  let tokens = 0;
  let position = 0;
  while (position < bytes.length && matchEvent(bytes, position, envelope, match)) {
    const { literalStart, literalEnd } = match;
    if (literalEnd - literalStart > 2) {
      let estimate: number;
      if (match.plain && match.ascii) {
        estimate = estimateAsciiTokens(bytes, literalStart + 1, literalEnd - 1);
      } else {
        // Copied as they are, the bytes must be what a decoder would have written: no malformed UTF-8.
        if (!isUtf8(bytes.subarray(literalStart, literalEnd))) break;
        const text = match.plain ? bytes.toString("utf8", literalStart + 1, literalEnd - 1) : slot.readLiteral(bytes.toString("utf8", literalStart, literalEnd));
        if (text === null) break;
        estimate = estimateTextTokens(text);
      }
      spans ??= new Int32Array(2 * (Math.floor((bytes.length - position) / shortestEvent) + 1));
      spans[2 * count] = literalStart;
      spans[2 * count + 1] = literalEnd;
      count++;
      literalBytes += literalEnd - literalStart;
      tokens += estimate;
    }
    events ??= new Int32Array(EVENT_FIELDS * (Math.floor((bytes.length - position) / shortestEvent) + 1));
    const at = eventCount * EVENT_FIELDS;
    events[at + EVENT_START] = position;
    events[at + EVENT_LITERAL_START] = literalStart;
    events[at + EVENT_LITERAL_END] = literalEnd;
    events[at + EVENT_END] = match.next;
    eventCount++;
    position = match.next;
  }
  if (events !== null) {
    const literals = spans === null ? new Int32Array(0) : spans.subarray(0, 2 * count);
    out.push(new SlottedRun({ slot, event, bytes, spans: literals, count, literalBytes, tokens, events: events.subarray(0, EVENT_FIELDS * eventCount), eventCount }));
  }
  return position;
}
