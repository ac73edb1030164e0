/**
 * Parsed `chat.completion.chunk` objects → ChatEvents in Anthropic's block model: reasoning deltas make
 * a thinking block, content a text block, each `tool_calls[].index` its own tool-use block (per-index
 * state, so interleaved argument pieces land in the right block). SSE framing happens before this.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming/streaming
 * @see https://api-docs.deepseek.com/guides/reasoning_model (reasoning_content deltas)
 */

import { Type } from "@sinclair/typebox";
import type { ChatEvent, TextRun } from "../../canonical/events.ts";
import { emptyUsage, type Usage } from "../../canonical/usage.ts";
import {
  decodeOpenAIContentText,
  decodeOpenAIUpstreamUsage,
  mapOpenAIFinishReason,
  OpenAIUpstreamContentSchema,
  OpenAIUpstreamUsageSchema,
} from "./decode-response.ts";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

const NullableString = Type.Optional(Type.Union([Type.String(), Type.Null()]));

const ToolCallDelta = Type.Object({
  index: Type.Optional(Type.Integer({ minimum: 0 })),
  id: NullableString,
  function: Type.Optional(Type.Union([Type.Object({ name: NullableString, arguments: NullableString }), Type.Null()])),
});

const Delta = Type.Object({
  content: OpenAIUpstreamContentSchema,
  reasoning_content: NullableString,
  reasoning: NullableString,
  refusal: NullableString,
  tool_calls: Type.Optional(Type.Union([Type.Array(ToolCallDelta), Type.Null()])),
});

const ChunkSchema = Type.Object({
  id: Type.Optional(Type.String()),
  // vLLM sends its usage-only chunk with `choices: null`.
  choices: Type.Optional(
    Type.Union([
      Type.Array(Type.Object({ index: Type.Optional(Type.Integer()), delta: Type.Optional(Type.Union([Delta, Type.Null()])), finish_reason: NullableString })),
      Type.Null(),
    ]),
  ),
  usage: Type.Optional(Type.Union([OpenAIUpstreamUsageSchema, Type.Null()])),
});

const chunkCheck = compileOnFirstUse(ChunkSchema);
const errorChunkCheck = compileOnFirstUse(
  Type.Object({ error: Type.Object({ code: Type.Optional(Type.Unknown()), type: Type.Optional(Type.Unknown()) }) }),
);

const CUT_MESSAGE = "The upstream stream ended before it finished.";
const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

interface ToolCallState {
  /** The block index once its block-start went out; null while id or name are still unknown. */
  blockIndex: number | null;
  id: string | null;
  name: string | null;
  /** Argument pieces that arrived before the block could start. */
  pendingArguments: string;
}

interface OpenAIUpstreamStreamState {
  phase: "waiting" | "streaming" | "done";
  nextBlockIndex: number;
  /** The open text or thinking block; tool blocks stay open until the end. */
  open: { type: "text" | "thinking"; index: number } | null;
  /** By `tool_calls[].index`, in order of first appearance. */
  tools: Map<number, ToolCallState>;
  finishReason: string | null;
  refused: boolean;
  usage: Usage | null;
}

export interface OpenAIUpstreamStreamDecoder {
  push(chunk: unknown): ChatEvent[];
  /**
   * A chunk that repeats a plain content chunk (see `plainContentOf`) with `text` as its content: the
   * events `push` would give for it, appended to `out`, without the chunk being parsed. False when the
   * stream has not started (the caller then parses and pushes the chunk).
   */
  pushText(text: string, out: ChatEvent[], literal?: string): boolean;
  /**
   * Plain content chunks (see `plainContentOf`) as one run of texts: the events `push` would give for
   * them, as one text-run event. Nothing once the stream is done, nor before it started (a run follows a
   * parsed content chunk, which starts the stream and teaches the slot).
   */
  pushTextRun(run: TextRun, out: ChatEvent[]): void;
  /** At `data: [DONE]` or the end of the body: closes the blocks and finishes, or reports a cut stream. */
  end(): ChatEvent[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** An absent, null, false or empty member: one `push` does nothing with. */
function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === "" || value === false || (Array.isArray(value) && value.length === 0);
}

/**
 * The content of a chunk whose only effect on the decoder is its text: no error, no usage, one choice
 * (index 0) whose delta holds nothing but a string `content`, no finish reason. Every chunk equal to it
 * but for that text decodes as `pushText(text)`: the shortcut a learned JsonStringSlot takes.
 */
export function plainContentOf(chunk: unknown): string | null {
  if (!isRecord(chunk) || "error" in chunk || !isBlank(chunk.usage) || !chunkCheck.Check(chunk)) return null;
  const choices = chunk.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return null;
  const choice = choices[0];
  if (!choice || (choice.index ?? 0) !== 0 || !isBlank(choice.finish_reason)) return null;
  const delta = choice.delta;
  if (!delta || typeof delta.content !== "string") return null;
  if (!isBlank(delta.reasoning_content) || !isBlank(delta.reasoning) || !isBlank(delta.refusal) || !isBlank(delta.tool_calls)) return null;
  return delta.content;
}

function errorCodeOf(value: unknown): string | null {
  return typeof value === "string" && SAFE_CODE.test(value) ? value : null;
}

export function createOpenAIUpstreamStreamDecoder(): OpenAIUpstreamStreamDecoder {
  const state: OpenAIUpstreamStreamState = {
    phase: "waiting",
    nextBlockIndex: 0,
    open: null,
    tools: new Map(),
    finishReason: null,
    refused: false,
    usage: null,
  };

  const fail = (events: ChatEvent[], message: string): ChatEvent[] => {
    state.phase = "done";
    events.push({ type: "error", kind: "upstream_error", message });
    return events;
  };

  const closeOpen = (events: ChatEvent[]) => {
    if (state.open) events.push({ type: "block-stop", index: state.open.index });
    state.open = null;
  };

  const textual = (events: ChatEvent[], type: "text" | "thinking"): number => {
    if (state.open?.type === type) return state.open.index;
    closeOpen(events);
    const index = state.nextBlockIndex++;
    state.open = { type, index };
    events.push({ type: "block-start", index, block: { type } });
    return index;
  };

  const startTool = (events: ChatEvent[], tool: ToolCallState, id: string, name: string) => {
    closeOpen(events);
    const index = state.nextBlockIndex++;
    tool.blockIndex = index;
    events.push({ type: "block-start", index, block: { type: "tool-use", id, name } });
    if (tool.pendingArguments !== "") {
      events.push({ type: "block-delta", index, delta: { type: "tool-input", partialJson: tool.pendingArguments } });
      tool.pendingArguments = "";
    }
  };

  const toolKey = (call: { index?: number; id?: string | null }): number => {
    if (call.index !== undefined) return call.index;
    // A server that omits `index` identifies calls by id only; a piece with neither continues the last call.
    for (const [key, tool] of state.tools) if (call.id && tool.id === call.id) return key;
    const isNewCall = Boolean(call.id) || state.tools.size === 0;
    return isNewCall ? state.tools.size : state.tools.size - 1;
  };

  return {
    push(chunk) {
      if (state.phase === "done") return [];
      const events: ChatEvent[] = [];
      if (errorChunkCheck.Check(chunk)) {
        const code = errorCodeOf(chunk.error.code) ?? errorCodeOf(chunk.error.type);
        return fail(events, `The upstream failed mid-stream${code ? ` (${code})` : ""}.`);
      }
      if (!chunkCheck.Check(chunk)) return fail(events, "The upstream sent a malformed stream chunk.");
      if (state.phase === "waiting") {
        state.phase = "streaming";
        // OpenAI sends no input count up front: usage arrives with the last chunk.
        events.push({ type: "start", id: chunk.id ?? "", usage: emptyUsage() });
      }
      if (chunk.usage) state.usage = decodeOpenAIUpstreamUsage(chunk.usage);
      // Tollgate never asks for n > 1: choice 0 is the answer.
      const choice = chunk.choices?.find((candidate) => (candidate.index ?? 0) === 0);
      if (!choice) return events;
      const delta = choice.delta;
      const reasoning = delta?.reasoning_content || delta?.reasoning;
      if (reasoning) events.push({ type: "block-delta", index: textual(events, "thinking"), delta: { type: "thinking", text: reasoning } });
      const text = decodeOpenAIContentText(delta?.content);
      if (text !== "") events.push({ type: "block-delta", index: textual(events, "text"), delta: { type: "text", text } });
      if (delta?.refusal) {
        state.refused = true;
        events.push({ type: "block-delta", index: textual(events, "text"), delta: { type: "text", text: delta.refusal } });
      }
      for (const call of delta?.tool_calls ?? []) {
        const key = toolKey(call);
        let tool = state.tools.get(key);
        if (!tool) {
          tool = { blockIndex: null, id: null, name: null, pendingArguments: "" };
          state.tools.set(key, tool);
        }
        if (call.id) tool.id ??= call.id;
        if (call.function?.name) tool.name ??= call.function.name;
        const piece = call.function?.arguments ?? "";
        if (tool.blockIndex !== null) {
          if (piece !== "") events.push({ type: "block-delta", index: tool.blockIndex, delta: { type: "tool-input", partialJson: piece } });
          continue;
        }
        tool.pendingArguments += piece;
        if (tool.id !== null && tool.name !== null) startTool(events, tool, tool.id, tool.name);
      }
      if (choice.finish_reason) state.finishReason = choice.finish_reason;
      return events;
    },

    pushText(text, out, literal) {
      if (state.phase === "waiting") return false;
      if (state.phase === "streaming" && text !== "") {
        out.push({ type: "block-delta", index: textual(out, "text"), delta: literal === undefined ? { type: "text", text } : { type: "text", text, literal } });
      }
      return true;
    },

    pushTextRun(run, out) {
      if (state.phase !== "streaming" || run.count === 0) return;
      out.push({ type: "text-run", index: textual(out, "text"), run });
    },

    end() {
      if (state.phase === "done") return [];
      const events: ChatEvent[] = [];
      if (state.phase === "waiting" || state.finishReason === null) return fail(events, CUT_MESSAGE);
      state.phase = "done";
      closeOpen(events);
      for (const [key, tool] of state.tools) {
        // A call whose id never came (non-conforming servers) still reaches the client, under a stable id.
        if (tool.blockIndex === null && tool.name !== null) startTool(events, tool, tool.id ?? `call_${key}`, tool.name);
      }
      const toolBlocks = [...state.tools.values()].flatMap((tool) => (tool.blockIndex === null ? [] : [tool.blockIndex]));
      for (const index of toolBlocks.sort((a, b) => a - b)) events.push({ type: "block-stop", index });
      events.push({
        type: "finish",
        stopReason: state.refused ? "refusal" : mapOpenAIFinishReason(state.finishReason),
        stopSequence: null,
        usage: state.usage ?? emptyUsage(),
      });
      return events;
    },
  };
}
