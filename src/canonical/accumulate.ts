/** Folds a ChatEvent stream into a ChatResult: non-stream answers over streaming providers, and tests. */

import type { ChatEvent } from "./events.ts";
import type { ChatResult, ResultBlock } from "./result.ts";
import { emptyUsage } from "./usage.ts";

interface AccumulatorState {
  id: string;
  blocks: Map<number, ResultBlock>;
  toolJson: Map<number, string>;
  result: ChatResult | null;
  error: { kind: string; message: string } | null;
}

export class ChatAccumulator {
  private readonly state: AccumulatorState = {
    id: "",
    blocks: new Map(),
    toolJson: new Map(),
    result: null,
    error: null,
  };
  private usage = emptyUsage();

  push(event: ChatEvent): void {
    const state = this.state;
    switch (event.type) {
      case "start":
        state.id = event.id;
        this.usage = event.usage;
        return;
      case "block-start": {
        const block = event.block;
        if (block.type === "text") state.blocks.set(event.index, { type: "text", text: "" });
        else if (block.type === "thinking") state.blocks.set(event.index, { type: "thinking", text: "" });
        else if (block.type === "redacted-thinking")
          state.blocks.set(event.index, { type: "redacted-thinking", data: block.data });
        else {
          state.blocks.set(event.index, { type: "tool-use", id: block.id, name: block.name, input: {} });
          state.toolJson.set(event.index, "");
        }
        return;
      }
      case "block-delta": {
        const target = state.blocks.get(event.index);
        if (!target) return;
        const delta = event.delta;
        if (delta.type === "text" && target.type === "text") target.text += delta.text;
        else if (delta.type === "thinking" && target.type === "thinking") target.text += delta.text;
        else if (delta.type === "signature" && target.type === "thinking") target.signature = delta.signature;
        else if (delta.type === "tool-input" && target.type === "tool-use")
          state.toolJson.set(event.index, (state.toolJson.get(event.index) ?? "") + delta.partialJson);
        return;
      }
      case "text-run": {
        const target = state.blocks.get(event.index);
        if (target?.type === "text") target.text += event.run.texts().join("");
        return;
      }
      case "block-stop": {
        const target = state.blocks.get(event.index);
        const json = state.toolJson.get(event.index);
        if (target?.type === "tool-use" && json !== undefined) target.input = parseToolInput(json);
        return;
      }
      case "finish":
        state.result = {
          id: state.id,
          blocks: [...state.blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block),
          stopReason: event.stopReason,
          stopSequence: event.stopSequence,
          usage: event.usage,
        };
        return;
      case "error":
        state.error = { kind: event.kind, message: event.message };
        return;
    }
  }

  /** The finished result, or null if the stream ended without a finish event. */
  get result(): ChatResult | null {
    return this.state.result;
  }

  get error(): { kind: string; message: string } | null {
    return this.state.error;
  }

  /** Usage seen so far (the start event's), for a stream cut before its finish. */
  get partialUsage() {
    return this.usage;
  }
}

function parseToolInput(json: string): unknown {
  if (json.trim() === "") return {};
  try {
    return JSON.parse(json);
  } catch {
    return {};
  }
}

export function accumulateChatEvents(events: Iterable<ChatEvent>): ChatResult | null {
  const accumulator = new ChatAccumulator();
  for (const event of events) accumulator.push(event);
  return accumulator.result;
}
