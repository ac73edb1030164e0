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

export type ChatEvent =
  | { type: "start"; id: string; usage: Usage }
  | { type: "block-start"; index: number; block: BlockStart }
  | { type: "block-delta"; index: number; delta: BlockDelta }
  | { type: "block-stop"; index: number }
  | { type: "finish"; stopReason: StopReason; stopSequence: string | null; usage: Usage }
  /** A failure after the stream started; the code and message are safe to show. */
  | { type: "error"; kind: string; message: string };
