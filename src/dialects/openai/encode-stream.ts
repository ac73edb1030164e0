/**
 * Relay events → OpenAI `chat.completion.chunk` SSE. Text, reasoning and tool-call deltas stream as
 * they come; each tool-use block gets its own `tool_calls[].index`; the finish chunk carries
 * `finish_reason`; the usage chunk (with the `tollgate` object) is sent only when the client asked
 * for it; then `[DONE]`. A failure after the start is a data chunk with an `error` object.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */

import { encodeSseEvent, textRunBytes } from "../../sse/encode.ts";
import type { EncodeMeta, RelayEvent, StreamEncoder, TextRunEvent } from "../../gateway/summary.ts";
import { encodeOpenAIUsage, mapStopReasonToOpenAI, newChatCompletionId } from "./encode-response.ts";
import { openAIErrorType } from "./encode-error.ts";
import type { Usage } from "../../canonical/usage.ts";

const DONE = encodeSseEvent("[DONE]");
const utf8 = new TextEncoder();

interface OpenAIStreamState {
  id: string;
  /** Block index → tool_calls[] index. */
  toolIndex: Map<number, number>;
  /**
   * Tool blocks (by block index) open with no argument text sent yet: an Anthropic upstream streams a
   * call without arguments as `{}` up front and an empty delta, and OpenAI's clients parse "" as no JSON.
   */
  toolsWithoutArguments: Set<number>;
  finalUsage: Usage | null;
  /**
   * The assistant's role chunk waits for the first delta, as OpenAI writes it: `content: ""` before text,
   * `content: null` with the first tool call or reasoning of an answer that starts with one (clients read
   * "" as the start of a text part).
   */
  rolePending: boolean;
  ended: boolean;
}

export function createOpenAIStreamEncoder(meta: EncodeMeta): StreamEncoder {
  const state: OpenAIStreamState = { id: newChatCompletionId(), toolIndex: new Map(), toolsWithoutArguments: new Set(), finalUsage: null, rolePending: false, ended: false };
  // The fixed prefix of every chunk, serialised once.
  const head = `{"id":${JSON.stringify(state.id)},"object":"chat.completion.chunk","created":${meta.createdSec},"model":${JSON.stringify(meta.model)},"system_fingerprint":null,"choices":`;
  // Every part of a chunk is JSON.stringify's output or a constant: no line break to check for.
  const chunkHead = `data: ${head}[{"index":0,"delta":`;
  const chunk = (delta: string, finishReason: string | null = null): string =>
    `${chunkHead}${delta},"logprobs":null,"finish_reason":${finishReason === null ? "null" : JSON.stringify(finishReason)}}]}\n\n`;
  const argumentsChunk = (blockIndex: number, partialJson: string): string =>
    chunk(`{"tool_calls":[{"index":${state.toolIndex.get(blockIndex) ?? 0},"function":{"arguments":${JSON.stringify(partialJson)}}}]}`);
  /** Whether this delta is the first: it then carries the role (once). */
  const claimRole = (): boolean => {
    const pending = state.rolePending;
    state.rolePending = false;
    return pending;
  };
  /** The role chunk, once, before the first text (or the finish of an answer with nothing in it). */
  const role = (): string => (claimRole() ? chunk(`{"role":"assistant","content":"","refusal":null}`) : "");
  /** A content chunk's bytes around its literal (`chunk` with `{"content":<literal>}`), made at the first text run. */
  let runEnvelope: { head: Uint8Array; tail: Uint8Array } | null = null;

  return {
    encode(event: RelayEvent): string {
      if (state.ended) return "";
      switch (event.type) {
        case "start":
          state.rolePending = true;
          return "";
        case "block-start": {
          if (event.block.type !== "tool-use") return "";
          const toolIndex = state.toolIndex.size;
          state.toolIndex.set(event.index, toolIndex);
          state.toolsWithoutArguments.add(event.index);
          const call = { index: toolIndex, id: event.block.id, type: "function", function: { name: event.block.name, arguments: "" } };
          return chunk(JSON.stringify(claimRole() ? { role: "assistant", content: null, tool_calls: [call], refusal: null } : { tool_calls: [call] }));
        }
        case "block-delta": {
          const delta = event.delta;
          if (delta.type === "text") return role() + chunk(`{"content":${delta.literal ?? JSON.stringify(delta.text)}}`);
          if (delta.type === "thinking") {
            // With the role, content null: a client starts a text part at content "" (the AI SDK does).
            const reasoning = JSON.stringify(delta.text);
            return chunk(claimRole() ? `{"role":"assistant","content":null,"reasoning_content":${reasoning},"refusal":null}` : `{"reasoning_content":${reasoning}}`);
          }
          if (delta.type === "tool-input") {
            if (delta.partialJson === "") return "";
            state.toolsWithoutArguments.delete(event.index);
            return argumentsChunk(event.index, delta.partialJson);
          }
          return "";
        }
        case "block-stop":
          // A call that streamed no arguments gets OpenAI's own for none: "{}".
          return state.toolsWithoutArguments.delete(event.index) ? argumentsChunk(event.index, "{}") : "";
        case "finish": {
          state.finalUsage = event.usage;
          let out = "";
          for (const index of state.toolsWithoutArguments) out += argumentsChunk(index, "{}");
          state.toolsWithoutArguments.clear();
          return role() + out + chunk("{}", mapStopReasonToOpenAI(event.stopReason));
        }
        case "summary": {
          state.ended = true;
          let out = "";
          if (meta.includeUsage && state.finalUsage) {
            const usage = JSON.stringify(encodeOpenAIUsage(state.finalUsage));
            out += encodeSseEvent(`${head}[],"usage":${usage},"tollgate":${JSON.stringify(event.summary)}}`);
          }
          out += DONE;
          if (meta.usageEvent) out += encodeSseEvent(JSON.stringify(event.summary), "tollgate.usage");
          return out;
        }
        case "error": {
          state.ended = true;
          const body = { error: { message: event.message, type: openAIErrorType(event.kind), code: event.kind, param: null } };
          return encodeSseEvent(JSON.stringify(body));
        }
      }
    },

    /** A content chunk per text, each the upstream's own literal copied between the chunk's head and tail. */
    encodeTextRun(event: TextRunEvent): Uint8Array | string {
      if (state.ended) return "";
      runEnvelope ??= { head: utf8.encode(`${chunkHead}{"content":`), tail: utf8.encode(`},"logprobs":null,"finish_reason":null}]}\n\n`) };
      const bytes = textRunBytes(runEnvelope.head, runEnvelope.tail, event.run);
      const pending = role();
      if (pending === "") return bytes;
      // A stream whose first text came as a run (rare: a run follows a parsed chunk): the role goes first.
      const roleBytes = utf8.encode(pending);
      const withRole = new Uint8Array(roleBytes.length + bytes.length);
      withRole.set(roleBytes);
      withRole.set(bytes, roleBytes.length);
      return withRole;
    },
  };
}
