/**
 * Relay (translated): the upstream's canonical events → the client's wire bytes, one event at a time,
 * with settlement exactly once:
 *
 * 1. `finish` → settle the final usage → the summary event → close.
 * 2. An upstream `error` event, a cut connection, or an end without `finish` → settle what was
 *    produced (input, plus output counted so far) → the dialect's error event → close. Never a silent end.
 * 3. The client goes away (`cancel`) → abort the upstream request → settle as 499 client_disconnected,
 *    billing what the upstream generated up to then.
 * While the upstream is silent, keepalive comments hold the connection open.
 */

import type { ChatEvent } from "../canonical/events.ts";
import { KeepaliveReader } from "../sse/keepalive.ts";
import { concatBytes, SSE_KEEPALIVE } from "../sse/encode.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement } from "./settle.ts";
import { StreamMeter } from "./stream-meter.ts";
import type { StreamEncoder } from "./summary.ts";

export interface RelayOptions {
  startedAtPerf: number;
  abort: AbortController;
  /** The gateway's input count, for upstreams that report none up front. */
  inputTokens: number;
}

export function relayStream(
  services: GatewayServices,
  upstream: ReadableStream<ChatEvent>,
  encoder: StreamEncoder,
  settlement: CallSettlement,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const reader = new KeepaliveReader(upstream.getReader(), services.keepaliveMs);
  const meter = new StreamMeter(options.startedAtPerf, options.inputTokens);
  let done = false;

  const fail = async (controller: ReadableStreamDefaultController<Uint8Array>, kind: string, message: string) => {
    done = true;
    settlement.finish({ status: "error", httpStatus: 502, errorCode: kind, usage: meter.partialUsage(), billable: true, ttftMs: meter.ttftMs });
    const bytes = encoder.encode({ type: "error", kind, message });
    if (bytes) controller.enqueue(bytes);
    options.abort.abort();
    controller.close();
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loop until something is to be sent, so one pull never leaves the consumer waiting on nothing; then
      // on while reads complete at once (the events of one upstream chunk). What one pull produces goes
      // out as one chunk: Bun's response sink pays per chunk, and a burst of small chunks costs far more
      // than its bytes (bench/translation.ts).
      const out: Uint8Array[] = [];
      const flush = () => {
        if (out.length > 0) controller.enqueue(concatBytes(out));
        out.length = 0;
      };
      while (!done) {
        let read = out.length > 0 ? reader.ready() : null;
        if (out.length > 0 && read === null) {
          flush();
          return;
        }
        try {
          // Only with nothing pending: a wait (and its keepalive) never holds back bytes already produced.
          read ??= await reader.next();
        } catch (error) {
          services.log.warn("upstream stream failed", { error: error instanceof Error ? error.message : String(error) });
          await fail(controller, "upstream_error", "The upstream connection failed mid-stream.");
          return;
        }
        if (read.kind === "idle") {
          controller.enqueue(SSE_KEEPALIVE);
          return;
        }
        if (read.kind === "done") {
          flush();
          await fail(controller, "upstream_error", "The upstream ended the stream before it finished.");
          return;
        }
        const event = read.value;
        meter.observe(event);
        if (event.type === "error") {
          flush();
          await fail(controller, event.kind, event.message);
          return;
        }
        if (event.type === "finish") {
          done = true;
          const finishBytes = encoder.encode(event);
          if (finishBytes) out.push(finishBytes);
          flush();
          const summary = settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage: event.usage, billable: true, ttftMs: meter.ttftMs });
          const summaryBytes = encoder.encode({ type: "summary", summary });
          if (summaryBytes) controller.enqueue(summaryBytes);
          controller.close();
          return;
        }
        const bytes = encoder.encode(event);
        if (bytes) out.push(bytes);
      }
    },
    cancel() {
      if (done) return;
      done = true;
      options.abort.abort();
      reader.cancel().catch(() => {});
      settlement.finish({
        status: "error",
        httpStatus: 499,
        errorCode: "client_disconnected",
        usage: meter.partialUsage(),
        billable: true,
        ttftMs: meter.ttftMs,
      });
    },
  });
}
