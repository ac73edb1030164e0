/**
 * ChatEvent: the canonical stream. Follows Anthropic's block model (start, block start/delta/stop per
 * index, finish with usage), from which both dialects' wire streams can be rendered.
 */

import type { StopReason } from "./result.ts";
import type { Usage } from "./usage.ts";

export type BlockStart =
  | { type: "text" }
  | { type: "thinking" }
  | { type: "redacted-thinking"; data: string }
  | { type: "tool-use"; id: string; name: string };

export type BlockDelta =
  /**
   * `literal`: the text as a JSON string literal, quotes included, as the upstream wrote it (when it was
   * read without parsing), so an encoder can write it out without serialising the text again.
   */
  | { type: "text"; text: string; literal?: string }
  | { type: "thinking"; text: string }
  | { type: "signature"; signature: string }
  | { type: "tool-input"; partialJson: string };

/**
 * Text deltas of one block that an upstream read holds as JSON string literals, read without parsing them
 * (an OpenAI stream's content chunks, through the learned slot): an encoder that writes the same literals
 * copies their bytes; anything else reads `texts()`.
 */
export interface TextRun {
  /** How many deltas (non-empty literals) it holds; a run in a ChatEvent holds at least one. */
  readonly count: number;
  /** The read's bytes. */
  readonly bytes: Uint8Array;
  /**
   * Where each literal is in `bytes`, quotes included: start and end (exclusive) of literal i at 2i and
   * 2i + 1. Each is one valid JSON string literal of well-formed UTF-8 with no line break.
   */
  readonly spans: Int32Array;
  /** The literals' length in bytes, summed. */
  readonly literalBytes: number;
  /** `estimateTextTokens` of each text, summed. */
  readonly tokens: number;
  /** The deltas' texts, in order. */
  texts(): string[];
  /**
   * `textRunBytes(head, tail, run)` written over the run's own read instead of a new buffer, where the run
   * may do so and each event has room for its output (SlottedRun); null otherwise. The run is spent after.
   */
  textsInPlace?(head: Uint8Array, tail: Uint8Array): Uint8Array | null;
}

export type ChatEvent =
  | { type: "start"; id: string; usage: Usage }
  | { type: "block-start"; index: number; block: BlockStart }
  | { type: "block-delta"; index: number; delta: BlockDelta }
  /** Consecutive text deltas of block `index`, as one event (the same as a `block-delta` per text). */
  | { type: "text-run"; index: number; run: TextRun }
  | { type: "block-stop"; index: number }
  | { type: "finish"; stopReason: StopReason; stopSequence: string | null; usage: Usage }
  /** A failure after the stream started; the code and message are safe to show. */
  | { type: "error"; kind: string; message: string };

/** What a stream's first chunk to the client waits for: its first content delta, or its end (finish, error). */
export function endsFirstChunk(event: ChatEvent): boolean {
  return event.type === "block-delta" || event.type === "text-run" || event.type === "finish" || event.type === "error";
}
