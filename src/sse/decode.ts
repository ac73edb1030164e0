/**
 * Server-sent events from bytes: a push parser that follows the WHATWG event-stream rules (\n, \r\n or
 * \r line ends, `:` comments, multi-line `data`, one optional space after the colon, dispatch on a
 * blank line). Chunks may split anywhere, including inside a UTF-8 character.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */

export interface SseEvent {
  /** The `event:` field, "" when absent (the spec's default type "message"). */
  event: string;
  data: string;
}

const LF = 10;
const COLON = 58;
const SPACE = 32;

export class SseDecoder {
  private readonly text = new TextDecoder("utf-8");
  private buffer = "";
  private event = "";
  /** The event's data lines joined by \n; null until a `data` field arrives. */
  private data: string | null = null;
  private sawCarriageReturn = false;

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Uint8Array): SseEvent[] {
    const events: SseEvent[] = [];
    this.feed(this.text.decode(chunk, { stream: true }), events);
    return events;
  }

  /** The same, appending the events to `out` (one array for all the events of a read). */
  pushInto(chunk: Uint8Array, out: SseEvent[]): void {
    this.feed(this.text.decode(chunk, { stream: true }), out);
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

  private feed(input: string, events: SseEvent[]): void {
    let text = input;
    // A \r\n split across chunks: the \n belongs to the line the \r already ended.
    if (this.sawCarriageReturn && text.charCodeAt(0) === LF) text = text.slice(1);
    this.sawCarriageReturn = false;
    const buffer = this.buffer === "" ? text : this.buffer + text;
    // Line ends are found with indexOf (native) rather than a loop over every character; the next \n
    // and the next \r are each searched again only once the scan has passed them. Most streams have
    // no \r at all: then the \r search runs once per chunk.
    let start = 0;
    let lf = buffer.indexOf("\n");
    let cr = buffer.indexOf("\r");
    for (;;) {
      if (lf !== -1 && lf < start) lf = buffer.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = buffer.indexOf("\r", start);
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (end === -1) break;
      // The line is buffer[start, end): read in place, without a string per line.
      this.line(buffer, start, end, events);
      start = end + 1;
      if (end === cr) {
        if (start < buffer.length) {
          if (buffer.charCodeAt(start) === LF) start++;
        } else {
          this.sawCarriageReturn = true;
        }
      }
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
  }

  private line(buffer: string, start: number, end: number, events: SseEvent[]): void {
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
    if (first === 100 /* d */ && end - start >= 4 && buffer.startsWith("data", start) && (end - start === 4 || buffer.charCodeAt(start + 4) === COLON)) {
      valueStart = start + 5;
      if (valueStart < end && buffer.charCodeAt(valueStart) === SPACE) valueStart++;
      const value = valueStart >= end ? "" : buffer.slice(valueStart, end);
      this.data = this.data === null ? value : `${this.data}\n${value}`;
    } else if (first === 101 /* e */ && end - start >= 5 && buffer.startsWith("event", start) && (end - start === 5 || buffer.charCodeAt(start + 5) === COLON)) {
      valueStart = start + 6;
      if (valueStart < end && buffer.charCodeAt(valueStart) === SPACE) valueStart++;
      this.event = valueStart >= end ? "" : buffer.slice(valueStart, end);
    }
  }
}
