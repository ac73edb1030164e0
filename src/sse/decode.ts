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

export class SseDecoder {
  private readonly text = new TextDecoder("utf-8");
  private buffer = "";
  private event = "";
  /** The event's data lines joined by \n; null until a `data` field arrives. */
  private data: string | null = null;
  private sawCarriageReturn = false;

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.feed(this.text.decode(chunk, { stream: true }));
  }

  /** Flushes the end of the stream: a final event without its blank line is discarded, as the spec says. */
  end(): SseEvent[] {
    const events = this.feed(this.text.decode());
    this.buffer = "";
    this.data = null;
    this.event = "";
    return events;
  }

  private feed(input: string): SseEvent[] {
    const events: SseEvent[] = [];
    let text = input;
    // A \r\n split across chunks: the \n belongs to the line the \r already ended.
    if (this.sawCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.sawCarriageReturn = false;
    const buffer = this.buffer + text;
    // Line ends are found with indexOf (native) rather than a loop over every character; the next \n
    // and the next \r are each searched again only once the scan has passed them.
    let start = 0;
    let lf = buffer.indexOf("\n");
    let cr = buffer.indexOf("\r");
    for (;;) {
      if (lf !== -1 && lf < start) lf = buffer.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = buffer.indexOf("\r", start);
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (end === -1) break;
      const line = buffer.slice(start, end);
      start = end + 1;
      if (end === cr) {
        if (start < buffer.length) {
          if (buffer.charCodeAt(start) === 10) start++;
        } else {
          this.sawCarriageReturn = true;
        }
      }
      this.line(line, events);
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.data !== null) events.push({ event: this.event, data: this.data });
      this.data = null;
      this.event = "";
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const valueStart = colon === -1 ? line.length : line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
    if (field === "data") {
      const value = line.slice(valueStart);
      this.data = this.data === null ? value : `${this.data}\n${value}`;
    } else if (field === "event") {
      this.event = line.slice(valueStart);
    }
  }
}
