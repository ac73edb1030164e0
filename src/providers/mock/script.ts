/**
 * What the mock provider answers, decided up front and deterministically: an echo of the last user
 * message (upstream model "echo", the default) or filler text up to the output allowance (upstream
 * model "filler"); a tool call when tools are offered and the last turn is not a tool result. Usage
 * numbers are real: input is estimated from the whole request, output is the pieces it emits.
 */

import type { ChatRequest } from "../../canonical/request.ts";
import type { StopReason } from "../../canonical/result.ts";
import { blockText, estimateRequestTokens, estimateTextTokens } from "../../canonical/token-estimate.ts";

export interface MockToolCall {
  id: string;
  name: string;
  argumentsJson: string;
}

export interface MockScript {
  /** Text pieces, one output token each. */
  pieces: string[];
  toolCall: MockToolCall | null;
  stopReason: StopReason;
  stopSequence: string | null;
  inputTokens: number;
  outputTokens: number;
}

const FILLER_WORDS = ["the", "gateway", "routes", "each", "call", "to", "a", "healthy", "channel", "and", "bills", "it", "exactly", "once"];
const DEFAULT_REPLY = "Hello from the Tollgate mock provider.";

/** Splits text into pieces of one word (with its following whitespace) each. */
export function splitIntoPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function fillerPieces(count: number): string[] {
  const pieces: string[] = [];
  for (let index = 0; index < count; index++) pieces.push(`${FILLER_WORDS[index % FILLER_WORDS.length]} `);
  return pieces;
}

/** Arguments that satisfy a simple JSON schema: required properties filled with typed placeholders. */
function argumentsFor(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, { type?: unknown; enum?: unknown[] }>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : Object.keys(properties);
  const args: Record<string, unknown> = {};
  for (const name of required) {
    const property = properties[name] ?? {};
    if (Array.isArray(property.enum) && property.enum.length > 0) args[name] = property.enum[0];
    else if (property.type === "number" || property.type === "integer") args[name] = 1;
    else if (property.type === "boolean") args[name] = true;
    else if (property.type === "array") args[name] = [];
    else if (property.type === "object") args[name] = {};
    else args[name] = "mock";
  }
  return args;
}

function lastUserText(request: ChatRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index];
    if (message?.role !== "user") continue;
    return message.content.map(blockText).join(" ").trim();
  }
  return "";
}

function wantsToolCall(request: ChatRequest): boolean {
  if (request.tools.length === 0 || request.toolChoice?.type === "none") return false;
  const last = request.messages.at(-1);
  return !last?.content.some((block) => block.type === "tool-result");
}

export function planMockAnswer(request: ChatRequest, upstreamModel: string, maxTokens: number, toolCallId: string): MockScript {
  const inputTokens = estimateRequestTokens(request);
  if (wantsToolCall(request)) {
    const forced = request.toolChoice?.type === "tool" ? request.toolChoice.name : undefined;
    const tool = request.tools.find((candidate) => candidate.name === forced) ?? request.tools[0];
    if (tool) {
      const argumentsJson = JSON.stringify(argumentsFor(tool.inputSchema));
      const outputTokens = estimateTextTokens(tool.name) + estimateTextTokens(argumentsJson);
      return {
        pieces: [],
        toolCall: { id: toolCallId, name: tool.name, argumentsJson },
        stopReason: "tool_use",
        stopSequence: null,
        inputTokens,
        outputTokens,
      };
    }
  }
  let pieces = upstreamModel.startsWith("filler") ? fillerPieces(maxTokens) : splitIntoPieces(lastUserText(request) || DEFAULT_REPLY);
  let stopReason: StopReason = "end_turn";
  let stopSequence: string | null = null;
  const text = pieces.join("");
  for (const sequence of request.stopSequences) {
    const at = sequence === "" ? -1 : text.indexOf(sequence);
    if (at >= 0 && (stopSequence === null || at < text.indexOf(stopSequence))) stopSequence = sequence;
  }
  if (stopSequence !== null) {
    pieces = splitIntoPieces(text.slice(0, text.indexOf(stopSequence)));
    stopReason = "stop_sequence";
  }
  if (pieces.length > maxTokens) {
    pieces = pieces.slice(0, maxTokens);
    stopReason = "max_tokens";
    stopSequence = null;
  } else if (upstreamModel.startsWith("filler")) {
    stopReason = "max_tokens";
  }
  return { pieces, toolCall: null, stopReason, stopSequence, inputTokens, outputTokens: pieces.length };
}
