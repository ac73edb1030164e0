/**
 * The narrow interface every upstream adapter implements: a canonical request goes out, a canonical
 * event stream (or result) comes back, with the request fields the upstream could not carry. Failures
 * before the upstream accepted the call are thrown as GatewayError (retryable ones let the pipeline try
 * the next channel); failures after it arrive in-band as an `error` event. Optional capabilities
 * (passthrough, token counting, embeddings) are present only where the upstream has them.
 */

import type { Dialect } from "../canonical/dialect.ts";
import type { ChatEvent } from "../canonical/events.ts";
import type { ChatRequest } from "../canonical/request.ts";
import type { ChatResult } from "../canonical/result.ts";
import type { ChannelConfig, ProviderConfig } from "../config/types.ts";
import type { ProviderKind } from "../config/schema.ts";
import type { BatchReader } from "../sse/batch-reader.ts";
import type { UpstreamEventDecoder } from "./sse-events.ts";

export interface ProviderCallContext {
  channel: ChannelConfig;
  /** The key to send upstream: the provider's, or the workspace's BYOK key. */
  apiKey: string;
  /** The output allowance to request (already lowered to the profile's limit). */
  maxTokens: number;
  /** Aborted when the client goes away or the gateway gives up. */
  signal: AbortSignal;
  /** Deadline for the upstream's response headers, this try only; null: the call's signal bounds it (http.ts). */
  headersTimeoutMs: number | null;
  /** Client headers an upstream of the client's own dialect receives (anthropic-version, anthropic-beta). */
  forwardHeaders: Readonly<Record<string, string>>;
  /** Called when the upstream answers 2xx: from then on it has accepted the call (SPEC §8.3). */
  onAccepted?: () => void;
}

/** A translated call's value, and the request fields (SPEC §4 naming) the upstream could not carry. */
export interface Translated<T> {
  value: T;
  dropped: string[];
}

/** Same-dialect calls: the client's own body goes upstream, the upstream's own bytes come back. */
export interface PassthroughCapability {
  readonly dialect: Dialect;
  /** Sends the client's JSON (model and max tokens already rewritten); resolves with the 2xx response. */
  send(body: Record<string, unknown>, ctx: ProviderCallContext): Promise<Response>;
  decodeResponse(body: unknown): ChatResult;
  createEventDecoder(): UpstreamEventDecoder;
}

export interface EmbeddingsResult {
  body: Record<string, unknown>;
  inputTokens: number;
}

export interface ProviderAdapter {
  readonly kind: ProviderKind;
  /** The answer as batches of canonical events, one per read of the upstream body. */
  stream(request: ChatRequest, ctx: ProviderCallContext): Promise<Translated<BatchReader<ChatEvent[]>>>;
  complete(request: ChatRequest, ctx: ProviderCallContext): Promise<Translated<ChatResult>>;
  readonly passthrough?: PassthroughCapability;
  /** Exact input token count from the upstream itself. */
  countTokens?(request: ChatRequest, ctx: ProviderCallContext): Promise<number>;
  /** OpenAI-shaped embeddings: the client's body with the upstream model. */
  embeddings?(raw: Record<string, unknown>, ctx: ProviderCallContext): Promise<EmbeddingsResult>;
}

export type AdapterFactory = (provider: ProviderConfig) => ProviderAdapter;
