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
  private data: string[] = [];
  private sawCarriageReturn = false;

  /** Feeds bytes; returns the events completed by them. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.feed(this.text.decode(chunk, { stream: true }));
  }

  /** Flushes the end of the stream: a final event without its blank line is discarded, as the spec says. */
  end(): SseEvent[] {
    const events = this.feed(this.text.decode());
    this.buffer = "";
    this.data = [];
    this.event = "";
    return events;
  }

  private feed(input: string): SseEvent[] {
    const events: SseEvent[] = [];
    let text = input;
    // A \r\n split across chunks: the \n belongs to the line the \r already ended.
    if (this.sawCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.sawCarriageReturn = false;
    this.buffer += text;
    let start = 0;
    for (let index = 0; index < this.buffer.length; index++) {
      const char = this.buffer.charCodeAt(index);
      if (char !== 10 && char !== 13) continue;
      const line = this.buffer.slice(start, index);
      if (char === 13) {
        if (index + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(index + 1) === 10) index++;
        } else {
          this.sawCarriageReturn = true;
        }
      }
      start = index + 1;
      this.line(line, events);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) events.push({ event: this.event, data: this.data.join("\n") });
      this.data = [];
      this.event = "";
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
  }
}
