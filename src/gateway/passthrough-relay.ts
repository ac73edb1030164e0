/**
 * Relay (same dialect): the upstream's own SSE events go to the client unchanged apart from the model
 * id. Each event is parsed once and tapped by the provider's decoder for usage, finish and errors. The
 * last usage-bearing event is held until the stream's end so it can carry the settled `tollgate`
 * object (SPEC §6). Settlement and failure handling are those of relay.ts.
 */

import type { ChatEvent } from "../canonical/events.ts";
import type { UpstreamEventDecoder } from "../providers/sse-events.ts";
import { parseSseData } from "../providers/sse-events.ts";
import { SseDecoder, type SseEvent } from "../sse/decode.ts";
import { concatBytes, encodeSseEvent, SSE_KEEPALIVE } from "../sse/encode.ts";
import { KeepaliveReader } from "../sse/keepalive.ts";
import { attachSummary, type PassthroughWire } from "./codec.ts";
import type { RelayOptions } from "./relay.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement } from "./settle.ts";
import { StreamMeter } from "./stream-meter.ts";
import type { EncodeMeta, StreamEncoder } from "./summary.ts";

/**
 * The upstream's event as the client gets it: its own data text with only the model id changed. The
 * model member is replaced in the text when it occurs there exactly once as `"model":"<id>"` (what
 * every upstream writes; a JSON string's own quotes are escaped, so only a member matches); anything
 * else is re-serialised from the parsed object.
 */
function forwardedData(event: SseEvent, data: Record<string, unknown>, wire: PassthroughWire, model: string): string {
  const message = data.message;
  const current = typeof data.model === "string" ? data.model : isRecord(message) && typeof message.model === "string" ? message.model : null;
  if (current === null || current === model) return event.data;
  const needle = `"model":${JSON.stringify(current)}`;
  const at = event.data.indexOf(needle);
  if (at !== -1 && event.data.indexOf(needle, at + needle.length) === -1) {
    return `${event.data.slice(0, at)}"model":${JSON.stringify(model)}${event.data.slice(at + needle.length)}`;
  }
  wire.setModel(data, model);
  return JSON.stringify(data);
}

function encodeUpstreamEvent(event: SseEvent, data: unknown): Uint8Array {
  return encodeSseEvent(typeof data === "string" ? data : JSON.stringify(data), event.event === "" ? undefined : event.event);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export interface PassthroughRelayParts {
  body: ReadableStream<Uint8Array>;
  tap: UpstreamEventDecoder;
  wire: PassthroughWire;
  /** The client dialect's encoder, for the error event of a stream the upstream cut. */
  encoder: StreamEncoder;
  meta: EncodeMeta;
}

export function passthroughStream(
  services: GatewayServices,
  parts: PassthroughRelayParts,
  settlement: CallSettlement,
  options: RelayOptions,
): ReadableStream<Uint8Array> {
  const { tap, wire, encoder, meta } = parts;
  const reader = new KeepaliveReader(parts.body.getReader(), services.keepaliveMs);
  const sse = new SseDecoder();
  const meter = new StreamMeter(options.startedAtPerf, options.inputTokens);
  let held: { event: SseEvent; data: unknown } | null = null;
  let done = false;

  const failWith = (out: Uint8Array[], kind: string, message: string, forward: Uint8Array | null) => {
    done = true;
    settlement.finish({ status: "error", httpStatus: 502, errorCode: kind, usage: meter.partialUsage(), billable: true, ttftMs: meter.ttftMs });
    // The upstream's own error event is already in the client's dialect; otherwise the dialect writes one.
    const bytes = forward ?? encoder.encode({ type: "error", kind, message });
    if (bytes) out.push(bytes);
    options.abort.abort();
  };

  /** Handles one upstream event; returns the bytes to send now. */
  const handle = (event: SseEvent, out: Uint8Array[]) => {
    const data = parseSseData(event.data);
    const canonical: ChatEvent[] = tap.push(event, data);
    let finish: Extract<ChatEvent, { type: "finish" }> | null = null;
    for (const item of canonical) {
      meter.observe(item);
      if (item.type === "finish") finish = item;
      else if (item.type === "error") {
        failWith(out, item.kind, item.message, isRecord(data) ? encodeUpstreamEvent(event, data) : null);
        return;
      }
    }
    if (!finish && wire.isUsageEvent(event, data)) {
      // Held, and given the `tollgate` object at the end: this one is re-serialised.
      if (isRecord(data)) wire.setModel(data, meta.model);
      held = { event, data };
      return;
    }
    const text = isRecord(data) ? forwardedData(event, data, wire, meta.model) : event.data;
    if (finish || wire.isTerminal(event, data)) {
      done = true;
      const usage = finish?.usage ?? meter.partialUsage();
      const summary = settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage, billable: true, ttftMs: meter.ttftMs });
      if (held && isRecord(held.data) && wire.forwardUsageEvent(meta)) {
        attachSummary(held.data, summary);
        out.push(encodeUpstreamEvent(held.event, held.data));
      }
      out.push(encodeUpstreamEvent(event, text));
      if (meta.usageEvent) out.push(encodeSseEvent(JSON.stringify(summary), "tollgate.usage"));
      return;
    }
    out.push(encodeUpstreamEvent(event, text));
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!done) {
        const out: Uint8Array[] = [];
        let read;
        try {
          read = await reader.next();
        } catch (error) {
          services.log.warn("upstream stream failed", { error: error instanceof Error ? error.message : String(error) });
          failWith(out, "upstream_error", "The upstream connection failed mid-stream.", null);
        }
        if (read?.kind === "idle") {
          controller.enqueue(SSE_KEEPALIVE);
          return;
        }
        if (read !== undefined) {
          const events = read.kind === "done" ? sse.end() : sse.push(read.value);
          for (const event of events) {
            if (done) break;
            handle(event, out);
          }
          if (read.kind === "done" && !done) failWith(out, "upstream_error", "The upstream ended the stream before it finished.", null);
        }
        // One chunk per pull: Bun's response sink pays per chunk, and the events of one upstream read
        // enqueued one by one cost far more than their bytes (bench/translation.ts).
        if (out.length > 0) controller.enqueue(concatBytes(out));
        if (done) {
          controller.close();
          return;
        }
        if (out.length > 0) return;
      }
    },
    cancel() {
      if (done) return;
      done = true;
      options.abort.abort();
      reader.cancel().catch(() => {});
      settlement.finish({ status: "error", httpStatus: 499, errorCode: "client_disconnected", usage: meter.partialUsage(), billable: true, ttftMs: meter.ttftMs });
    },
  });
}
