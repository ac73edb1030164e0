/**
 * TypeBox schema of the TOML config (SPEC §2). Every object is closed: an unknown key is an error,
 * because a typo in a gateway config must never be silently ignored. Defaults live here.
 */

import { Type, type Static, type TLiteral, type TUnion } from "@sinclair/typebox";

const closed = { additionalProperties: false } as const;
const NonNegInt = (defaultValue: number) => Type.Integer({ minimum: 0, default: defaultValue });
const PosInt = (defaultValue?: number) =>
  defaultValue === undefined ? Type.Integer({ minimum: 1 }) : Type.Integer({ minimum: 1, default: defaultValue });
const Usd = (defaultValue?: number) =>
  defaultValue === undefined ? Type.Number({ minimum: 0 }) : Type.Number({ minimum: 0, default: defaultValue });

export const PROVIDER_KINDS = ["openai", "anthropic", "mock"] as const;
export const CAPABILITIES = ["tools", "vision", "thinking", "documents", "json", "embeddings"] as const;
export const MAX_TOKENS_FIELDS = ["max_tokens", "max_completion_tokens"] as const;

const literals = <T extends readonly string[]>(values: T) =>
  Type.Union(values.map((value) => Type.Literal(value))) as unknown as TUnion<Array<TLiteral<T[number]>>>;

export const ServerSchema = Type.Object(
  {
    listen: Type.String({ default: "127.0.0.1:8787" }),
    database: Type.String({ minLength: 1, default: "./tollgate.db" }),
    max_body_bytes: PosInt(10_485_760),
    public_url: Type.String({ default: "" }),
  },
  closed,
);

export const SecuritySchema = Type.Object(
  {
    key_cache_ttl_ms: NonNegInt(2000),
    master_key: Type.String({ default: "" }),
    admin_token: Type.String({ default: "" }),
  },
  closed,
);

export const BillingSchema = Type.Object(
  {
    per_call_minimum_usd: Usd(0.001),
    byok_fee_usd: Usd(0.0001),
    credit_validity_days: PosInt(365),
    refund_window_days: NonNegInt(30),
    min_topup_usd: Usd(25),
    stripe_secret_key: Type.String({ default: "" }),
    stripe_webhook_secret: Type.String({ default: "" }),
    stripe_api_base: Type.String({ default: "" }),
  },
  closed,
);

export const TierSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    min_lifetime_spend_usd: Usd(0),
    requests_per_minute: PosInt(),
    tokens_per_minute: PosInt(),
  },
  closed,
);

export const LimitsSchema = Type.Object(
  {
    tiers: Type.Array(TierSchema, {
      default: [{ name: "starter", min_lifetime_spend_usd: 0, requests_per_minute: 60, tokens_per_minute: 200_000 }],
    }),
  },
  closed,
);

export const RoutingSchema = Type.Object(
  {
    default: Type.String({ default: "auto" }),
    first_byte_timeout_ms: PosInt(60_000),
    request_timeout_ms: PosInt(600_000),
  },
  closed,
);

export const TranslateSchema = Type.Object({ model: Type.String({ default: "" }) }, closed);

export const ProviderSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    kind: literals(PROVIDER_KINDS),
    base_url: Type.Optional(Type.String()),
    api_key: Type.Optional(Type.String()),
    pool: Type.Optional(Type.String({ minLength: 1 })),
    byok: Type.Optional(Type.String({ minLength: 1 })),
    max_tokens_field: Type.Optional(literals(MAX_TOKENS_FIELDS)),
    /** Extra headers sent upstream (e.g. an organisation id). */
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    // mock only
    ttft_ms: Type.Optional(Type.Integer({ minimum: 0 })),
    tokens_per_second: Type.Optional(Type.Number({ minimum: 0 })),
  },
  closed,
);

const channelPrices = {
  input_usd_per_mtok: Type.Optional(Usd()),
  output_usd_per_mtok: Type.Optional(Usd()),
  cache_read_usd_per_mtok: Type.Optional(Usd()),
  cache_write_usd_per_mtok: Type.Optional(Usd()),
};

export const ChannelSchema = Type.Object(
  {
    provider: Type.String({ minLength: 1 }),
    model: Type.String({ minLength: 1 }),
    quality: Type.Number({ minimum: 0, default: 1 }),
    ...channelPrices,
  },
  closed,
);

export const ModelSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    aliases: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    display_name: Type.Optional(Type.String()),
    context_window: PosInt(),
    max_output_tokens: PosInt(),
    input_usd_per_mtok: Usd(),
    output_usd_per_mtok: Usd(),
    cache_read_usd_per_mtok: Usd(0),
    cache_write_usd_per_mtok: Usd(0),
    capabilities: Type.Array(literals(CAPABILITIES), { default: [] }),
    channels: Type.Array(ChannelSchema, { minItems: 1 }),
  },
  closed,
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Object({ ...ServerSchema.properties }, { ...closed, default: {} }),
    security: Type.Object({ ...SecuritySchema.properties }, { ...closed, default: {} }),
    billing: Type.Object({ ...BillingSchema.properties }, { ...closed, default: {} }),
    limits: Type.Object({ ...LimitsSchema.properties }, { ...closed, default: {} }),
    routing: Type.Object({ ...RoutingSchema.properties }, { ...closed, default: {} }),
    translate: Type.Object({ ...TranslateSchema.properties }, { ...closed, default: {} }),
    providers: Type.Array(ProviderSchema, { minItems: 1 }),
    models: Type.Array(ModelSchema, { minItems: 1 }),
  },
  closed,
);

export type RawConfig = Static<typeof ConfigSchema>;
export type RawProvider = Static<typeof ProviderSchema>;
export type RawModel = Static<typeof ModelSchema>;
export type RawChannel = Static<typeof ChannelSchema>;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];
export type Capability = (typeof CAPABILITIES)[number];
export type MaxTokensField = (typeof MAX_TOKENS_FIELDS)[number];
