/**
 * The `mock` provider: generates answers locally (script.ts) and streams them with the configured
 * time to first token and tokens per second. Serves the demo config, tests and benchmarks.
 */

import { accumulateChatEvents } from "../../canonical/accumulate.ts";
import type { ChatEvent } from "../../canonical/events.ts";
import type { ChatRequest } from "../../canonical/request.ts";
import type { ChatResult } from "../../canonical/result.ts";
import type { Usage } from "../../canonical/usage.ts";
import type { ProviderConfig } from "../../config/types.ts";
import { GatewayError } from "../../errors.ts";
import { estimateTextTokens } from "../../canonical/token-estimate.ts";
import { randomToken } from "../../lib/ids.ts";
import type { BatchReader } from "../../sse/batch-reader.ts";
import type { ProviderAdapter, ProviderCallContext, Translated } from "../types.ts";
import { planMockAnswer, type MockScript } from "./script.ts";

function scriptEvents(script: MockScript, messageId: string): ChatEvent[] {
  const startUsage: Usage = { input: script.inputTokens, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  const events: ChatEvent[] = [{ type: "start", id: messageId, usage: startUsage }];
  if (script.toolCall) {
    const { id, name, argumentsJson } = script.toolCall;
    events.push({ type: "block-start", index: 0, block: { type: "tool-use", id, name } });
    // Arguments arrive in two pieces, as real upstreams split them.
    const half = Math.floor(argumentsJson.length / 2);
    events.push({ type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: argumentsJson.slice(0, half) } });
    events.push({ type: "block-delta", index: 0, delta: { type: "tool-input", partialJson: argumentsJson.slice(half) } });
    events.push({ type: "block-stop", index: 0 });
  } else {
    events.push({ type: "block-start", index: 0, block: { type: "text" } });
    for (const piece of script.pieces) events.push({ type: "block-delta", index: 0, delta: { type: "text", text: piece } });
    events.push({ type: "block-stop", index: 0 });
  }
  events.push({
    type: "finish",
    stopReason: script.stopReason,
    stopSequence: script.stopSequence,
    usage: { ...startUsage, output: script.outputTokens },
  });
  return events;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

export function createMockAdapter(provider: ProviderConfig): ProviderAdapter {
  const { ttftMs, tokensPerSecond } = provider.mock;
  const gapMs = tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0;

  const plan = (request: ChatRequest, ctx: ProviderCallContext) =>
    scriptEvents(planMockAnswer(request, ctx.channel.upstreamModel, ctx.maxTokens, `toolu_${randomToken(24)}`), `msg_mock_${randomToken(20)}`);

  return {
    kind: "mock",
    async stream(request, ctx) {
      const events = plan(request, ctx);
      await sleep(ttftMs, ctx.signal);
      if (ctx.signal.aborted) throw new GatewayError("client_disconnected", "The client went away.");
      let next = 0;
      let emittedAt = performance.now();
      const paced = (event: ChatEvent | undefined) => gapMs > 0 && event?.type === "block-delta";
      // One batch per paced delta (with the events up to the next one); all at once when unpaced.
      const reader: BatchReader<ChatEvent[]> = {
        async read() {
          const first = events[next];
          if (!first) return { done: true };
          if (paced(first)) {
            const due = emittedAt + gapMs;
            await sleep(due - performance.now(), ctx.signal);
            emittedAt = due;
          }
          const batch = [first];
          next++;
          for (let event = events[next]; event && !paced(event); event = events[++next]) batch.push(event);
          return { done: false, value: batch };
        },
        async cancel() {
          next = events.length;
        },
      };
      return { value: reader, dropped: [] };
    },
    async complete(request, ctx): Promise<Translated<ChatResult>> {
      const events = plan(request, ctx);
      const outputTokens = events.filter((event) => event.type === "block-delta").length;
      await sleep(ttftMs + outputTokens * gapMs, ctx.signal);
      if (ctx.signal.aborted) throw new GatewayError("client_disconnected", "The client went away.");
      const result = accumulateChatEvents(events);
      if (!result) throw new GatewayError("internal", "The mock provider produced no result.");
      return { value: result, dropped: [] };
    },
    async embeddings(raw) {
      const inputs = Array.isArray(raw.input) ? raw.input : [raw.input];
      const dimensions = typeof raw.dimensions === "number" ? raw.dimensions : MOCK_EMBEDDING_DIMENSIONS;
      let tokens = 0;
      const data = inputs.map((input, index) => {
        const text = typeof input === "string" ? input : JSON.stringify(input);
        tokens += Array.isArray(input) ? input.length : estimateTextTokens(text);
        const vector = mockEmbedding(text, dimensions);
        // The OpenAI SDK asks for base64 (little-endian float32) unless told otherwise.
        const embedding = raw.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
        return { object: "embedding", index, embedding };
      });
      return {
        body: { object: "list", data, model: raw.model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
        inputTokens: tokens,
      };
    },
  };
}

const MOCK_EMBEDDING_DIMENSIONS = 8;

/** A deterministic unit vector derived from the text (same text, same vector). */
function mockEmbedding(text: string, dimensions: number): number[] {
  let seed = Number(Bun.hash.crc32(text));
  const values: number[] = [];
  for (let index = 0; index < dimensions; index++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    values.push(seed / 2_147_483_648 - 0.5);
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((value) => value / norm);
}
