/**
 * Semantic checks and derivations over a schema-valid config: unique ids, channel → provider refs,
 * pools, routes, tiers, the master key; USD → microcents; relative paths → absolute. All errors are
 * collected, each naming its TOML path.
 */

import { isAbsolute, resolve } from "node:path";
import type { Price } from "../billing/pricing.ts";
import { toSafeMicrocents, usdToMicrocents } from "../billing/money.ts";
import { parseRoute } from "./route.ts";
import { PROVIDER_KINDS, type RawConfig, type RawModel } from "./schema.ts";
import type { ChannelConfig, Config, ListenAddress, ModelProfile, ProviderConfig, Tier } from "./types.ts";

export class ConfigError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(`invalid config:\n${errors.map((error) => `  ${error}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

interface CompileContext {
  errors: string[];
}

/** USD → µ¢ as bigint (prices per Mtok can be fractional microcents per token, so stay bigint). */
function usd(ctx: CompileContext, path: string, value: number): bigint {
  const microcents = usdToMicrocents(value);
  if (microcents === null) {
    ctx.errors.push(`${path}: ${value} has more precision than one microcent ($0.00000001)`);
    return 0n;
  }
  if (microcents < 0n) ctx.errors.push(`${path}: must not be negative`);
  return microcents;
}

function usdAmount(ctx: CompileContext, path: string, value: number): number {
  const amount = usd(ctx, path, value);
  try {
    return toSafeMicrocents(amount);
  } catch {
    ctx.errors.push(`${path}: ${value} is too large`);
    return 0;
  }
}

export function parseListen(text: string): ListenAddress | null {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!match?.[1] || !match[2]) return null;
  const port = Number(match[2]);
  if (port > 65_535) return null;
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

function decodeMasterKey(ctx: CompileContext, text: string): Uint8Array | null {
  if (text === "") return null;
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== 32 || bytes.toString("base64").replace(/=+$/, "") !== text.replace(/=+$/, "")) {
    ctx.errors.push("security.master_key: must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)");
    return null;
  }
  return new Uint8Array(bytes);
}

function compileProviders(ctx: CompileContext, raw: RawConfig): ProviderConfig[] {
  const seen = new Set<string>();
  return raw.providers.map((provider, index) => {
    const path = `providers[${index}]`;
    if (seen.has(provider.id)) ctx.errors.push(`${path}.id: duplicate provider id "${provider.id}"`);
    seen.add(provider.id);
    // The semantic pass also runs over schema-invalid trees (load.ts): for a kind that is not one of
    // PROVIDER_KINDS the schema error says all there is to say, so skip the kind-dependent checks.
    const knownKind = (PROVIDER_KINDS as readonly string[]).includes(provider.kind);
    const isMock = provider.kind === "mock";
    if (knownKind && !isMock) {
      if (!provider.base_url) ctx.errors.push(`${path}.base_url: required for kind "${provider.kind}"`);
      else if (!/^https?:\/\/[^/\s]+/.test(provider.base_url))
        ctx.errors.push(`${path}.base_url: must be an http(s) URL, got "${provider.base_url}"`);
      for (const key of ["ttft_ms", "tokens_per_second"] as const) {
        if (provider[key] !== undefined) ctx.errors.push(`${path}.${key}: only valid for kind "mock"`);
      }
    }
    if (knownKind && provider.max_tokens_field !== undefined && provider.kind !== "openai")
      ctx.errors.push(`${path}.max_tokens_field: only valid for kind "openai"`);
    if (provider.pool !== undefined && parseRoute(`pool:${provider.pool}`) === null)
      ctx.errors.push(`${path}.pool: "${provider.pool}" is not a valid slug (lowercase letters, digits, - and _)`);
    return {
      id: provider.id,
      kind: provider.kind,
      baseUrl: (provider.base_url ?? "").replace(/\/+$/, ""),
      apiKey: provider.api_key ?? "",
      pool: provider.pool ?? null,
      byokSlot: provider.byok ?? null,
      maxTokensField: provider.max_tokens_field ?? "max_tokens",
      headers: Object.freeze({ ...(provider.headers ?? {}) }),
      mock: { ttftMs: provider.ttft_ms ?? 0, tokensPerSecond: provider.tokens_per_second ?? 0 },
    };
  });
}

function compilePrice(ctx: CompileContext, path: string, source: Partial<Record<PriceKey, number>>, base?: Price): Price {
  const pick = (key: PriceKey, field: keyof Price): bigint => {
    const value = source[key];
    if (value === undefined) return base?.[field] ?? 0n;
    return usd(ctx, `${path}.${key}`, value);
  };
  return {
    inputPerMtok: pick("input_usd_per_mtok", "inputPerMtok"),
    outputPerMtok: pick("output_usd_per_mtok", "outputPerMtok"),
    cacheReadPerMtok: pick("cache_read_usd_per_mtok", "cacheReadPerMtok"),
    cacheWritePerMtok: pick("cache_write_usd_per_mtok", "cacheWritePerMtok"),
  };
}
type PriceKey = "input_usd_per_mtok" | "output_usd_per_mtok" | "cache_read_usd_per_mtok" | "cache_write_usd_per_mtok";

function compileModel(ctx: CompileContext, model: RawModel, index: number, providers: Map<string, ProviderConfig>): ModelProfile {
  const path = `models[${index}]`;
  if (model.max_output_tokens > model.context_window)
    ctx.errors.push(`${path}.max_output_tokens: ${model.max_output_tokens} exceeds context_window ${model.context_window}`);
  const price = compilePrice(ctx, path, model);
  const channels: ChannelConfig[] = [];
  model.channels.forEach((channel, channelIndex) => {
    const channelPath = `${path}.channels[${channelIndex}]`;
    const provider = providers.get(channel.provider);
    if (!provider) {
      ctx.errors.push(`${channelPath}.provider: no provider with id "${channel.provider}"`);
      return;
    }
    channels.push({
      key: `${provider.id}/${channel.model}`,
      provider,
      upstreamModel: channel.model,
      quality: channel.quality,
      price: compilePrice(ctx, channelPath, channel, price),
    });
  });
  const keys = new Set<string>();
  for (const [channelIndex, channel] of channels.entries()) {
    if (keys.has(channel.key))
      ctx.errors.push(`${path}.channels[${channelIndex}]: duplicate channel ${channel.key}`);
    keys.add(channel.key);
  }
  return {
    id: model.id,
    displayName: model.display_name ?? model.id,
    aliases: Object.freeze([...model.aliases]),
    contextWindow: model.context_window,
    maxOutputTokens: model.max_output_tokens,
    price,
    capabilities: new Set(model.capabilities),
    channels: Object.freeze(channels),
  };
}

function compileModels(ctx: CompileContext, raw: RawConfig, providers: ProviderConfig[]): ModelProfile[] {
  const byId = new Map(providers.map((provider) => [provider.id, provider]));
  const ids = new Set<string>();
  const aliasOwner = new Map<string, string>();
  return raw.models.map((model, index) => {
    if (ids.has(model.id)) ctx.errors.push(`models[${index}].id: duplicate model id "${model.id}"`);
    ids.add(model.id);
    model.aliases.forEach((alias, aliasIndex) => {
      const owner = aliasOwner.get(alias);
      if (owner !== undefined)
        ctx.errors.push(`models[${index}].aliases[${aliasIndex}]: "${alias}" is already an alias of "${owner}"`);
      aliasOwner.set(alias, model.id);
    });
    return compileModel(ctx, model, index, byId);
  });
}

function compileTiers(ctx: CompileContext, raw: RawConfig): Tier[] {
  if (raw.limits.tiers.length === 0) ctx.errors.push("limits.tiers: at least one tier is required");
  const names = new Set<string>();
  const tiers = raw.limits.tiers.map((tier, index) => {
    if (names.has(tier.name)) ctx.errors.push(`limits.tiers[${index}].name: duplicate tier "${tier.name}"`);
    names.add(tier.name);
    return {
      name: tier.name,
      minLifetimeSpendMicrocents: usdAmount(ctx, `limits.tiers[${index}].min_lifetime_spend_usd`, tier.min_lifetime_spend_usd),
      requestsPerMinute: tier.requests_per_minute,
      tokensPerMinute: tier.tokens_per_minute,
    };
  });
  if (tiers.length > 0 && !tiers.some((tier) => tier.minLifetimeSpendMicrocents === 0))
    ctx.errors.push("limits.tiers: one tier must have min_lifetime_spend_usd = 0 (the tier of a new workspace)");
  return tiers.sort((a, b) => a.minLifetimeSpendMicrocents - b.minLifetimeSpendMicrocents);
}

export function compileConfig(raw: RawConfig, options: { source: string; baseDir: string }): Config {
  const ctx: CompileContext = { errors: [] };
  const listen = parseListen(raw.server.listen);
  if (!listen) ctx.errors.push(`server.listen: expected HOST:PORT, got "${raw.server.listen}"`);
  const providers = compileProviders(ctx, raw);
  const models = compileModels(ctx, raw, providers);
  const pools = new Set(providers.flatMap((provider) => (provider.pool ? [provider.pool] : [])));
  const route = parseRoute(raw.routing.default);
  if (!route) ctx.errors.push(`routing.default: expected auto|cheapest|fastest|pool:<slug>, got "${raw.routing.default}"`);
  else if (route.type === "pool" && !pools.has(route.slug))
    ctx.errors.push(`routing.default: no provider is in pool "${route.slug}"`);
  const translateModel = raw.translate.model === "" ? null : raw.translate.model;
  if (translateModel !== null && !models.some((model) => model.id === translateModel))
    ctx.errors.push(`translate.model: no model with id "${translateModel}"`);
  const masterKey = decodeMasterKey(ctx, raw.security.master_key);
  const stripeApiBase = raw.billing.stripe_api_base;
  if (stripeApiBase !== "" && !/^https?:\/\/[^/\s]+/.test(stripeApiBase))
    ctx.errors.push(`billing.stripe_api_base: must be an http(s) URL, got "${stripeApiBase}"`);
  const billing = {
    perCallMinimumMicrocents: usdAmount(ctx, "billing.per_call_minimum_usd", raw.billing.per_call_minimum_usd),
    byokFeeMicrocents: usdAmount(ctx, "billing.byok_fee_usd", raw.billing.byok_fee_usd),
    creditValidityDays: raw.billing.credit_validity_days,
    refundWindowDays: raw.billing.refund_window_days,
    minTopupMicrocents: usdAmount(ctx, "billing.min_topup_usd", raw.billing.min_topup_usd),
    stripeSecretKey: raw.billing.stripe_secret_key || null,
    stripeWebhookSecret: raw.billing.stripe_webhook_secret || null,
    stripeApiBase: stripeApiBase || null,
  };
  const tiers = compileTiers(ctx, raw);
  if (ctx.errors.length > 0) throw new ConfigError(ctx.errors);
  const database = raw.server.database;
  const config: Config = {
    source: options.source,
    server: {
      listen: listen ?? { hostname: "127.0.0.1", port: 8787 },
      database: database === ":memory:" || isAbsolute(database) ? database : resolve(options.baseDir, database),
      maxBodyBytes: raw.server.max_body_bytes,
      publicUrl: raw.server.public_url || `http://${raw.server.listen}`,
    },
    security: {
      keyCacheTtlMs: raw.security.key_cache_ttl_ms,
      masterKey,
      adminToken: raw.security.admin_token || null,
    },
    billing,
    limits: { tiers },
    routing: {
      default: route ?? { type: "auto" },
      firstByteTimeoutMs: raw.routing.first_byte_timeout_ms,
      requestTimeoutMs: raw.routing.request_timeout_ms,
    },
    translate: { model: translateModel },
    providers,
    models,
  };
  return deepFreeze(config);
}

/** Recurses into already-frozen objects too: `channels` is frozen early, and its entries must be as well. */
function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (value && typeof value === "object" && !seen.has(value) && !(value instanceof Uint8Array) && !(value instanceof Set)) {
    seen.add(value);
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child, seen);
  }
  return value;
}
