/**
 * OpenAI SSE events → ChatEvents: `data: [DONE]` ends the stream, every other event is a
 * `chat.completion.chunk` for decode-stream.ts.
 */

import type { ChatEvent } from "../../canonical/events.ts";
import type { SseEvent } from "../../sse/decode.ts";
import { parseSseData, type UpstreamEventDecoder } from "../sse-events.ts";
import { createOpenAIUpstreamStreamDecoder } from "./decode-stream.ts";

export class OpenAIEventDecoder implements UpstreamEventDecoder {
  private readonly decoder = createOpenAIUpstreamStreamDecoder();
  private ended = false;
  lastData: unknown = undefined;

  push(event: SseEvent, out: ChatEvent[]): void {
    const data = parseSseData(event.data);
    this.lastData = data;
    if (data === "[DONE]") {
      this.end(out);
      return;
    }
    if (this.ended) return;
    for (const item of this.decoder.push(data)) out.push(item);
  }

  end(out: ChatEvent[]): void {
    if (this.ended) return;
    this.ended = true;
    for (const item of this.decoder.end()) out.push(item);
  }
}

export function openAIEventDecoder(): UpstreamEventDecoder {
  return new OpenAIEventDecoder();
}
