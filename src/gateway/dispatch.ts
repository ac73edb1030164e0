/**
 * Dispatch: one call on one channel. Same dialect (the upstream speaks the client's dialect) → the
 * client's own body goes through (passthrough); otherwise canonical → the upstream's dialect and back.
 * Resolves once the upstream accepted the call (2xx) with the outcome to send; failures before that
 * throw, for the pipeline to try the next channel.
 */

import type { Dialect } from "../canonical/dialect.ts";
import type { ChatResult } from "../canonical/result.ts";
import { countRequestTokens } from "../canonical/token-count.ts";
import { estimateTextTokens } from "../canonical/token-estimate.ts";
import type { ChannelConfig, ModelProfile } from "../config/types.ts";
import type { ChatEvent } from "../canonical/events.ts";
import { GatewayError, type ErrorKind } from "../errors.ts";
import { readUpstreamJsonText } from "../providers/http.ts";
import type { BatchReader } from "../sse/batch-reader.ts";
import { peekBatches } from "../sse/peek.ts";
import type { PassthroughCapability, ProviderAdapter, ProviderCallContext } from "../providers/types.ts";
import type { DecodedCall, DialectCodec } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { ModelRewrite } from "./model-rewrite.ts";
import { passthroughStream, tappedEventReader, type TappedEvent } from "./passthrough-relay.ts";
import { relayStream } from "./relay.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement } from "./settle.ts";
import { billableUsage } from "./stream-meter.ts";
import type { EncodeMeta, TollgateSummary } from "./summary.ts";

/** What the HTTP layer turns into a response (headers from the figures, per SPEC §6). */
export interface InferenceOutcome {
  body: string | ReadableStream<Uint8Array>;
  stream: boolean;
  requestId: string;
  billedModel: string;
  /** Request fields the upstream could not carry (x-tollgate-dropped-fields). */
  dropped: string[];
  /** The final figures of a finished call; null for a stream, whose figures travel in-band. */
  summary: TollgateSummary | null;
  /** The gateway's input estimate, the one figure a stream's headers can carry. */
  inputEstimate: number;
}

export interface DispatchInput {
  services: GatewayServices;
  ctx: RequestContext;
  call: DecodedCall;
  codec: DialectCodec;
  profile: ModelProfile;
  channel: ChannelConfig;
  adapter: ProviderAdapter;
  callContext: ProviderCallContext;
  settlement: CallSettlement;
  meta: EncodeMeta;
  abort: AbortController;
  /** The gateway's fast input estimate (hold, partial billing). */
  inputEstimate: number;
  /** Streams: how long the upstream may take to its first event (the peek) before the next candidate. */
  firstByteTimeoutMs: number;
}

function outcome(input: DispatchInput, body: string | ReadableStream<Uint8Array>, dropped: string[], summary: TollgateSummary | null): InferenceOutcome {
  return {
    body,
    stream: summary === null,
    requestId: input.ctx.requestId,
    billedModel: input.profile.id,
    dropped: [...new Set(dropped)],
    summary,
    inputEstimate: input.inputEstimate,
  };
}

function outputTokensOf(result: ChatResult): number {
  let tokens = 0;
  for (const block of result.blocks) {
    if (block.type === "text" || block.type === "thinking") tokens += estimateTextTokens(block.text);
    else if (block.type === "tool-use") tokens += estimateTextTokens(JSON.stringify(block.input));
  }
  return tokens;
}

/** Settles a non-stream call and returns its figures (the commit follows: settle.ts). */
function settleResult(input: DispatchInput, result: ChatResult): TollgateSummary {
  // The gateway's own output count stands in only where the upstream reported none; counting a long
  // answer's text on every call cost ~8 % of a non-stream call's CPU (bench/compare.ts profile).
  const usage = billableUsage(result.usage, input.inputEstimate, result.usage.output > 0 ? 0 : outputTokensOf(result));
  return input.settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage, billable: true, ttftMs: null });
}

/** A stream's failure before its first content: transient, so the next candidate may serve the call. */
function failedBeforeFirstByte(kind: string, message: string): GatewayError {
  const known: ErrorKind = kind === "upstream_rate_limited" || kind === "upstream_timeout" ? kind : "upstream_error";
  return new GatewayError(known, message, { retryable: true });
}

function firstByteTimeout(input: DispatchInput): GatewayError {
  return new GatewayError("upstream_timeout", `The provider '${input.channel.provider.id}' sent nothing within ${input.firstByteTimeoutMs} ms.`, { retryable: true });
}

/**
 * Holds a translated stream until its first content (or finish, or error) event, so nothing reaches the
 * client from a stream that fails first (SPEC §5: fallback only before the first byte).
 */
async function peekFirstEvent(events: BatchReader<ChatEvent[]>, input: DispatchInput, startedAt: number): Promise<BatchReader<ChatEvent[]>> {
  const remaining = input.firstByteTimeoutMs - (performance.now() - startedAt);
  const peek = await peekBatches(
    events,
    remaining,
    (batches) => batches.some((batch) => batch.some((item) => item.type !== "start")),
    (batch) => batch.length > 0,
    (batch) => {
      for (const item of batch) if (item.type === "start") input.settlement.noteAcceptedInput(item.usage);
    },
  );
  if (peek.kind === "timeout") throw firstByteTimeout(input);
  if (peek.kind === "ended") throw failedBeforeFirstByte("upstream_error", `The provider '${input.channel.provider.id}' ended the stream before sending anything.`);
  for (const batch of peek.peeked) {
    const error = batch.find((item) => item.type === "error");
    if (error?.type === "error") {
      peek.reader.cancel().catch(() => {});
      throw failedBeforeFirstByte(error.kind, `The provider '${input.channel.provider.id}' failed before its first token: ${error.message}`);
    }
  }
  return peek.reader;
}

/** The same for a passthrough stream: its events, tapped as they are read, are held until the first content. */
async function peekFirstTapped(events: BatchReader<TappedEvent[]>, input: DispatchInput, startedAt: number): Promise<BatchReader<TappedEvent[]>> {
  const remaining = input.firstByteTimeoutMs - (performance.now() - startedAt);
  const content = (batch: TappedEvent[]) => batch.some((item) => item.canonical.some((event) => event.type !== "start"));
  const peek = await peekBatches(events, remaining, (batches) => batches.some(content), (batch) => batch.length > 0, (batch) => {
    for (const item of batch) for (const event of item.canonical) if (event.type === "start") input.settlement.noteAcceptedInput(event.usage);
  });
  if (peek.kind === "timeout") throw firstByteTimeout(input);
  if (peek.kind === "ended") throw failedBeforeFirstByte("upstream_error", `The provider '${input.channel.provider.id}' ended the stream before sending anything.`);
  for (const batch of peek.peeked) {
    for (const item of batch) {
      const error = item.canonical.find((event) => event.type === "error");
      if (error?.type === "error") {
        peek.reader.cancel().catch(() => {});
        throw failedBeforeFirstByte(error.kind, `The provider '${input.channel.provider.id}' failed before its first token: ${error.message}`);
      }
    }
  }
  return peek.reader;
}

/** Whether this channel's upstream speaks the client's dialect (same-dialect passthrough). */
export function passthroughFor(adapter: ProviderAdapter, dialect: Dialect): PassthroughCapability | null {
  return adapter.passthrough?.dialect === dialect ? adapter.passthrough : null;
}

export async function dispatchTranslated(input: DispatchInput): Promise<InferenceOutcome> {
  const { services, ctx, call, codec, adapter, callContext, settlement, meta } = input;
  const request = call.request;
  // The mock speaks no dialect: nothing is dropped on the way to it.
  const translatedDrops = adapter.kind === "mock" ? [] : call.uncarried;
  if (request.stream) {
    const startedAt = performance.now();
    // The adapter calls fetch before its first await: the request is on its way when this returns.
    const streaming = adapter.stream(request, callContext);
    // Anthropic clients read the input count from message_start; upstreams that give none up front
    // (OpenAI streams) get the tokenizer's count there. Counted while the upstream works on its first
    // event, so a long conversation's count (milliseconds: bench/token-count.ts) is not added to the
    // time to first byte.
    const counting = codec.dialect === "anthropic" && adapter.kind !== "mock" ? countRequestTokens(request) : null;
    counting?.catch(() => {}); // awaited below; a failed upstream leaves it unread
    const { value: upstreamEvents, dropped } = await streaming;
    const events = await peekFirstEvent(upstreamEvents, input, startedAt);
    settlement.serve(input.profile, input.channel);
    const inputTokens = counting === null ? input.inputEstimate : await counting;
    const body = relayStream(services, events, codec.createStreamEncoder(meta), settlement, {
      startedAtPerf: ctx.startedAtPerf,
      abort: input.abort,
      inputTokens,
    });
    return outcome(input, body, [...translatedDrops, ...dropped], null);
  }
  const { value: result, dropped } = await adapter.complete(request, callContext);
  settlement.serve(input.profile, input.channel);
  const summary = settleResult(input, result);
  return outcome(input, codec.encodeResponse(result, meta), [...translatedDrops, ...dropped], summary);
}

export async function dispatchPassthrough(input: DispatchInput, passthrough: PassthroughCapability): Promise<InferenceOutcome> {
  const { services, ctx, call, codec, channel, profile, callContext, settlement, meta } = input;
  const { body: wireBody, dropped } = codec.passthrough.prepareRequest(call.raw, {
    upstreamModel: channel.upstreamModel,
    maxTokensLimit: profile.maxOutputTokens,
    defaultMaxTokensField: channel.provider.maxTokensField,
    stream: call.request.stream,
  });
  const startedAt = performance.now();
  const response = await passthrough.send(wireBody, callContext);
  if (call.request.stream) {
    const tapped = tappedEventReader(response.body ?? new ReadableStream(), passthrough.createEventDecoder());
    const events = await peekFirstTapped(tapped, input, startedAt);
    settlement.serve(profile, channel);
    const body = passthroughStream(
      services,
      { events, wire: codec.passthrough, encoder: codec.createStreamEncoder(meta), meta },
      settlement,
      { startedAtPerf: ctx.startedAtPerf, abort: input.abort, inputTokens: input.inputEstimate },
    );
    return outcome(input, body, dropped, null);
  }
  // Served once its whole answer is read and decoded: a body cut short, or a 200 that carries an error,
  // is a failure of this attempt (the input it accepted is billed if no other channel serves: attempts.ts).
  const { text, json } = await readUpstreamJsonText(channel.provider.id, response);
  const result = passthrough.decodeResponse(json);
  settlement.serve(profile, channel);
  const summary = settleResult(input, result);
  // The upstream's own text goes back with only its model id changed (SPEC §4: passthrough), which
  // also spares re-serialising the whole answer on the event loop.
  const body =
    json !== null && typeof json === "object" && !Array.isArray(json) ? new ModelRewrite(codec.passthrough, meta.model).apply(text, json as Record<string, unknown>) : text;
  return outcome(input, body, dropped, summary);
}
