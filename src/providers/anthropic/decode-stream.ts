/**
 * Anthropic Messages stream events (already parsed from SSE) → ChatEvents. A stateful transducer: it
 * skips block types Tollgate cannot carry (server tools) with all their deltas, renumbers the kept
 * blocks densely, merges cumulative usage, and turns every malformed input into an `error` event.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */

import { Type } from "@sinclair/typebox";
import type { BlockDelta, BlockStart, ChatEvent, TextRun } from "../../canonical/events.ts";
import type { StopReason } from "../../canonical/result.ts";
import { emptyUsage, type Usage } from "../../canonical/usage.ts";
import type { ErrorKind } from "../../errors.ts";
import { AnthropicUsageSchema, decodeAnthropicUsage, mapAnthropicStopReason } from "./decode-response.ts";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

export interface AnthropicUpstreamStreamDecoder {
  /** One parsed SSE event: its `event:` name and its JSON `data`. */
  push(eventName: string, data: unknown): ChatEvent[];
  /**
   * Text deltas of upstream block `upstreamIndex` as one run (content_block_delta events that equal a
   * text_delta `push` took, but for their text: decode-events.ts): what `push` gives for each, as one
   * text-run event, appended to `out`.
   */
  pushTextRun(upstreamIndex: number, run: TextRun, out: ChatEvent[]): void;
  /** The upstream body ended: an `error` event unless the message finished or already failed. */
  end(): ChatEvent[];
}

const Index = Type.Integer({ minimum: 0 });
const NullableCount = Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()]));
const NullableString = Type.Optional(Type.Union([Type.String(), Type.Null()]));

const Check = {
  messageStart: compileOnFirstUse(Type.Object({ message: Type.Object({ id: Type.String(), usage: AnthropicUsageSchema }) })),
  blockStart: compileOnFirstUse(Type.Object({ index: Index, content_block: Type.Object({ type: Type.String() }) })),
  blockDelta: compileOnFirstUse(Type.Object({ index: Index, delta: Type.Object({ type: Type.String() }) })),
  blockStop: compileOnFirstUse(Type.Object({ index: Index })),
  messageDelta: compileOnFirstUse(
    Type.Object({
      delta: Type.Object({ stop_reason: NullableString, stop_sequence: NullableString }),
      usage: Type.Optional(
        Type.Object({
          input_tokens: NullableCount,
          output_tokens: NullableCount,
          cache_read_input_tokens: NullableCount,
          cache_creation_input_tokens: NullableCount,
        }),
      ),
    }),
  ),
  error: compileOnFirstUse(Type.Object({ error: Type.Object({ type: Type.String(), message: Type.String() }) })),
  textStart: compileOnFirstUse(Type.Object({ text: Type.Optional(Type.String()) })),
  thinkingStart: compileOnFirstUse(Type.Object({ thinking: Type.Optional(Type.String()), signature: Type.Optional(Type.String()) })),
  redactedStart: compileOnFirstUse(Type.Object({ data: Type.String() })),
  toolUseStart: compileOnFirstUse(Type.Object({ id: Type.String(), name: Type.String() })),
  textDelta: compileOnFirstUse(Type.Object({ text: Type.String() })),
  thinkingDelta: compileOnFirstUse(Type.Object({ thinking: Type.String() })),
  signatureDelta: compileOnFirstUse(Type.Object({ signature: Type.String() })),
  inputJsonDelta: compileOnFirstUse(Type.Object({ partial_json: Type.String() })),
};

interface StreamState {
  phase: "waiting" | "started" | "done";
  /** Upstream block index → canonical index, for the blocks being relayed. */
  blocks: Map<number, number>;
  /** Upstream indexes of skipped blocks (server tools): their deltas and stop are ignored. */
  skipped: Set<number>;
  nextIndex: number;
  usage: Usage;
  stopReason: StopReason | null;
  stopSequence: string | null;
}

/** Anthropic's in-stream error types → the kind the gateway reports. */
function streamErrorKind(type: string): ErrorKind {
  return type === "rate_limit_error" ? "upstream_rate_limited" : "upstream_error";
}

function typeOf(data: unknown): string {
  if (typeof data === "object" && data !== null && "type" in data && typeof data.type === "string") return data.type;
  return "";
}

export function createAnthropicUpstreamStreamDecoder(): AnthropicUpstreamStreamDecoder {
  const state: StreamState = {
    phase: "waiting",
    blocks: new Map(),
    skipped: new Set(),
    nextIndex: 0,
    usage: emptyUsage(),
    stopReason: null,
    stopSequence: null,
  };

  const fail = (message: string, kind: ErrorKind = "upstream_error"): ChatEvent[] => {
    state.phase = "done";
    return [{ type: "error", kind, message }];
  };
  const malformed = (name: string) => fail(`The upstream sent a malformed ${name} event.`);

  function messageStart(data: unknown): ChatEvent[] {
    if (!Check.messageStart.Check(data)) return malformed("message_start");
    state.phase = "started";
    state.usage = decodeAnthropicUsage(data.message.usage);
    return [{ type: "start", id: data.message.id, usage: state.usage }];
  }

  function blockStart(data: unknown): ChatEvent[] {
    if (!Check.blockStart.Check(data)) return malformed("content_block_start");
    const upstream = data.content_block;
    const open = (block: BlockStart, ...deltas: BlockDelta[]): ChatEvent[] => {
      const index = state.nextIndex++;
      state.blocks.set(data.index, index);
      const events: ChatEvent[] = [{ type: "block-start", index, block }];
      for (const delta of deltas) events.push({ type: "block-delta", index, delta });
      return events;
    };
    switch (upstream.type) {
      case "text":
        if (!Check.textStart.Check(upstream)) return malformed("content_block_start");
        return upstream.text ? open({ type: "text" }, { type: "text", text: upstream.text }) : open({ type: "text" });
      case "thinking": {
        if (!Check.thinkingStart.Check(upstream)) return malformed("content_block_start");
        const deltas: BlockDelta[] = [];
        if (upstream.thinking) deltas.push({ type: "thinking", text: upstream.thinking });
        if (upstream.signature) deltas.push({ type: "signature", signature: upstream.signature });
        return open({ type: "thinking" }, ...deltas);
      }
      case "redacted_thinking":
        if (!Check.redactedStart.Check(upstream)) return malformed("content_block_start");
        return open({ type: "redacted-thinking", data: upstream.data });
      case "tool_use":
        // Some upstreams put a partial `input` here too; the input_json deltas carry the whole of it.
        if (!Check.toolUseStart.Check(upstream)) return malformed("content_block_start");
        return open({ type: "tool-use", id: upstream.id, name: upstream.name });
      default:
        state.skipped.add(data.index);
        return [];
    }
  }

  function decodeDelta(delta: { type: string }): BlockDelta | null | "malformed" {
    switch (delta.type) {
      case "text_delta":
        // An empty text carries nothing (as an OpenAI upstream's empty content): no delta, as in a run.
        if (!Check.textDelta.Check(delta)) return "malformed";
        return delta.text === "" ? null : { type: "text", text: delta.text };
      case "thinking_delta":
        return Check.thinkingDelta.Check(delta) ? { type: "thinking", text: delta.thinking } : "malformed";
      case "signature_delta":
        return Check.signatureDelta.Check(delta) ? { type: "signature", signature: delta.signature } : "malformed";
      case "input_json_delta":
        if (!Check.inputJsonDelta.Check(delta)) return "malformed";
        return delta.partial_json === "" ? null : { type: "tool-input", partialJson: delta.partial_json };
      default:
        // citations_delta and future delta types carry nothing the canonical form holds.
        return null;
    }
  }

  function blockDelta(data: unknown): ChatEvent[] {
    if (!Check.blockDelta.Check(data)) return malformed("content_block_delta");
    if (state.skipped.has(data.index)) return [];
    const index = state.blocks.get(data.index);
    if (index === undefined) return fail(`The upstream sent a delta for unknown content block ${data.index}.`);
    const delta = decodeDelta(data.delta);
    if (delta === "malformed") return malformed("content_block_delta");
    return delta === null ? [] : [{ type: "block-delta", index, delta }];
  }

  function blockStop(data: unknown): ChatEvent[] {
    if (!Check.blockStop.Check(data)) return malformed("content_block_stop");
    if (state.skipped.delete(data.index)) return [];
    const index = state.blocks.get(data.index);
    if (index === undefined) return fail(`The upstream stopped unknown content block ${data.index}.`);
    state.blocks.delete(data.index);
    return [{ type: "block-stop", index }];
  }

  function messageDelta(data: unknown): ChatEvent[] {
    if (!Check.messageDelta.Check(data)) return malformed("message_delta");
    if (data.delta.stop_reason) state.stopReason = mapAnthropicStopReason(data.delta.stop_reason);
    if (data.delta.stop_sequence !== undefined) state.stopSequence = data.delta.stop_sequence;
    const usage = data.usage;
    if (usage) {
      // output_tokens is cumulative; input and cache figures, when present, replace message_start's.
      state.usage = {
        input: usage.input_tokens ?? state.usage.input,
        output: usage.output_tokens ?? state.usage.output,
        cacheRead: usage.cache_read_input_tokens ?? state.usage.cacheRead,
        cacheWrite: usage.cache_creation_input_tokens ?? state.usage.cacheWrite,
        reasoning: state.usage.reasoning,
      };
    }
    return [];
  }

  function messageStop(): ChatEvent[] {
    // Blocks the upstream left open are closed first, so consumers always see balanced blocks.
    const events: ChatEvent[] = [...state.blocks.values()].map((index) => ({ type: "block-stop", index }));
    state.blocks.clear();
    state.phase = "done";
    events.push({
      type: "finish",
      stopReason: state.stopReason ?? "end_turn",
      stopSequence: state.stopSequence,
      usage: state.usage,
    });
    return events;
  }

  function upstreamError(data: unknown): ChatEvent[] {
    if (!Check.error.Check(data)) return fail("The upstream sent an error event.");
    return fail(data.error.message, streamErrorKind(data.error.type));
  }

  return {
    push(eventName, data) {
      if (state.phase === "done") return [];
      // An unnamed SSE event is a "message"; the JSON's own type then names it.
      const name = eventName === "" || eventName === "message" ? typeOf(data) : eventName;
      if (name === "ping") return [];
      if (name === "error") return upstreamError(data);
      if (state.phase === "waiting") {
        if (name === "message_start") return messageStart(data);
        return fail(`The upstream sent ${name || "an unnamed event"} before message_start.`);
      }
      switch (name) {
        case "content_block_start":
          return blockStart(data);
        case "content_block_delta":
          return blockDelta(data);
        case "content_block_stop":
          return blockStop(data);
        case "message_delta":
          return messageDelta(data);
        case "message_stop":
          return messageStop();
        default:
          // Anthropic may add event types; unknown ones are ignored, as its SDKs do.
          return [];
      }
    },
    pushTextRun(upstreamIndex, run, out) {
      // As blockDelta for each of the run's events: they address one block, and no event between them can
      // open or close it.
      if (state.phase !== "started" || state.skipped.has(upstreamIndex)) return;
      const index = state.blocks.get(upstreamIndex);
      if (index === undefined) {
        for (const event of fail(`The upstream sent a delta for unknown content block ${upstreamIndex}.`)) out.push(event);
        return;
      }
      if (run.count > 0) out.push({ type: "text-run", index, run });
    },
    end() {
      if (state.phase === "done") return [];
      return fail("The upstream stream ended before the message was complete.");
    },
  };
}
