/** What the inference pipeline needs from the rest of the gateway (built in deps.ts). */

import type { SpendCounter } from "../billing/quota.ts";
import type { SettlementInput } from "../billing/ledger.ts";
import type { Hold, HoldOutcome } from "../billing/wallet.ts";
import type { Config } from "../config/types.ts";
import type { RateLimiter } from "../limits/limiter.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { ProviderAdapter } from "../providers/types.ts";
import type { Catalog } from "../routing/catalog.ts";
import type { ChannelHealth } from "../routing/health.ts";
import type { ChannelPlanner } from "../routing/plan.ts";

/**
 * Holds and settlement as the pipeline sees them (STYLE "HoldBook"): in one process the holds live in
 * memory (billing/wallet.ts); on a shared database they will be rows a peer can release.
 */
export interface WalletService {
  tryHold(workspaceId: string, amountMicrocents: number, minimumMicrocents: number): HoldOutcome;
  /**
   * Writes the call (record + charge) and ends the hold, and the extra holds a pricier candidate added;
   * resolves once the write is committed (it may be group-committed with other calls), rejects if it
   * could not be written.
   */
  settle(hold: Hold, input: SettlementInput, extraHolds?: readonly Hold[]): Promise<void>;
  release(hold: Hold): void;
  /** Writes a call that held nothing (refused before a hold); resolves once committed. */
  recordOnly(input: SettlementInput): Promise<void>;
  /** Resolves once every settlement queued so far is committed (or failed). */
  drained(): Promise<void>;
  heldMicrocents(workspaceId: string): number;
  invalidate(workspaceId: string): void;
}

/** The workspaces' own provider keys (X-Tollgate-BYOK), opened only for the call that uses them. */
export interface ByokKeys {
  /** The plaintext key for a slot; throws GatewayError byok_key_missing when there is none. */
  resolveKey(workspaceId: string, slot: string): Promise<string>;
}

export interface GatewayServices {
  config: Config;
  clock: Clock;
  log: Logger;
  catalog: Catalog;
  wallet: WalletService;
  byok: ByokKeys;
  /** Per-workspace requests/minute and tokens/minute. */
  limiter: RateLimiter;
  /** Daily and monthly spend against the workspaces' caps. */
  spend: SpendCounter;
  /** Provider id → adapter. */
  adapters: ReadonlyMap<string, ProviderAdapter>;
  /** Circuit breakers and measured speed per channel. */
  health: ChannelHealth;
  planner: ChannelPlanner;
  /** How long a stream may stay silent before a keepalive comment is sent. */
  keepaliveMs: number;
}
