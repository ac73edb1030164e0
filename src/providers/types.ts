/**
 * The narrow interface every upstream adapter implements: a request in canonical form goes out, a
 * canonical event stream (or result) comes back. Failures before the upstream accepted the call are
 * thrown as GatewayError (retryable ones let the pipeline try the next channel); failures after it
 * arrive in-band as an `error` event.
 */

import type { ChatEvent } from "../canonical/events.ts";
import type { ChatRequest } from "../canonical/request.ts";
import type { ChatResult } from "../canonical/result.ts";
import type { ChannelConfig, ProviderConfig } from "../config/types.ts";
import type { ProviderKind } from "../config/schema.ts";

export interface ProviderCallContext {
  channel: ChannelConfig;
  /** The key to send upstream: the provider's, or the workspace's BYOK key. */
  apiKey: string;
  /** The output allowance to request (already lowered to the profile's limit). */
  maxTokens: number;
  /** Aborted when the client goes away or a timeout fires. */
  signal: AbortSignal;
}

export interface ProviderAdapter {
  readonly kind: ProviderKind;
  /** Resolves once the upstream accepted the call; the stream then carries its events. */
  stream(request: ChatRequest, ctx: ProviderCallContext): Promise<ReadableStream<ChatEvent>>;
  complete(request: ChatRequest, ctx: ProviderCallContext): Promise<ChatResult>;
}

export type AdapterFactory = (provider: ProviderConfig) => ProviderAdapter;
