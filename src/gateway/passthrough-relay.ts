/**
 * Relay (same dialect): the upstream's own SSE events go to the client unchanged apart from the model
 * id. Each event is tapped once by the provider's decoder (usage, finish, errors) when it is read, so
 * the peek and the relay share that work; chunks the decoder read through a learned slot are forwarded
 * from the slot's rewritten envelope without being parsed. The last usage-bearing event is held until
 * the stream's end so it can carry the settled `tollgate` object (SPEC §6). Settlement and failure
 * handling are those of relay.ts.
 */

import { endsFirstChunk, type ChatEvent } from "../canonical/events.ts";
import type { Usage } from "../canonical/usage.ts";
import type { JsonStringSlot } from "../lib/json-string-slot.ts";
import type { UpstreamEventDecoder } from "../providers/sse-events.ts";
import { type BatchReader, SseBatchReader } from "../sse/batch-reader.ts";
import type { SseEvent } from "../sse/decode.ts";
import { readSlottedRun, SlottedRun } from "../sse/slotted-run.ts";
import { encodeSseEvent, encodeSseEventLines, SSE_KEEPALIVE, SseChunk, splicedBytes } from "../sse/encode.ts";
import { KeepaliveReader } from "../sse/keepalive.ts";
import { attachSummary, type PassthroughWire } from "./codec.ts";
import { forwardedText, ModelRewrite, slotForward, type SlotForward } from "./model-rewrite.ts";
import type { RelayOptions } from "./relay.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement } from "./settle.ts";
import { StreamMeter } from "./stream-meter.ts";
import type { EncodeMeta, StreamEncoder, TollgateSummary } from "./summary.ts";
import { messageOf } from "../lib/log.ts";

/**
 * One upstream event as the tap read it: its data parsed (or the slot it matched) and its canonical
 * events; or a run of chunks the lane read through the slot (`run`; `event` then stands for its first).
 */
export interface TappedEvent {
  event: SseEvent;
  data: unknown;
  slot: JsonStringSlot | null;
  canonical: ChatEvent[];
  run?: SlottedRun;
  /** The body's end: `canonical` holds what the tap made of it (a finish, or an error for a cut stream). */
  end?: true;
}

const NONE: ChatEvent[] = [];
const EMPTY = new Uint8Array(0);
const BODY_END: SseEvent = { event: "", data: "" };

/** The upstream body as batches of tapped events, one batch per read; the last batch ends with the body's end (`end`). */
export function tappedEventReader(body: ReadableStream<Uint8Array>, tap: UpstreamEventDecoder): BatchReader<TappedEvent[]> {
  const pushRun = tap.pushRun?.bind(tap);
  return new SseBatchReader<TappedEvent, SlottedRun>(
    body.getReader(),
    (events, atEnd) => {
      const batch: TappedEvent[] = [];
      for (const event of events) {
        const canonical: ChatEvent[] = [];
        if (event instanceof SlottedRun) {
          pushRun?.(event, canonical);
          const first = { event: event.event, get data() { return event.dataOf(0); } };
          batch.push({ event: first, data: undefined, slot: event.slot, canonical: canonical.length === 0 ? NONE : canonical, run: event });
          continue;
        }
        tap.push(event, canonical);
        batch.push({ event, data: tap.lastData, slot: tap.lastSlot, canonical: canonical.length === 0 ? NONE : canonical });
      }
      if (atEnd) {
        const canonical: ChatEvent[] = [];
        tap.end(canonical);
        batch.push({ event: BODY_END, data: undefined, slot: null, canonical, end: true });
      }
      return batch;
    },
    {
      // Runs only reach a tap that reads them.
      slot: () => (pushRun === undefined ? null : (tap.expectedSlot ?? null)),
      lane: readSlottedRun,
      event: () => tap.expectedEvent ?? "",
      // The first chunk to the client goes out as soon as the first content delta is read.
      firstBatchEndsAfter: (items) => items.some((item) => item.canonical.some(endsFirstChunk)),
    },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function encodeUpstreamEvent(event: SseEvent, data: unknown): string {
  return encodeSseEventLines(typeof data === "string" ? data : JSON.stringify(data), event.event === "" ? undefined : event.event);
}

export interface PassthroughRelayParts {
  events: BatchReader<TappedEvent[]>;
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
  const { wire, encoder, meta } = parts;
  const reader = new KeepaliveReader(parts.events, services.keepaliveMs);
  const meter = new StreamMeter(options.startedAtPerf, options.inputTokens);
  const rewrite = new ModelRewrite(wire, meta.model);
  let forward: SlotForward | null = null;
  let held: { event: SseEvent; data: unknown } | null = null;
  let done = false;
  /** Whether a pull has sent bytes yet. */
  let sent = false;

  const failWith = (kind: string, message: string, forwarded: string | null): string => {
    done = true;
    // A usage-bearing chunk held back was read and is billed: it reaches the client before the error.
    const earlier = held === null ? "" : release(held, null);
    held = null;
    settlement.finish({ status: "error", httpStatus: 502, errorCode: kind, usage: meter.partialUsage(), billable: true, ttftMs: meter.ttftMs });
    options.abort.abort();
    // The upstream's own error event is already in the client's dialect; otherwise the dialect writes one.
    return earlier + (forwarded ?? encoder.encode({ type: "error", kind, message }));
  };

  /**
   * A chunk read through a slot: a content delta, forwarded as the slot's rewritten envelope (with the
   * event's SSE framing, worked out once per slot) around its own literal.
   */
  const forwardSlotted = (item: TappedEvent, slot: JsonStringSlot): string | null => {
    if (forward?.slot !== slot || forward.eventName !== item.event.event) forward = slotForward(slot, item.event, wire, rewrite);
    const head = forward.head;
    if (head === null) return null;
    return forwardedText(forward, head, slot.literalOf(item.event.data), slot.freeOf(item.event.data));
  };

  /**
   * A run of content chunks: forwarded as spans of the read after the rewritten head when nothing after
   * the head changes (in the read's own bytes, which no one else reads, unless the head grew); else each
   * chunk as `handle` forwards one.
   */
  const forwardRun = (run: SlottedRun, first: SseEvent): string | Uint8Array => {
    if (forward?.slot !== run.slot || forward.eventName !== run.event) forward = slotForward(run.slot, first, wire, rewrite);
    if (forward.headBytes !== null) {
      const inPlace = run.forwardInPlace(forward.headBytes);
      if (inPlace !== null) return inPlace;
      const { spans, spanBytes } = run.fromLiterals();
      return splicedBytes(forward.headBytes, EMPTY, run.bytes, spans, run.eventCount, spanBytes);
    }
    let out = "";
    for (let index = 0; index < run.eventCount; index++) {
      const data = run.dataOf(index);
      const event = { event: run.event, data };
      const parsed: unknown = JSON.parse(data);
      out += encodeUpstreamEvent(event, isRecord(parsed) ? rewrite.apply(data, parsed) : data);
    }
    return out;
  };

  /**
   * A held usage-bearing event as the client gets it: with the `tollgate` object when it is the last
   * (`summary`) and the client takes usage; without its usage, or not at all, when the client did not ask.
   */
  const release = (usageEvent: { event: SseEvent; data: unknown }, summary: TollgateSummary | null): string => {
    const { event, data } = usageEvent;
    if (!isRecord(data)) return "";
    if (wire.forwardUsageEvent(meta)) {
      if (summary !== null) attachSummary(data, summary);
      return encodeUpstreamEvent(event, data);
    }
    return wire.stripUsage(data) ? encodeUpstreamEvent(event, data) : "";
  };

  /**
   * The stream is done and served: settled with `usage`; then the held usage event (with the `tollgate`
   * object), the dialect's last event as the upstream wrote it (`last`; none when the body just ended)
   * and the trailing `tollgate.usage` event when asked for.
   */
  const settleServed = (usage: Usage, last: string): string => {
    done = true;
    const summary = settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage, billable: true, ttftMs: meter.ttftMs });
    let out = held === null ? "" : release(held, summary);
    out += last;
    if (meta.usageEvent) out += encodeSseEvent(JSON.stringify(summary), "tollgate.usage");
    return out;
  };

  /**
   * The body ended before the dialect's last event: a stream the tap saw finish (an OpenAI-compatible
   * server that sends its finish reason and usage but no `[DONE]`) settles as it would have, as on the
   * translated path; any other is cut.
   */
  const handleEnd = (item: TappedEvent): string => {
    let finish: Extract<ChatEvent, { type: "finish" }> | null = null;
    for (const canonical of item.canonical) {
      meter.observe(canonical);
      if (canonical.type === "finish") finish = canonical;
      else if (canonical.type === "error") return failWith(canonical.kind, canonical.message, null);
    }
    if (finish === null) return failWith("upstream_error", "The upstream ended the stream before it finished.", null);
    return settleServed(finish.usage, "");
  };

  /**
   * A held usage-bearing event goes out before any later event that carries none (some servers put
   * usage on content chunks too): the client reads the upstream's events in the upstream's order.
   */
  const flushHeld = (out: SseChunk): void => {
    if (held === null) return;
    out.add(release(held, null));
    held = null;
  };

  /** Handles one upstream event, adding what to send now to `out`. */
  const handle = (item: TappedEvent, out: SseChunk): void => {
    if (item.end) {
      out.add(handleEnd(item));
      return;
    }
    if (item.run !== undefined) {
      // Content chunks (the slot's envelope is a plain content chunk's): a tap gives no error or finish for
      // them; one that did would end the stream settled, never forwarded past.
      for (const canonical of item.canonical) {
        meter.observe(canonical);
        if (canonical.type === "error") return out.add(failWith(canonical.kind, canonical.message, null));
        if (canonical.type === "finish") return out.add(failWith("upstream_error", "The upstream stream could not be read.", null));
      }
      flushHeld(out);
      out.add(forwardRun(item.run, item.event));
      return;
    }
    let finish: Extract<ChatEvent, { type: "finish" }> | null = null;
    for (const canonical of item.canonical) {
      meter.observe(canonical);
      if (canonical.type === "finish") finish = canonical;
      else if (canonical.type === "error") return out.add(failWith(canonical.kind, canonical.message, isRecord(item.data) ? encodeUpstreamEvent(item.event, item.data) : null));
    }
    const { event } = item;
    if (item.slot !== null && finish === null) {
      const text = forwardSlotted(item, item.slot);
      if (text !== null) {
        flushHeld(out);
        out.add(text);
        return;
      }
    }
    // Not parsed by the tap (read through a slot that cannot be forwarded as it is): parsed here.
    const data: unknown = item.slot === null ? item.data : JSON.parse(event.data);
    if (!finish && wire.isUsageEvent(event, data)) {
      // Held, and given the `tollgate` object at the end if no other follows: this one is re-serialised.
      if (isRecord(data)) wire.setModel(data, meta.model);
      flushHeld(out);
      held = { event, data };
      return;
    }
    const text = isRecord(data) ? rewrite.apply(event.data, data) : event.data;
    if (finish || wire.isTerminal(event, data)) return out.add(settleServed(finish?.usage ?? meter.partialUsage(), encodeUpstreamEvent(event, text)));
    flushHeld(out);
    out.add(encodeUpstreamEvent(event, text));
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const out = new SseChunk();
      while (!done) {
        // The first bytes go as soon as there are any (time to first byte); later pulls drain what is ready.
        let read = !out.empty && sent ? reader.ready() : null;
        if (!out.empty && read === null) break;
        try {
          read ??= await reader.next();
        } catch (error) {
          services.log.warn("upstream stream failed", { error: messageOf(error) });
          out.add(failWith("upstream_error", "The upstream connection failed mid-stream.", null));
          break;
        }
        if (read.kind === "idle") {
          controller.enqueue(SSE_KEEPALIVE);
          return;
        }
        if (read.kind === "done") {
          out.add(failWith("upstream_error", "The upstream ended the stream before it finished.", null));
          break;
        }
        for (const item of read.value) {
          handle(item, out);
          if (done) break;
        }
      }
      // What a pull produced goes out together, its text encoded once: Bun's response sink pays per chunk,
      // and the events of one upstream read enqueued one by one cost far more than their bytes
      // (bench/translation.ts); a run's bytes go as their own chunk (SseChunk).
      out.sendTo(controller);
      sent = true;
      if (done) controller.close();
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
