/** RequestContext: what one call knows about itself as it moves through the pipeline. */

import type { KeyKind } from "../keys/keys.ts";
import type { RateLimitSnapshot } from "../limits/limiter.ts";

import type { Dialect } from "../canonical/dialect.ts";

export type { Dialect };

/** The authenticated caller: a key and its workspace's settings (from the key cache). */
export interface Principal {
  keyId: string;
  keyKind: KeyKind;
  keyRoute: string | null;
  keyUsageEvent: boolean | null;
  workspaceId: string;
  workspaceName: string;
  workspaceRoute: string | null;
  workspaceUsageEvent: boolean;
  dailyCapMicrocents: number | null;
  monthlyCapMicrocents: number | null;
}

export interface RequestContext {
  requestId: string;
  startedAtMs: number;
  /** performance.now() at arrival, for latency and time to first token. */
  startedAtPerf: number;
  dialect: Dialect;
  principal: Principal;
  /** The client's abort signal: fires when it disconnects. */
  signal: AbortSignal;
  options: CallOptions;
  /** The workspace's rate-limit state for the response headers: taken at admission, peeked before. */
  rateLimit: RateLimitSnapshot | null;
}

/** What the client asked of the gateway itself (X-Tollgate-* headers), read once by the HTTP layer. */
export interface CallOptions {
  /** X-Tollgate-Route as sent; null when absent (the key's, workspace's or config's route applies). */
  route: string | null;
  /** X-Tollgate-Usage-Event: 1 → true, 0 → false, absent → null (the key's or workspace's setting). */
  usageEvent: boolean | null;
  /** Client headers an upstream of the client's own dialect receives (anthropic-version, anthropic-beta). */
  forwardHeaders: Readonly<Record<string, string>>;
  /** X-Tollgate-Max-Price-Microcents: channels estimated above it are not used; null when absent. */
  maxPriceMicrocents: number | null;
  /** X-Tollgate-BYOK: 1 — call with the workspace's uploaded key, billed the flat BYOK fee. */
  byok: boolean;
  /** X-Tollgate-Fallback-Models, in order: tried on a transient failure of the primary. */
  fallbackModels: readonly string[];
}
