/**
 * OpenAI SSE events → ChatEvents: `data: [DONE]` ends the stream, every other event is a
 * `chat.completion.chunk` for decode-stream.ts. Content chunks repeat one envelope around their text
 * (id, created, model, the choice's other members; api.openai.com's padding aside): once a plain content
 * chunk was parsed, the next ones that equal it byte for byte but for the text (and the padding) are read
 * through a JsonStringSlot, without JSON.parse; anything else is parsed as before.
 */

import type { ChatEvent } from "../../canonical/events.ts";
import { JsonStringSlot, type MemberAccess } from "../../lib/json-string-slot.ts";
import type { SseEvent } from "../../sse/decode.ts";
import type { SlottedRun } from "../../sse/slotted-run.ts";
import { parseSseData, type UpstreamEventDecoder } from "../sse-events.ts";
import { createOpenAIUpstreamStreamDecoder, plainContentOf } from "./decode-stream.ts";

/** Attempts to learn a slot without a chunk read through one in between, before learning stops (an envelope that changes every chunk). */
const LEARN_BUDGET = 4;

type Chunk = { choices: { delta: { content: string } }[]; obfuscation?: string };
/** The slot: the first choice's delta text. */
export const OPENAI_CHUNK_CONTENT: MemberAccess = {
  read: (document) => (document as Chunk).choices[0]?.delta.content,
  write: (document, value) => {
    const choice = (document as Chunk).choices[0];
    if (choice) choice.delta.content = value;
  },
};
/**
 * api.openai.com pads every streamed chunk with random characters (`"obfuscation":"…"`, on by default;
 * `stream_options.include_obfuscation` turns it off), so the envelope around the text differs from chunk
 * to chunk by that member alone: the slot leaves it free.
 */
export const OPENAI_CHUNK_OBFUSCATION: MemberAccess = {
  read: (document) => (document as Chunk).obfuscation,
  write: (document, value) => {
    (document as Chunk).obfuscation = value;
  },
};

export class OpenAIEventDecoder implements UpstreamEventDecoder {
  private readonly decoder = createOpenAIUpstreamStreamDecoder();
  private ended = false;
  private slot: JsonStringSlot | null = null;
  private learnBudget = LEARN_BUDGET;
  lastData: unknown = undefined;
  lastSlot: JsonStringSlot | null = null;

  /** The learned slot: the body reader's fast lane reads events of its shape without decoding them as text. */
  get expectedSlot(): JsonStringSlot | null {
    return this.ended ? null : this.slot;
  }

  push(event: SseEvent, out: ChatEvent[]): void {
    const slot = this.slot;
    if (slot !== null && !this.ended) {
      const text = slot.match(event.data);
      if (text !== null && this.decoder.pushText(text, out, slot.literalOf(event.data))) {
        this.learnBudget = LEARN_BUDGET;
        this.lastData = undefined;
        this.lastSlot = slot;
        return;
      }
    }
    const data = parseSseData(event.data);
    this.lastData = data;
    this.lastSlot = null;
    if (data === "[DONE]") {
      this.end(out);
      return;
    }
    if (this.ended) return;
    for (const item of this.decoder.push(data)) out.push(item);
    if (this.learnBudget > 0) {
      const content = plainContentOf(data);
      // Not from an empty content (the first chunk, `{"role":"assistant","content":""}`): its envelope is not the deltas'.
      if (content !== null && content !== "") {
        this.learnBudget--;
        this.slot = JsonStringSlot.learn(event.data, data, content, OPENAI_CHUNK_CONTENT, OPENAI_CHUNK_OBFUSCATION) ?? this.slot;
      }
    }
  }

  /**
   * Content chunks read as one run: what `push` gives for each of them, without their texts. Each chunk
   * is proven a plain content chunk by the slot it was read through (the current one or one learned
   * before it), so every one is a text delta, whichever slot this decoder holds now.
   */
  pushRun(run: SlottedRun, out: ChatEvent[]): void {
    if (this.ended) return;
    this.decoder.pushTextRun(run, out);
    this.learnBudget = LEARN_BUDGET;
    this.lastData = undefined;
    this.lastSlot = run.slot;
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
