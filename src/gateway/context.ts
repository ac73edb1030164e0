/** RequestContext: what one call knows about itself as it moves through the pipeline. */

import type { KeyKind } from "../keys/keys.ts";

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
  headers: Headers;
}
