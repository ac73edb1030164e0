/** ChatResult: the canonical non-streamed answer. */

import type { RedactedThinkingBlock, TextBlock, ThinkingBlock, ToolUseBlock } from "./request.ts";
import type { Usage } from "./usage.ts";

export type StopReason =
  | "end_turn"
  | "max_tokens"
  | "tool_use"
  | "stop_sequence"
  | "refusal"
  | "pause_turn"
  | "model_context_window_exceeded";

export type ResultBlock = TextBlock | ThinkingBlock | RedactedThinkingBlock | ToolUseBlock;

export interface ChatResult {
  /** Upstream message id, when it gave one; dialects mint their own wire ids. */
  id: string;
  blocks: ResultBlock[];
  stopReason: StopReason;
  stopSequence: string | null;
  usage: Usage;
}
