/**
 * Relay (translated): the upstream's canonical events → the client's wire bytes, a batch (one upstream
 * read) at a time, with settlement exactly once:
 *
 * 1. `finish` → settle the final usage → the summary event → close.
 * 2. An upstream `error` event, a cut connection, or an end without `finish` → settle what was
 *    produced (input, plus output counted so far) → the dialect's error event → close. Never a silent end.
 * 3. The client goes away (`cancel`) → abort the upstream request → settle as 499 client_disconnected,
 *    billing what the upstream generated up to then.
 * While the upstream is silent, keepalive comments hold the connection open.
 */

import { endsFirstChunk, type ChatEvent } from "../canonical/events.ts";
import { KeepaliveReader, type KeepaliveRead } from "../sse/keepalive.ts";
import type { BatchReader } from "../sse/batch-reader.ts";
import { SSE_KEEPALIVE, SseChunk } from "../sse/encode.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement } from "./settle.ts";
import { StreamMeter } from "./stream-meter.ts";
import { encodeStreamEvent, type StreamEncoder } from "./summary.ts";
import { messageOf } from "../lib/log.ts";

export interface RelayOptions {
  startedAtPerf: number;
  abort: AbortController;
  /** The gateway's input count, for upstreams that report none up front. */
  inputTokens: number;
}

export function relayStream(
  services: GatewayServices,
  upstream: BatchReader<ChatEvent[]>,
  encoder: StreamEncoder,
  settlement: CallSettlement,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const reader = new KeepaliveReader(upstream, services.keepaliveMs);
  const meter = new StreamMeter(options.startedAtPerf, options.inputTokens);
  let done = false;
  /** Whether a pull has sent bytes yet. */
  let sent = false;

  /** Settles a failed stream; returns its error event's text. */
  const fail = (kind: string, message: string): string => {
    done = true;
    settlement.finish({ status: "error", httpStatus: 502, errorCode: kind, usage: meter.partialUsage(), billable: true, ttftMs: meter.ttftMs });
    options.abort.abort();
    return encoder.encode({ type: "error", kind, message });
  };

  /** Events of a batch left for the next pull (the first pull stops at the first content). */
  let carried: ChatEvent[] | null = null;

  /**
   * Encodes one batch's events, appending to `out`; stops at a finish or an error, and, when
   * `toFirstContent`, after the first content delta (the events after it are carried to the next pull).
   * Returns whether it stopped there.
   */
  const relayBatch = (events: ChatEvent[], out: { chunk: SseChunk; finish: Extract<ChatEvent, { type: "finish" }> | null }, toFirstContent: boolean): boolean => {
    for (let index = 0; index < events.length; index++) {
      const event = events[index] as ChatEvent;
      meter.observe(event);
      if (event.type === "error") {
        out.chunk.add(fail(event.kind, event.message));
        return false;
      }
      if (event.type === "finish") {
        done = true;
        out.finish = event;
        out.chunk.add(encoder.encode(event));
        return false;
      }
      out.chunk.add(encodeStreamEvent(encoder, event));
      // Errors and the finish returned above: what is left of endsFirstChunk is the first content delta.
      if (toFirstContent && endsFirstChunk(event) && index + 1 < events.length) {
        carried = events.slice(index + 1);
        return true;
      }
    }
    return false;
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loop until something is to be sent, so one pull never leaves the consumer waiting on nothing; then
      // on while reads complete at once. What one pull produces goes out together, its text encoded once:
      // Bun's response sink and TextEncoder pay per call, and a burst of small chunks costs far more than
      // its bytes (bench/translation.ts); a text run's bytes go as their own chunk (SseChunk).
      const out = { chunk: new SseChunk(), finish: null as Extract<ChatEvent, { type: "finish" }> | null };
      while (!done) {
        // The first bytes go as soon as there are any (time to first byte); later pulls drain what is ready.
        let read: KeepaliveRead<ChatEvent[]> | null = carried === null ? null : { kind: "value", done: false, value: carried };
        carried = null;
        if (read === null && !out.chunk.empty && sent) read = reader.ready();
        if (!out.chunk.empty && read === null) break;
        try {
          // Only with nothing pending: a wait (and its keepalive) never holds back bytes already produced.
          read ??= await reader.next();
        } catch (error) {
          services.log.warn("upstream stream failed", { error: messageOf(error) });
          out.chunk.add(fail("upstream_error", "The upstream connection failed mid-stream."));
          break;
        }
        if (read.kind === "idle") {
          controller.enqueue(SSE_KEEPALIVE);
          return;
        }
        if (read.kind === "done") {
          out.chunk.add(fail("upstream_error", "The upstream ended the stream before it finished."));
          break;
        }
        // The first pull sends the start and the first content at once: a fast upstream's first read
        // can hold the whole answer, and translating all of it first would delay the first token.
        if (relayBatch(read.value, out, !sent)) break;
      }
      if (out.finish) {
        // The finish and the summary go out together (the commit follows: settle.ts).
        const summary = settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage: out.finish.usage, billable: true, ttftMs: meter.ttftMs });
        out.chunk.add(encoder.encode({ type: "summary", summary }));
        out.chunk.sendTo(controller);
        controller.close();
        return;
      }
      if (done) {
        // A failure: its error event ends the stream (the partial charge's commit follows: settle.ts).
        out.chunk.sendTo(controller);
        controller.close();
        return;
      }
      out.chunk.sendTo(controller);
      sent = true;
    },
    cancel() {
      if (done) return;
      done = true;
      // What the upstream sent is billed even if the client left before it was relayed; a finish among it
      // brings the upstream's own usage (reasoning, cached input), which the partial count cannot know.
      let finished: Extract<ChatEvent, { type: "finish" }> | null = null;
      for (const event of carried ?? []) {
        meter.observe(event);
        if (event.type === "finish") finished = event;
      }
      carried = null;
      options.abort.abort();
      reader.cancel().catch(() => {});
      settlement.finish({
        status: "error",
        httpStatus: 499,
        errorCode: "client_disconnected",
        usage: finished?.usage ?? meter.partialUsage(),
        billable: true,
        ttftMs: meter.ttftMs,
      });
    },
  });
}
