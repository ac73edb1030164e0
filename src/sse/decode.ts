/**
 * Server-sent events from bytes: a push parser that follows the WHATWG event-stream rules (\n, \r\n or
 * \r line ends, `:` comments, multi-line `data`, one optional space after the colon, dispatch on a
 * blank line). Chunks may split anywhere, including inside a UTF-8 character.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */

import { GatewayError } from "../errors.ts";

export interface SseEvent {
  /** The `event:` field, "" when absent (the spec's default type "message"). */
  event: string;
  data: string;
}

/**
 * The longest line or event (in UTF-16 code units) a stream may hold unfinished: an upstream that never ends
 * one would otherwise grow the buffer until the process runs out of memory. Real events are a few KB.
 */
export const MAX_SSE_EVENT_CHARS = 32 * 1024 * 1024;

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

/** Where decoded events go: an array of them, or of them and other items. */
export interface SseEventSink {
  push(event: SseEvent): unknown;
}

export class SseDecoder {
  private readonly text = new TextDecoder("utf-8");
  private buffer = "";
  private event = "";
  /** The event's data lines joined by \n; null until a `data` field arrives. */
  private data: string | null = null;
  private sawCarriageReturn = false;
  /** Whether the last chunk fed ended with \n (so the text decoder holds no part of a character). */
  private endedWithLineFeed = true;

  constructor(private readonly maxEventChars = MAX_SSE_EVENT_CHARS) {}

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Uint8Array): SseEvent[] {
    const events: SseEvent[] = [];
    this.pushInto(chunk, events);
    return events;
  }

  /** The same, appending the events to `out` (one array for all the events of a read). */
  pushInto(chunk: Uint8Array, out: SseEventSink): void {
    if (chunk.length === 0) return;
    this.endedWithLineFeed = chunk[chunk.length - 1] === LF;
    this.feed(this.text.decode(chunk, { stream: true }), out);
  }

  /** Whether everything fed so far is complete events: the next byte starts a new one (slotted-events.ts). */
  atEventBoundary(): boolean {
    return this.endedWithLineFeed && this.buffer === "" && this.data === null && this.event === "" && !this.sawCarriageReturn;
  }

  /** Flushes the end of the stream: a final event without its blank line is discarded, as the spec says. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    this.feed(this.text.decode(), events);
    this.buffer = "";
    this.data = null;
    this.event = "";
    return events;
  }

  private feed(input: string, events: SseEventSink): void {
    let text = input;
    // A \r\n split across chunks: the \n belongs to the line the \r already ended.
    if (this.sawCarriageReturn && text.charCodeAt(0) === LF) text = text.slice(1);
    this.sawCarriageReturn = false;
    let start = 0;
    if (this.buffer !== "") {
      // The buffer holds the start of one line: it is completed on its own, so the chunk is scanned as it
      // came (joining the two would copy the whole chunk into a new string).
      const lf = text.indexOf("\n");
      const cr = text.indexOf("\r");
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (end === -1) {
        this.buffer += text;
        this.checkSize(this.buffer.length);
        return;
      }
      const line = this.buffer + text.slice(0, end);
      this.buffer = "";
      this.line(line, 0, line.length, events);
      start = this.afterLineEnd(text, end);
    }
    this.buffer = this.scan(text, start, events);
    this.checkSize(this.buffer.length);
  }

  /** Not retried on another channel: the upstream accepted the call (its input is billed) and is answering it. */
  private checkSize(chars: number): void {
    if (chars > this.maxEventChars) throw new GatewayError("upstream_error", `The upstream sent a server-sent event longer than ${this.maxEventChars} characters.`);
  }

  /** Where the next line starts after the line end at `end` (a \r\n counts as one). */
  private afterLineEnd(text: string, end: number): number {
    const next = end + 1;
    if (text.charCodeAt(end) !== CR) return next;
    if (next >= text.length) {
      this.sawCarriageReturn = true;
      return next;
    }
    return text.charCodeAt(next) === LF ? next + 1 : next;
  }

  /** Reads the complete lines of `text` from `start`; returns the incomplete rest. */
  private scan(text: string, from: number, events: SseEventSink): string {
    let start = from;
    let cr = text.indexOf("\r", start);
    if (cr === -1) {
      // No \r at all (nearly every stream): only \n ends lines.
      for (let lf = text.indexOf("\n", start); lf !== -1; lf = text.indexOf("\n", start)) {
        this.line(text, start, lf, events);
        start = lf + 1;
      }
      return start === 0 ? text : text.slice(start);
    }
    // Line ends are found with indexOf (native) rather than a loop over every character; the next \n
    // and the next \r are each searched again only once the scan has passed them.
    let lf = text.indexOf("\n", start);
    for (;;) {
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start);
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (end === -1) break;
      // The line is text[start, end): read in place, without a string per line.
      this.line(text, start, end, events);
      start = this.afterLineEnd(text, end);
    }
    return start === 0 ? text : text.slice(start);
  }

  private line(buffer: string, start: number, end: number, events: SseEventSink): void {
    if (start === end) {
      if (this.data !== null) events.push({ event: this.event, data: this.data });
      this.data = null;
      this.event = "";
      return;
    }
    const first = buffer.charCodeAt(start);
    if (first === COLON) return; // comment
    // Only `data` and `event` matter here (`id` and `retry` serve reconnection, which a relay does not do).
    let valueStart: number;
    const length = end - start;
    if (
      first === 100 /* d */ &&
      length >= 4 &&
      buffer.charCodeAt(start + 1) === 97 /* a */ &&
      buffer.charCodeAt(start + 2) === 116 /* t */ &&
      buffer.charCodeAt(start + 3) === 97 /* a */ &&
      (length === 4 || buffer.charCodeAt(start + 4) === COLON)
    ) {
      valueStart = start + 5;
      if (valueStart < end && buffer.charCodeAt(valueStart) === SPACE) valueStart++;
      const value = valueStart >= end ? "" : buffer.slice(valueStart, end);
      this.data = this.data === null ? value : `${this.data}\n${value}`;
      this.checkSize(this.data.length);
    } else if (
      first === 101 /* e */ &&
      length >= 5 &&
      buffer.charCodeAt(start + 1) === 118 /* v */ &&
      buffer.charCodeAt(start + 2) === 101 /* e */ &&
      buffer.charCodeAt(start + 3) === 110 /* n */ &&
      buffer.charCodeAt(start + 4) === 116 /* t */ &&
      (length === 5 || buffer.charCodeAt(start + 5) === COLON)
    ) {
      valueStart = start + 6;
      if (valueStart < end && buffer.charCodeAt(valueStart) === SPACE) valueStart++;
      this.event = valueStart >= end ? "" : buffer.slice(valueStart, end);
    }
  }
}
