/**
 * Server-sent events on the wire: `{event?, data}` → the event's text. Event names and data are checked
 * for line breaks (a newline would split the event); data is one JSON document, which JSON.stringify
 * never breaks across lines. Relays concatenate the text of every event one upstream read produced and
 * encode it to bytes once (Bun's response sink and TextEncoder both pay per call, not per byte).
 */

import type { TextRun } from "../canonical/events.ts";

const encoder = new TextEncoder();

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
} as const;

function hasLineBreak(text: string): boolean {
  return text.includes("\n") || text.includes("\r");
}

/** `data: <json>\n\n`, or with an `event:` line first. */
export function encodeSseEvent(data: string, event?: string): string {
  if (event !== undefined && hasLineBreak(event)) throw new Error("SSE event name contains a line break");
  if (hasLineBreak(data)) throw new Error("SSE data contains a line break");
  return event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
}

/**
 * An upstream's event data forwarded as it came: data the upstream sent in several `data:` lines (joined
 * by \n, as every SSE parser joins them) goes out in as many lines again.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage
 */
export function encodeSseEventLines(data: string, event?: string): string {
  if (!data.includes("\n")) return encodeSseEvent(data, event);
  if (event !== undefined && hasLineBreak(event)) throw new Error("SSE event name contains a line break");
  if (data.includes("\r")) throw new Error("SSE data contains a carriage return");
  const lines = `data: ${data.split("\n").join("\ndata: ")}\n\n`;
  return event === undefined ? lines : `event: ${event}\n${lines}`;
}

/**
 * What one relay pull sends: encoders' text (joined, encoded once) and the bytes they built from the
 * upstream's own (text runs), in order, as few chunks as that allows. Bytes are not copied into one
 * chunk with the text around them: a run is most of an answer, a second enqueue costs less than its copy.
 */
export class SseChunk {
  private text = "";
  /** The chunks so far, once some piece came as bytes. */
  private parts: Uint8Array[] | null = null;

  add(piece: string | Uint8Array): void {
    if (typeof piece === "string") {
      this.text += piece;
      return;
    }
    if (piece.length === 0) return;
    this.parts ??= [];
    if (this.text !== "") {
      this.parts.push(encoder.encode(this.text));
      this.text = "";
    }
    this.parts.push(piece);
  }

  get empty(): boolean {
    return this.text === "" && this.parts === null;
  }

  /** Enqueues the chunks (once). */
  sendTo(controller: ReadableStreamDefaultController<Uint8Array>): void {
    if (this.parts !== null) for (const part of this.parts) controller.enqueue(part);
    if (this.text !== "") controller.enqueue(encoder.encode(this.text));
  }
}

/** A comment line: ignored by every SSE parser, keeps idle connections alive. */
export const SSE_KEEPALIVE = encoder.encode(": keepalive\n\n");

/** Pieces up to this long are copied byte by byte: cheaper than a native copy for a few bytes. */
const SHORT_COPY = 24;

function copyInto(out: Buffer, at: number, source: Buffer, start: number, end: number): number {
  // Buffer#copy: no view made per piece, cheaper than `set` of a subarray.
  if (end - start > SHORT_COPY) return at + source.copy(out, at, start, end);
  let position = at;
  for (let index = start; index < end; index++) out[position++] = source[index] as number;
  return position;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Wire events around spans of upstream bytes: for each span (start and end at 2i, 2i + 1 of `spans`),
 * `head`, the span's bytes, `tail`, in one buffer of the exact size (`spanBytes`: the spans' length).
 */
export function splicedBytes(head: Uint8Array, tail: Uint8Array, bytes: Uint8Array, spans: Int32Array, count: number, spanBytes: number): Uint8Array {
  const headBytes = asBuffer(head);
  const tailBytes = asBuffer(tail);
  const source = asBuffer(bytes);
  // Not zeroed: every byte is written below (a zeroed buffer of this size cost more than the copies).
  const out = Buffer.allocUnsafe(count * (head.length + tail.length) + spanBytes);
  let at = 0;
  for (let index = 0; index < count; index++) {
    at = copyInto(out, at, headBytes, 0, headBytes.length);
    at = copyInto(out, at, source, spans[2 * index] as number, spans[2 * index + 1] as number);
    at = copyInto(out, at, tailBytes, 0, tailBytes.length);
  }
  // A byte left unwritten would send the process's memory to a client.
  if (at !== out.length) throw new Error("spliced bytes do not fill their buffer");
  return out;
}

/**
 * A text run as wire events, one per delta: `head`, the delta's literal as the upstream wrote it, `tail`
 * (the dialect's event around a JSON string literal). Written over the upstream's read when the run can,
 * since an encoder is the last to read a run.
 */
export function textRunBytes(head: Uint8Array, tail: Uint8Array, run: TextRun): Uint8Array {
  return run.textsInPlace?.(head, tail) ?? splicedBytes(head, tail, run.bytes, run.spans, run.count, run.literalBytes);
}
