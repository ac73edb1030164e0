/**
 * What a client dialect hands the pipeline: its decoded call, its encoders, and its passthrough wire
 * rules. The gateway never imports a dialect; the dialect's routes pass these in.
 */

import type { Dialect } from "../canonical/dialect.ts";
import type { ChatRequest } from "../canonical/request.ts";
import type { ChatResult } from "../canonical/result.ts";
import type { SseEvent } from "../sse/decode.ts";
import type { EncodeMeta, StreamEncoder, TollgateSummary } from "./summary.ts";

export interface DecodedCall {
  request: ChatRequest;
  /** The client's JSON as received: what a same-dialect upstream gets (model and limits rewritten). */
  raw: Record<string, unknown>;
  /** Fields present that the canonical form cannot carry: dropped, and named, when translating. */
  uncarried: string[];
}

export interface PassthroughPrepareOptions {
  upstreamModel: string;
  /** The profile's max_output_tokens: a larger request is lowered, in the client's own field. */
  maxTokensLimit: number;
  /** Where a default goes when the client gave none (the provider's `max_tokens_field`). */
  defaultMaxTokensField: string;
  stream: boolean;
}

/** Same-dialect wire rules: the body goes through as it is, apart from what these touch. */
export interface PassthroughWire {
  prepareRequest(raw: Record<string, unknown>, options: PassthroughPrepareOptions): { body: Record<string, unknown>; dropped: string[] };
  /** Rewrites the model id inside a response body or stream event, wherever the dialect puts it. */
  setModel(data: Record<string, unknown>, model: string): void;
  /** A usage-bearing stream event: held until the next one or the end; the last is given the `tollgate` object. */
  isUsageEvent(event: SseEvent, data: unknown): boolean;
  /** Whether usage-bearing events reach the client with their usage (OpenAI: only when it asked for usage). */
  forwardUsageEvent(meta: EncodeMeta): boolean;
  /**
   * A usage-bearing event for a client that did not ask for usage: removes the usage from `data` and
   * says whether anything else in it must still reach the client (a finish reason, content).
   */
  stripUsage(data: Record<string, unknown>): boolean;
  /** The dialect's last stream event (`[DONE]`, `message_stop`). */
  isTerminal(event: SseEvent, data: unknown): boolean;
}

export interface DialectCodec {
  dialect: Dialect;
  encodeResponse(result: ChatResult, meta: EncodeMeta): string;
  createStreamEncoder(meta: EncodeMeta): StreamEncoder;
  passthrough: PassthroughWire;
}

export function attachSummary(data: Record<string, unknown>, summary: TollgateSummary): void {
  data.tollgate = summary;
}
