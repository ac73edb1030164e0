/**
 * Relay: the upstream's canonical event stream → the client's wire bytes, one event at a time, with
 * settlement exactly once:
 *
 * 1. `finish` → settle the final usage → the summary event → close.
 * 2. An upstream `error` event, a cut connection, or an end without `finish` → settle what was
 *    produced (input, plus output counted so far) → the dialect's error event → close. Never a silent end.
 * 3. The client goes away (`cancel`) → abort the upstream request → settle as 499 client_disconnected,
 *    billing what the upstream generated up to then.
 */

import type { ChatEvent } from "../canonical/events.ts";
import { estimateTextTokens } from "../canonical/token-estimate.ts";
import { emptyUsage, type Usage } from "../canonical/usage.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement } from "./settle.ts";
import type { StreamEncoder } from "./summary.ts";

interface RelayState {
  startUsage: Usage;
  /** Output tokens counted by the gateway from the deltas, for a stream cut before its usage. */
  countedOutput: number;
  ttftMs: number | null;
  done: boolean;
}

export function relayStream(
  services: GatewayServices,
  upstream: ReadableStream<ChatEvent>,
  encoder: StreamEncoder,
  settlement: CallSettlement,
  abort: AbortController,
  startedAtPerf: number,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const state: RelayState = { startUsage: emptyUsage(), countedOutput: 0, ttftMs: null, done: false };

  const partialUsage = (): Usage => ({ ...state.startUsage, output: Math.max(state.startUsage.output, state.countedOutput) });

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, kind: string, message: string) => {
    state.done = true;
    settlement.finish({ status: "error", httpStatus: 502, errorCode: kind, usage: partialUsage(), billable: true, ttftMs: state.ttftMs });
    const bytes = encoder.encode({ type: "error", kind, message });
    if (bytes) controller.enqueue(bytes);
    controller.close();
    abort.abort();
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loop until something is enqueued, so one pull never leaves the consumer waiting on nothing.
      while (!state.done) {
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (error) {
          services.log.warn("upstream stream failed", { error: error instanceof Error ? error.message : String(error) });
          fail(controller, "upstream_error", "The upstream connection failed mid-stream.");
          return;
        }
        if (next.done) {
          fail(controller, "upstream_error", "The upstream ended the stream before it finished.");
          return;
        }
        const event = next.value;
        switch (event.type) {
          case "start":
            state.startUsage = event.usage;
            break;
          case "block-delta":
            if (state.ttftMs === null) state.ttftMs = Math.round(performance.now() - startedAtPerf);
            if (event.delta.type === "text" || event.delta.type === "thinking") state.countedOutput += estimateTextTokens(event.delta.text);
            else if (event.delta.type === "tool-input") state.countedOutput += estimateTextTokens(event.delta.partialJson);
            break;
          case "error":
            fail(controller, event.kind, event.message);
            return;
          case "finish": {
            state.done = true;
            const finishBytes = encoder.encode(event);
            if (finishBytes) controller.enqueue(finishBytes);
            const summary = settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage: event.usage, billable: true, ttftMs: state.ttftMs });
            const summaryBytes = encoder.encode({ type: "summary", summary });
            if (summaryBytes) controller.enqueue(summaryBytes);
            controller.close();
            reader.releaseLock();
            return;
          }
          default:
            break;
        }
        const bytes = encoder.encode(event);
        if (bytes) {
          controller.enqueue(bytes);
          return;
        }
      }
    },
    cancel() {
      if (state.done) return;
      state.done = true;
      abort.abort();
      reader.cancel().catch(() => {});
      settlement.finish({
        status: "error",
        httpStatus: 499,
        errorCode: "client_disconnected",
        usage: partialUsage(),
        billable: true,
        ttftMs: state.ttftMs,
      });
    },
  });
}
