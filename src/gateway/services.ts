/** What the inference pipeline needs from the rest of the gateway (built in deps.ts). */

import type { SpendCounter } from "../billing/quota.ts";
import type { Wallet } from "../billing/wallet.ts";
import type { Config } from "../config/types.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { ProviderAdapter } from "../providers/types.ts";
import type { Catalog } from "../routing/catalog.ts";

export interface GatewayServices {
  config: Config;
  clock: Clock;
  log: Logger;
  catalog: Catalog;
  wallet: Wallet;
  /** Daily and monthly spend against the workspaces' caps. */
  spend: SpendCounter;
  /** Provider id → adapter. */
  adapters: ReadonlyMap<string, ProviderAdapter>;
  /** How long a stream may stay silent before a keepalive comment is sent. */
  keepaliveMs: number;
}
