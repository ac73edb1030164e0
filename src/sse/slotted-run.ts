/**
 * The fast lane of a translation: the content events of an OpenAI stream (those of a learned
 * JsonStringSlot's shape, matched as in slotted-events.ts) read as one run per stretch of a read, where
 * each literal is only located, checked and estimated in tokens. Nothing is decoded to a string: an
 * encoder that writes the same JSON string literals (Anthropic's text_delta) copies their bytes.
 */

import { isUtf8 } from "node:buffer";
import type { TextRun } from "../canonical/events.ts";
import { estimateAsciiTokens, estimateTextTokens } from "../canonical/token-estimate.ts";
import type { JsonStringSlot } from "../lib/json-string-slot.ts";
import type { SseEvent } from "./decode.ts";
import { bytesOf, matchEvent, newMatch } from "./slotted-events.ts";

/**
 * Consecutive events the lane read, as one text run: where their literals are in the read, nothing
 * decoded. A translation to a dialect that writes the same JSON string literals copies their bytes.
 */
export class SlottedRun implements TextRun {
  constructor(
    readonly slot: JsonStringSlot,
    readonly bytes: Buffer,
    readonly spans: Int32Array,
    readonly count: number,
    readonly literalBytes: number,
    readonly tokens: number,
  ) {}

  texts(): string[] {
    const texts: string[] = [];
    for (let index = 0; index < this.count; index++) {
      const start = this.spans[2 * index] as number;
      const end = this.spans[2 * index + 1] as number;
      const literal = this.bytes.toString("utf8", start, end);
      // Checked when read: a literal with a backslash is valid JSON, one without is its text in quotes.
      texts.push(literal.includes("\\") ? (JSON.parse(literal) as string) : literal.slice(1, -1));
    }
    return texts;
  }
}

/**
 * The lane for a translation: reads events of `slot`'s shape from the start of `chunk` (an event
 * boundary) and appends them to `out` as one SlottedRun; returns where it stopped. Beyond the envelope it
 * checks each literal (valid escapes, well-formed UTF-8) and estimates its tokens; a chunk with empty
 * content adds nothing, as its parse would.
 */
export function readSlottedRun(chunk: Uint8Array, slot: JsonStringSlot, out: (SseEvent | SlottedRun)[], event = ""): number {
  const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const envelope = bytesOf(slot, event);
  const match = newMatch();
  // No event is shorter than its envelope, two quotes and the blank line (and the free member's quotes).
  const shortestEvent = envelope.head.length + envelope.suffix.length + 4 + (envelope.tail === null ? 0 : envelope.tail.length + 2);
  /** Made at the first literal, for as many events as the rest of the read can hold (the lane stops often on some streams). */
  let spans: Int32Array | null = null;
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
    position = match.next;
  }
  if (spans !== null && count > 0) out.push(new SlottedRun(slot, bytes, spans.subarray(0, 2 * count), count, literalBytes, tokens));
  return position;
}
