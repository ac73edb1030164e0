/**
 * The `tollgate` object: a call's final figures (SPEC §6), on the dialect's last usage-bearing stream
 * event, in the optional `tollgate.usage` event, and equal to the request record.
 */

import type { Usage } from "../canonical/usage.ts";
import type { ChatEvent } from "../canonical/events.ts";
import type { BilledFigures } from "../errors.ts";

/** The billed model, cost and usage (what a failed call's error carries too), under the call's request id. */
export interface TollgateSummary extends BilledFigures {
  request_id: string;
}

export function summaryOf(requestId: string, billedModel: string, costMicrocents: number, usage: Usage): TollgateSummary {
  return {
    request_id: requestId,
    model: billedModel,
    cost_microcents: costMicrocents,
    usage: {
      input_tokens: usage.input,
      output_tokens: usage.output,
      cache_read_tokens: usage.cacheRead,
      cache_creation_tokens: usage.cacheWrite,
      reasoning_tokens: usage.reasoning,
    },
  };
}

/** A run of text deltas (events.ts). */
export type TextRunEvent = Extract<ChatEvent, { type: "text-run" }>;

/** What dialect stream encoders consume: the canonical events (text runs apart), then the settled summary. */
export type RelayEvent = Exclude<ChatEvent, TextRunEvent> | { type: "summary"; summary: TollgateSummary };

/** Per-call facts a dialect needs to render its wire format. */
export interface EncodeMeta {
  /** The model id the client sent: every response echoes it. */
  model: string;
  createdSec: number;
  /** OpenAI stream_options.include_usage. */
  includeUsage: boolean;
  /** Send the trailing `tollgate.usage` event (SPEC §6). */
  usageEvent: boolean;
}

/**
 * Turns relay events into the wire's SSE text for one stream; "" when an event has no wire form. Text,
 * not bytes: a relay encodes what one upstream read produced at once.
 */
export interface StreamEncoder {
  encode(event: RelayEvent): string;
  /**
   * A run of text deltas: the text `encode` would give for a block-delta per text, or the same as bytes
   * where the dialect writes the run's literals as they are (copied, not decoded and encoded again).
   */
  encodeTextRun(event: TextRunEvent): string | Uint8Array;
}

/** Any event through an encoder: a text run to `encodeTextRun`, the others to `encode`. */
export function encodeStreamEvent(encoder: StreamEncoder, event: ChatEvent | RelayEvent): string | Uint8Array {
  return event.type === "text-run" ? encoder.encodeTextRun(event) : encoder.encode(event);
}
