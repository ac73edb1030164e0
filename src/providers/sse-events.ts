/**
 * An upstream SSE body → canonical events, through a provider's event decoder, one batch per read of
 * the body: the SSE split, the decode and (in the relay) the encode of a whole read happen in one pass,
 * with no stream per stage between them. Read only as fast as the client takes the output (backpressure);
 * cancelling cancels the body.
 */

import { endsFirstChunk, type ChatEvent } from "../canonical/events.ts";
import type { JsonStringSlot } from "../lib/json-string-slot.ts";
import { type BatchReader, SseBatchReader } from "../sse/batch-reader.ts";
import type { SseEvent } from "../sse/decode.ts";
import { readSlottedRun, SlottedRun } from "../sse/slotted-run.ts";

/** A provider's stream decoder over SSE events. It parses each event's data itself (or reads it through a learned slot). */
export interface UpstreamEventDecoder {
  /** Decodes one event, appending its canonical events to `out`. */
  push(event: SseEvent, out: ChatEvent[]): void;
  /** The body ended: appends what the end means (a finish, or an error for a cut stream). */
  end(out: ChatEvent[]): void;
  /** The last pushed event's data as `parseSseData` gives it; undefined when it was read through `lastSlot`. */
  readonly lastData: unknown;
  /**
   * The learned template the last pushed event matched (a chunk equal to an earlier one but for its
   * text, not parsed), or null when it was parsed.
   */
  readonly lastSlot: JsonStringSlot | null;
  /** The template the decoder expects the next events to repeat, if it learned one (the reader's fast lane). */
  readonly expectedSlot?: JsonStringSlot | null;
  /** The SSE event name those events carry ("" or absent for data-only events). */
  readonly expectedEvent?: string;
  /**
   * Content events the fast lane read as one run (slotted-run.ts). Only a decoder with this gets the
   * lane (on the translated path and in a passthrough's tap).
   */
  pushRun?(run: SlottedRun, out: ChatEvent[]): void;
}

/** `[DONE]` (OpenAI) or unparseable data are passed as the raw string. */
export function parseSseData(data: string): unknown {
  if (data === "[DONE]") return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/**
 * An upstream body as batches of canonical events (the translated path). Where the decoder learned a slot,
 * its content events come through the lane as runs of literals that no one decodes unless asked.
 */
export function upstreamEventReader(body: ReadableStream<Uint8Array>, decoder: UpstreamEventDecoder): BatchReader<ChatEvent[]> {
  const pushRun = decoder.pushRun?.bind(decoder);
  return new SseBatchReader<ChatEvent, SlottedRun>(
    body.getReader(),
    (events, atEnd) => {
      const out: ChatEvent[] = [];
      for (const event of events) {
        if (event instanceof SlottedRun) pushRun?.(event, out);
        else decoder.push(event, out);
      }
      if (atEnd) decoder.end(out);
      return out;
    },
    {
      // Runs only reach a decoder that reads them.
      slot: () => (pushRun === undefined ? null : (decoder.expectedSlot ?? null)),
      lane: readSlottedRun,
      event: () => decoder.expectedEvent ?? "",
      // The first chunk to the client goes out as soon as the first content delta is read.
      firstBatchEndsAfter: (events) => events.some(endsFirstChunk),
    },
  );
}
