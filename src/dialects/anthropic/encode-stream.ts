/**
 * Relay events → Anthropic Messages SSE: message_start, content_block_start/delta/stop per block,
 * message_delta (stop reason, final usage, the `tollgate` object), message_stop, then the optional
 * `tollgate.usage` event. A failure after the start is `event: error`, and nothing follows it.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */

import type { BlockDelta, BlockStart } from "../../canonical/events.ts";
import type { StopReason } from "../../canonical/result.ts";
import { emptyUsage, type Usage } from "../../canonical/usage.ts";
import type { EncodeMeta, RelayEvent, StreamEncoder, TextRunEvent, TollgateSummary } from "../../gateway/summary.ts";
import { encodeSseEvent, textRunBytes } from "../../sse/encode.ts";
import { encodeAnthropicStreamError } from "./encode-error.ts";
import { encodeAnthropicUsage, newAnthropicMessageId } from "./encode-response.ts";

interface AnthropicStreamState {
  id: string;
  started: boolean;
  /**
   * Canonical block index → wire index. Canonical indexes may start anywhere and skip (an upstream's
   * tool-call index); the SDK appends each content_block_start and addresses deltas by position, so
   * wire indexes are 0..n in order of first appearance.
   */
  wireIndex: Map<number, number>;
  nextIndex: number;
  /** Wire indexes started on the wire and not yet stopped, closed at the latest by `finish`. */
  open: Set<number>;
  /**
   * Blocks that started while another was open on the wire, in order, with their events so far: the
   * wire has one block open at a time, as Anthropic's own streams do (clients close a block's content at
   * its stop; an OpenAI upstream's parallel calls stay open together, their argument pieces may
   * interleave). Each goes out when the blocks before it have stopped.
   */
  queued: Array<{ index: number; out: string; stopped: boolean }>;
  finish: { stopReason: StopReason; stopSequence: string | null; usage: Usage } | null;
  ended: boolean;
}

function encodeBlockStart(block: BlockStart): Record<string, unknown> {
  switch (block.type) {
    case "text":
      return { type: "text", text: "" };
    case "thinking":
      return { type: "thinking", thinking: "", signature: "" };
    case "redacted-thinking":
      return { type: "redacted_thinking", data: block.data };
    case "tool-use":
      return { type: "tool_use", id: block.id, name: block.name, input: {} };
  }
}

/**
 * content_block_delta with a text delta, nearly every event of an answer: a pre-serialised head per
 * wire index around the one serialised string, instead of an object built and serialised per token.
 * The same text as `encodeSseEvent(JSON.stringify({ type, index, delta: { type: "text_delta", text } }), type)`;
 * no line-break check is needed, JSON.stringify never writes one.
 */
function textDeltaHead(index: number): string {
  return `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":`;
}
const TEXT_DELTA_TAIL = "}}\n\n";
const utf8 = new TextEncoder();
const TAIL_BYTES = utf8.encode(TEXT_DELTA_TAIL);

function encodeBlockDelta(delta: BlockDelta): Record<string, unknown> {
  switch (delta.type) {
    case "text":
      return { type: "text_delta", text: delta.text };
    case "thinking":
      return { type: "thinking_delta", thinking: delta.text };
    case "signature":
      return { type: "signature_delta", signature: delta.signature };
    case "tool-input":
      return { type: "input_json_delta", partial_json: delta.partialJson };
  }
}

/** Tollgate's figures back in canonical form, for a summary that arrives without a finish event. */
function usageOfSummary(summary: TollgateSummary): Usage {
  const usage = summary.usage;
  return {
    input: usage.input_tokens,
    output: usage.output_tokens,
    cacheRead: usage.cache_read_tokens,
    cacheWrite: usage.cache_creation_tokens,
    reasoning: usage.reasoning_tokens,
  };
}

export function createAnthropicStreamEncoder(meta: EncodeMeta): StreamEncoder {
  const state: AnthropicStreamState = {
    id: newAnthropicMessageId(),
    started: false,
    wireIndex: new Map(),
    nextIndex: 0,
    open: new Set(),
    queued: [],
    finish: null,
    ended: false,
  };
  const sse = (type: string, data: Record<string, unknown>) => encodeSseEvent(JSON.stringify({ type, ...data }), type);

  /** The last text block's wire index and its text_delta head (as bytes once a run needs them). */
  let textHead: { index: number; head: string; bytes: Uint8Array | null } = { index: -1, head: "", bytes: null };
  /** `literal`: the text already as a JSON string literal (the upstream's own, checked when it was read). */
  const textDelta = (index: number, text: string, literal: string | undefined): string => {
    if (textHead.index !== index) textHead = { index, head: textDeltaHead(index), bytes: null };
    return textHead.head + (literal ?? JSON.stringify(text)) + TEXT_DELTA_TAIL;
  };

  const messageStart = (usage: Usage): string => {
    state.started = true;
    const message = {
      id: state.id,
      type: "message",
      role: "assistant",
      model: meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: encodeAnthropicUsage(usage),
    };
    return sse("message_start", { message });
  };

  const blockStop = (index: number): string => {
    state.open.delete(index);
    return sse("content_block_stop", { index });
  };

  /** The block queued behind `index`, if it waits (its events go to its buffer meanwhile). */
  const queuedBlock = (index: number) => state.queued.find((block) => block.index === index);

  /** Once no block is open on the wire: the queued ones go out in order, up to the first still running. */
  const releaseQueued = (): string => {
    let out = "";
    while (state.open.size === 0 && state.queued.length > 0) {
      const block = state.queued.shift() as { index: number; out: string; stopped: boolean };
      out += block.out;
      if (!block.stopped) state.open.add(block.index);
      else out += sse("content_block_stop", { index: block.index });
    }
    return out;
  };

  /** A stop: of the open block (then the queued ones may follow), or of a queued one (it leaves when its turn comes). */
  const stopBlock = (index: number): string => {
    if (state.open.has(index)) return blockStop(index) + releaseQueued();
    const block = queuedBlock(index);
    if (block) block.stopped = true;
    return "";
  };

  /** At the end: every block stopped, the open ones first, then the queued ones in order. */
  const stopAll = (): string => {
    let out = "";
    for (const index of [...state.open].sort((a, b) => a - b)) out += blockStop(index);
    for (const block of state.queued) block.stopped = true;
    return out + releaseQueued();
  };

  /** Everything but `start` and `error` needs message_start first (a defensive start when it was skipped). */
  const render = (event: Exclude<RelayEvent, { type: "start" | "error" }>): string => {
    let out = state.started ? "" : messageStart(emptyUsage());
    switch (event.type) {
      case "block-start": {
        const previous = state.wireIndex.get(event.index);
        if (previous !== undefined) out += stopBlock(previous);
        const index = state.nextIndex++;
        state.wireIndex.set(event.index, index);
        const start = sse("content_block_start", { index, content_block: encodeBlockStart(event.block) });
        if (state.open.size > 0 || state.queued.length > 0) {
          state.queued.push({ index, out: start, stopped: false });
          return out;
        }
        state.open.add(index);
        return out + start;
      }
      case "block-delta": {
        const index = state.wireIndex.get(event.index);
        if (index === undefined) return out;
        const delta = event.delta;
        const encoded = delta.type === "text" ? textDelta(index, delta.text, delta.literal) : sse("content_block_delta", { index, delta: encodeBlockDelta(delta) });
        if (state.open.has(index)) return out + encoded;
        const block = queuedBlock(index);
        if (block && !block.stopped) block.out += encoded;
        return out;
      }
      case "block-stop": {
        const index = state.wireIndex.get(event.index);
        return index === undefined ? out : out + stopBlock(index);
      }
      case "finish":
        state.finish = { stopReason: event.stopReason, stopSequence: event.stopSequence, usage: event.usage };
        return out + stopAll();
      case "summary": {
        state.ended = true;
        out += stopAll();
        const finish = state.finish ?? { stopReason: "end_turn", stopSequence: null, usage: usageOfSummary(event.summary) };
        const delta = { stop_reason: finish.stopReason, stop_sequence: finish.stopSequence };
        out += sse("message_delta", { delta, usage: encodeAnthropicUsage(finish.usage), tollgate: event.summary });
        out += sse("message_stop", {});
        if (meta.usageEvent) out += encodeSseEvent(JSON.stringify(event.summary), "tollgate.usage");
        return out;
      }
    }
  };

  return {
    encode(relayEvent: RelayEvent): string {
      if (state.ended) return "";
      if (relayEvent.type === "start") return state.started ? "" : messageStart(relayEvent.usage);
      if (relayEvent.type === "error") {
        state.ended = true;
        return encodeSseEvent(encodeAnthropicStreamError(relayEvent.kind, relayEvent.message), "error");
      }
      return render(relayEvent);
    },

    /** The run's literals are what `textDelta` would write: copied into the events' bytes as they are. */
    encodeTextRun(event: TextRunEvent): string | Uint8Array {
      if (state.ended) return "";
      const index = state.wireIndex.get(event.index);
      if (!state.started || index === undefined || !state.open.has(index)) {
        // Not a started, open text block (not from a decoder): the events one at a time, as text.
        let out = "";
        for (const text of event.run.texts()) out += render({ type: "block-delta", index: event.index, delta: { type: "text", text } });
        return out;
      }
      if (textHead.index !== index) textHead = { index, head: textDeltaHead(index), bytes: null };
      textHead.bytes ??= utf8.encode(textHead.head);
      return textRunBytes(textHead.bytes, TAIL_BYTES, event.run);
    },
  };
}
