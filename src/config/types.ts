/** The compiled, frozen configuration every module receives through deps. Money is in microcents. */

import type { Price } from "../billing/pricing.ts";
import type { Capability, MaxTokensField, ProviderKind } from "./schema.ts";

export type Route = { type: "auto" } | { type: "cheapest" } | { type: "fastest" } | { type: "pool"; slug: string };

export interface ListenAddress {
  hostname: string;
  port: number;
}

export interface ProviderConfig {
  id: string;
  kind: ProviderKind;
  /** Without a trailing slash. Empty for mock providers. */
  baseUrl: string;
  apiKey: string;
  pool: string | null;
  byokSlot: string | null;
  maxTokensField: MaxTokensField;
  headers: Readonly<Record<string, string>>;
  mock: { ttftMs: number; tokensPerSecond: number };
}

export interface ChannelConfig {
  /** `provider/upstream-model`: stable key for health and measurements. */
  key: string;
  provider: ProviderConfig;
  upstreamModel: string;
  quality: number;
  price: Price;
}

export interface ModelProfile {
  id: string;
  displayName: string;
  aliases: readonly string[];
  contextWindow: number;
  maxOutputTokens: number;
  price: Price;
  capabilities: ReadonlySet<Capability>;
  channels: readonly ChannelConfig[];
}

export interface Tier {
  name: string;
  minLifetimeSpendMicrocents: number;
  requestsPerMinute: number;
  tokensPerMinute: number;
}

export interface Config {
  /** Where the config came from: a file path, or "demo" for the built-in demo config. */
  source: string;
  server: {
    listen: ListenAddress;
    /** Absolute path of the SQLite file. */
    database: string;
    maxBodyBytes: number;
    publicUrl: string;
  };
  security: {
    keyCacheTtlMs: number;
    /** 32 bytes, or null when BYOK is not configured. */
    masterKey: Uint8Array | null;
    adminToken: string | null;
  };
  billing: {
    perCallMinimumMicrocents: number;
    byokFeeMicrocents: number;
    creditValidityDays: number;
    refundWindowDays: number;
    minTopupMicrocents: number;
    stripeSecretKey: string | null;
    stripeWebhookSecret: string | null;
    stripeApiBase: string | null;
  };
  limits: { tiers: readonly Tier[] };
  routing: { default: Route; firstByteTimeoutMs: number; requestTimeoutMs: number };
  translate: { model: string | null };
  providers: readonly ProviderConfig[];
  models: readonly ModelProfile[];
}
