/**
 * An upstream SSE body → canonical events, through a provider's event decoder. Pull-based: bytes are
 * read only as fast as the client takes events (backpressure), and cancelling aborts the upstream.
 */

import type { ChatEvent } from "../canonical/events.ts";
import { SseDecoder, type SseEvent } from "../sse/decode.ts";

/** A provider's stream decoder over parsed SSE events (`data` is the parsed JSON, or the raw text). */
export interface UpstreamEventDecoder {
  push(event: SseEvent, data: unknown): ChatEvent[];
  end(): ChatEvent[];
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

export function upstreamEventStream(body: ReadableStream<Uint8Array>, decoder: UpstreamEventDecoder): ReadableStream<ChatEvent> {
  const reader = body.getReader();
  const sse = new SseDecoder();
  let ended = false;
  return new ReadableStream<ChatEvent>({
    async pull(controller) {
      while (!ended) {
        const next = await reader.read();
        let events: ChatEvent[];
        if (next.done) {
          ended = true;
          events = [];
          for (const event of sse.end()) events.push(...decoder.push(event, parseSseData(event.data)));
          events.push(...decoder.end());
        } else {
          events = [];
          for (const event of sse.push(next.value)) events.push(...decoder.push(event, parseSseData(event.data)));
        }
        for (const event of events) controller.enqueue(event);
        if (ended) {
          controller.close();
          return;
        }
        if (events.length > 0) return;
      }
    },
    cancel(reason) {
      ended = true;
      return reader.cancel(reason);
    },
  });
}
