import { describe, expect, test } from "bun:test";
import { ConfigError } from "./compile.ts";
import { parseConfig } from "./load.ts";
import type { Config } from "./types.ts";

const SOURCE = "/etc/tollgate/tollgate.toml";
const BASE_DIR = "/etc/tollgate";

const MOCK_PROVIDER = `
[[providers]]
id = "mock"
kind = "mock"
`;

const model = (id: string, extra = "", channel = 'provider = "mock"\nmodel = "echo"') => `
[[models]]
id = "${id}"
context_window = 1000
max_output_tokens = 100
input_usd_per_mtok = 0.60
output_usd_per_mtok = 0.90
${extra}
  [[models.channels]]
  ${channel}
`;

/** A valid config: one mock provider and one model. Rows add to or replace parts of it. */
const VALID = MOCK_PROVIDER + model("m");

type Env = Record<string, string | undefined>;

function parse(text: string, env: Env = {}): Config {
  return parseConfig(text, { source: SOURCE, baseDir: BASE_DIR, env });
}

function errorsOf(text: string, env: Env = {}): readonly string[] {
  try {
    parse(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.errors;
    throw error;
  }
  throw new Error("expected a ConfigError, but the config was accepted");
}

interface BadConfig {
  name: string;
  toml: string;
  env?: Env;
  errors: string[];
}

const MASTER_KEY_ERROR = "security.master_key: must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)";
const tier = (name: string, minUsd: number) =>
  `[[limits.tiers]]\nname = "${name}"\nmin_lifetime_spend_usd = ${minUsd}\nrequests_per_minute = 1\ntokens_per_minute = 1\n`;

const BAD_CONFIGS: BadConfig[] = [
  { name: "unknown top-level key", toml: `bogus = 1\n${VALID}`, errors: ["bogus: unknown key"] },
  { name: "unknown key in [server]", toml: `[server]\nlisen = "127.0.0.1:1"\n${VALID}`, errors: ["server.lisen: unknown key"] },
  {
    name: "unknown key in a [[providers]] entry",
    toml: VALID.replace('kind = "mock"', 'kind = "mock"\nbse_url = "http://x"'),
    errors: ["providers[0].bse_url: unknown key"],
  },
  {
    name: "unknown key in a [[models.channels]] entry",
    toml: MOCK_PROVIDER + model("a") + model("b", "", 'provider = "mock"\n  model = "echo"\n  qualty = 2'),
    errors: ["models[1].channels[0].qualty: unknown key"],
  },
  {
    name: "wrong provider kind (and nothing derived from the bad kind)",
    toml: MOCK_PROVIDER.replace('kind = "mock"', 'kind = "gemini"') + model("m"),
    errors: ['providers[0].kind: expected one of openai|anthropic|mock, got "gemini"'],
  },
  {
    name: "several errors at once, schema and semantic",
    toml: `bogus = 1\n[server]\nlisten = "nowhere"\n[security]\nmaster_key = "abc"\n${MOCK_PROVIDER.replace('kind = "mock"', 'kind = "gpt"')}${model("m", "", 'provider = "ghost"\nmodel = "x"')}`,
    errors: [
      "bogus: unknown key",
      'providers[0].kind: expected one of openai|anthropic|mock, got "gpt"',
      'server.listen: expected HOST:PORT, got "nowhere"',
      'models[0].channels[0].provider: no provider with id "ghost"',
      MASTER_KEY_ERROR,
    ],
  },
  {
    name: "missing ${VAR} without a default, named with its path",
    toml: VALID.replace('kind = "mock"', 'kind = "mock"\napi_key = "${MOCK_KEY}"'),
    errors: ["providers[0].api_key: environment variable MOCK_KEY is not set (write ${MOCK_KEY:-default} to allow that)"],
  },
  {
    name: "missing ${VAR} in a required string: the emptied value is not reported again",
    toml: MOCK_PROVIDER + model("m", "", 'provider = "mock"\nmodel = "${UPSTREAM}"'),
    errors: ["models[0].channels[0].model: environment variable UPSTREAM is not set (write ${UPSTREAM:-default} to allow that)"],
  },
  {
    name: "a missing required key is reported once",
    toml: VALID.replace("context_window = 1000\n", ""),
    errors: ["models[0].context_window: required"],
  },
  { name: "no [[models]] at all", toml: MOCK_PROVIDER, errors: ["models: required"] },
  {
    name: "duplicate provider ids",
    toml: MOCK_PROVIDER + MOCK_PROVIDER + model("m"),
    errors: ['providers[1].id: duplicate provider id "mock"'],
  },
  { name: "duplicate model ids", toml: VALID + model("m"), errors: ['models[1].id: duplicate model id "m"'] },
  {
    name: "duplicate alias across models",
    toml: MOCK_PROVIDER + model("a", 'aliases = ["gpt-4o*"]') + model("b", 'aliases = ["b-*", "gpt-4o*"]'),
    errors: ['models[1].aliases[1]: "gpt-4o*" is already an alias of "a"'],
  },
  {
    name: "channel referencing a missing provider",
    toml: MOCK_PROVIDER + model("m", "", 'provider = "deepseek"\nmodel = "deepseek-chat"'),
    errors: ['models[0].channels[0].provider: no provider with id "deepseek"'],
  },
  {
    name: "translate.model not a model id",
    toml: `[translate]\nmodel = "claude-haiku-4-5"\n${VALID}`,
    errors: ['translate.model: no model with id "claude-haiku-4-5"'],
  },
  {
    name: "negative model price",
    toml: VALID.replace("input_usd_per_mtok = 0.60", "input_usd_per_mtok = -0.5"),
    errors: ["models[0].input_usd_per_mtok: expected number to be greater or equal to 0"],
  },
  {
    name: "negative channel price",
    toml: MOCK_PROVIDER + model("m", "", 'provider = "mock"\nmodel = "echo"\noutput_usd_per_mtok = -1'),
    errors: ["models[0].channels[0].output_usd_per_mtok: expected number to be greater or equal to 0"],
  },
  {
    name: "price with sub-microcent precision",
    toml: VALID.replace("output_usd_per_mtok = 0.90", "output_usd_per_mtok = 0.123456789"),
    errors: ["models[0].output_usd_per_mtok: 0.123456789 has more precision than one microcent ($0.00000001)"],
  },
  {
    name: "billing amount with sub-microcent precision",
    toml: `[billing]\nbyok_fee_usd = 0.000000001\n${VALID}`,
    errors: ["billing.byok_fee_usd: 1e-9 has more precision than one microcent ($0.00000001)"],
  },
  {
    name: "max_output_tokens above context_window",
    toml: VALID.replace("max_output_tokens = 100", "max_output_tokens = 1001"),
    errors: ["models[0].max_output_tokens: 1001 exceeds context_window 1000"],
  },
  {
    name: "routing.default not a route",
    toml: `[routing]\ndefault = "best"\n${VALID}`,
    errors: ['routing.default: expected auto|cheapest|fastest|pool:<slug>, got "best"'],
  },
  {
    name: "routing.default naming an unknown pool",
    toml: `[routing]\ndefault = "pool:economy"\n${VALID.replace('kind = "mock"', 'kind = "mock"\npool = "local"')}`,
    errors: ['routing.default: no provider is in pool "economy"'],
  },
  {
    name: "provider pool not a slug",
    toml: VALID.replace('kind = "mock"', 'kind = "mock"\npool = "Local Pool"'),
    errors: ['providers[0].pool: "Local Pool" is not a valid slug (lowercase letters, digits, - and _)'],
  },
  { name: "listen without a port", toml: `[server]\nlisten = "8787"\n${VALID}`, errors: ['server.listen: expected HOST:PORT, got "8787"'] },
  {
    name: "listen with a port above 65535",
    toml: `[server]\nlisten = "127.0.0.1:65536"\n${VALID}`,
    errors: ['server.listen: expected HOST:PORT, got "127.0.0.1:65536"'],
  },
  {
    name: "master_key of 16 bytes",
    toml: `[security]\nmaster_key = "${Buffer.alloc(16, 7).toString("base64")}"\n${VALID}`,
    errors: [MASTER_KEY_ERROR],
  },
  { name: "master_key not base64", toml: `[security]\nmaster_key = "not base64 at all!"\n${VALID}`, errors: [MASTER_KEY_ERROR] },
  {
    name: "master_key from the environment, wrong length",
    toml: `[security]\nmaster_key = "\${TOLLGATE_MASTER_KEY:-}"\n${VALID}`,
    env: { TOLLGATE_MASTER_KEY: Buffer.alloc(31, 1).toString("base64") },
    errors: [MASTER_KEY_ERROR],
  },
  {
    name: "openai provider without base_url",
    toml: `[[providers]]\nid = "oa"\nkind = "openai"\n${model("m", "", 'provider = "oa"\nmodel = "gpt-4o"')}`,
    errors: ['providers[0].base_url: required for kind "openai"'],
  },
  {
    name: "base_url that is not an http(s) URL",
    toml: `[[providers]]\nid = "oa"\nkind = "openai"\nbase_url = "api.openai.com/v1"\n${model("m", "", 'provider = "oa"\nmodel = "gpt-4o"')}`,
    errors: ['providers[0].base_url: must be an http(s) URL, got "api.openai.com/v1"'],
  },
  {
    name: "ttft_ms on a non-mock provider",
    toml: `[[providers]]\nid = "an"\nkind = "anthropic"\nbase_url = "https://api.anthropic.com"\nttft_ms = 5\n${model("m", "", 'provider = "an"\nmodel = "claude"')}`,
    errors: ['providers[0].ttft_ms: only valid for kind "mock"'],
  },
  {
    name: "max_tokens_field on an anthropic provider",
    toml: `[[providers]]\nid = "an"\nkind = "anthropic"\nbase_url = "https://api.anthropic.com"\nmax_tokens_field = "max_completion_tokens"\n${model("m", "", 'provider = "an"\nmodel = "claude"')}`,
    errors: ['providers[0].max_tokens_field: only valid for kind "openai"'],
  },
  {
    name: "no tier with min spend 0",
    toml: tier("growth", 100) + tier("scale", 1000) + VALID,
    errors: ["limits.tiers: one tier must have min_lifetime_spend_usd = 0 (the tier of a new workspace)"],
  },
  { name: "duplicate tier names", toml: tier("starter", 0) + tier("starter", 10) + VALID, errors: ['limits.tiers[1].name: duplicate tier "starter"'] },
  { name: "empty tier list", toml: `[limits]\ntiers = []\n${VALID}`, errors: ["limits.tiers: at least one tier is required"] },
  {
    name: "model without channels",
    toml: `${MOCK_PROVIDER}[[models]]\nid = "m"\ncontext_window = 1\nmax_output_tokens = 1\ninput_usd_per_mtok = 0\noutput_usd_per_mtok = 0\nchannels = []\n`,
    errors: ["models[0].channels: expected array length to be greater or equal to 1"],
  },
  {
    name: "unknown capability",
    toml: VALID.replace("output_usd_per_mtok = 0.90", 'output_usd_per_mtok = 0.90\ncapabilities = ["tools", "telepathy"]'),
    errors: ['models[0].capabilities[1]: expected one of tools|vision|thinking|documents|json|embeddings, got "telepathy"'],
  },
];

describe("parseConfig rejects bad configs with one line per problem", () => {
  test.each(BAD_CONFIGS.map((row) => [row.name, row] as const))("%s", (_name, row) => {
    expect(errorsOf(row.toml, row.env ?? {})).toEqual(row.errors);
  });

  test("the sample config the rows start from is itself valid", () => {
    expect(parse(VALID).models.map((profile) => profile.id)).toEqual(["m"]);
  });

  test("the error message lists every error, indented, after a header", () => {
    const text = `bogus = 1\n[server]\nlisten = "x"\n${VALID}`;
    expect(() => parse(text)).toThrow('invalid config:\n  bogus: unknown key\n  server.listen: expected HOST:PORT, got "x"');
  });

  test("invalid TOML names source:line:column", () => {
    const text = '[server]\nlisten = "127.0.0.1:8787"\nmax_body_bytes = = 3\n';
    const errors = errorsOf(text);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toStartWith(`${SOURCE}:3:18: invalid TOML: `);
    expect(errors[0]).not.toContain("\n");
  });
});

describe("environment interpolation", () => {
  const withApiKey = (value: string) => VALID.replace('kind = "mock"', `kind = "mock"\napi_key = "${value}"`);

  test("${VAR} is substituted", () => {
    expect(parse(withApiKey("sk-${MOCK_KEY}"), { MOCK_KEY: "abc" }).providers[0]?.apiKey).toBe("sk-abc");
  });

  test.each([
    ["unset", {}, "fallback"],
    ["empty", { MOCK_KEY: "" }, "fallback"],
    ["set", { MOCK_KEY: "real" }, "real"],
  ] as const)("${VAR:-default} when the variable is %s", (_state, env, expected) => {
    expect(parse(withApiKey("${MOCK_KEY:-fallback}"), env).providers[0]?.apiKey).toBe(expected);
  });

  test("${VAR:-} gives an empty string, which leaves optional features off", () => {
    const config = parse(`[security]\nadmin_token = "\${TOLLGATE_ADMIN_TOKEN:-}"\nmaster_key = "\${TOLLGATE_MASTER_KEY:-}"\n${VALID}`);
    expect(config.security.adminToken).toBeNull();
    expect(config.security.masterKey).toBeNull();
  });

  test("a valid 32-byte master key from the environment is decoded", () => {
    const key = Buffer.alloc(32, 9);
    const config = parse(`[security]\nmaster_key = "\${K}"\n${VALID}`, { K: key.toString("base64") });
    expect(config.security.masterKey).toEqual(new Uint8Array(key));
  });
});

describe("compiled values", () => {
  const PRICED = `${MOCK_PROVIDER}
[[models]]
id = "sonnet"
context_window = 164_000
max_output_tokens = 16_384
input_usd_per_mtok = 0.60
output_usd_per_mtok = 0.90
cache_read_usd_per_mtok = 0.06
cache_write_usd_per_mtok = 0.75
  [[models.channels]]
  provider = "mock"
  model = "cheap"
  input_usd_per_mtok = 0.30
  cache_write_usd_per_mtok = 0
  [[models.channels]]
  provider = "mock"
  model = "plain"
`;

  test("USD prices become exact microcents as bigint", () => {
    const profile = parse(PRICED).models[0];
    expect(profile?.price).toEqual({
      inputPerMtok: 60_000_000n,
      outputPerMtok: 90_000_000n,
      cacheReadPerMtok: 6_000_000n,
      cacheWritePerMtok: 75_000_000n,
    });
  });

  test("cache prices default to 0", () => {
    expect(parse(VALID).models[0]?.price.cacheReadPerMtok).toBe(0n);
    expect(parse(VALID).models[0]?.price.cacheWritePerMtok).toBe(0n);
  });

  test("a channel price overrides the model's field by field; absent fields fall back", () => {
    const channels = parse(PRICED).models[0]?.channels ?? [];
    expect(channels.map((channel) => channel.key)).toEqual(["mock/cheap", "mock/plain"]);
    expect(channels[0]?.price).toEqual({
      inputPerMtok: 30_000_000n,
      outputPerMtok: 90_000_000n,
      cacheReadPerMtok: 6_000_000n,
      cacheWritePerMtok: 0n,
    });
    expect(channels[1]?.price).toEqual({
      inputPerMtok: 60_000_000n,
      outputPerMtok: 90_000_000n,
      cacheReadPerMtok: 6_000_000n,
      cacheWritePerMtok: 75_000_000n,
    });
  });

  test("billing amounts become microcents; tiers are sorted by min spend", () => {
    const config = parse(`[billing]\nper_call_minimum_usd = 0.001\nmin_topup_usd = 10\n${tier("growth", 100)}${tier("starter", 0)}${VALID}`);
    expect(config.billing.perCallMinimumMicrocents).toBe(100_000);
    expect(config.billing.byokFeeMicrocents).toBe(10_000); // default 0.0001 USD
    expect(config.billing.minTopupMicrocents).toBe(1_000_000_000);
    expect(config.limits.tiers.map((t) => [t.name, t.minLifetimeSpendMicrocents])).toEqual([
      ["starter", 0],
      ["growth", 10_000_000_000],
    ]);
  });

  test("defaults fill the sections left out", () => {
    const config = parse(VALID);
    expect(config.source).toBe(SOURCE);
    expect(config.server.listen).toEqual({ hostname: "127.0.0.1", port: 8787 });
    expect(config.server.publicUrl).toBe("http://127.0.0.1:8787");
    expect(config.server.maxBodyBytes).toBe(10_485_760);
    expect(config.routing).toEqual({ default: { type: "auto" }, firstByteTimeoutMs: 60_000, requestTimeoutMs: 600_000 });
    expect(config.limits.tiers).toEqual([{ name: "starter", minLifetimeSpendMicrocents: 0, requestsPerMinute: 60, tokensPerMinute: 200_000 }]);
    expect(config.translate.model).toBeNull();
    expect(config.providers[0]?.maxTokensField).toBe("max_tokens");
  });

  test("IPv6 listen addresses lose their brackets; base_url loses trailing slashes", () => {
    const text = `[server]\nlisten = "[::1]:9000"\n[[providers]]\nid = "oa"\nkind = "openai"\nbase_url = "https://api.openai.com/v1//"\n${model("m", "", 'provider = "oa"\nmodel = "gpt"')}`;
    const config = parse(text);
    expect(config.server.listen).toEqual({ hostname: "::1", port: 9000 });
    expect(config.providers[0]?.baseUrl).toBe("https://api.openai.com/v1");
  });

  test.each([
    ["./data/tollgate.db", "/etc/tollgate/data/tollgate.db"],
    ["tollgate.db", "/etc/tollgate/tollgate.db"],
    ["../var/t.db", "/etc/var/t.db"],
    ["/var/lib/tollgate.db", "/var/lib/tollgate.db"],
    [":memory:", ":memory:"],
  ])("server.database %p resolves to %p", (database, expected) => {
    expect(parse(`[server]\ndatabase = "${database}"\n${VALID}`).server.database).toBe(expected);
  });

  test("the compiled config is deeply frozen", () => {
    const config = parse(PRICED.replace('kind = "mock"', 'kind = "mock"\nheaders = { "x-org" = "o" }'));
    const profile = config.models[0];
    const channel = profile?.channels[0];
    const parts = [config, config.server, config.billing, config.limits.tiers, config.providers, config.providers[0]?.headers];
    for (const value of [...parts, config.providers[0]?.mock, config.models, profile, profile?.aliases, profile?.price, channel, channel?.price]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(() => {
      (config.server as { maxBodyBytes: number }).maxBodyBytes = 1;
    }).toThrow(TypeError);
    expect(config.server.maxBodyBytes).toBe(10_485_760);
  });
});
