import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TSchema } from "@sinclair/typebox";
import { DEMO_CONFIG_TOML } from "./demo.ts";
import { parseConfig } from "./load.ts";
import {
  BillingSchema,
  ChannelSchema,
  ConfigSchema,
  LimitsSchema,
  ModelSchema,
  ProviderSchema,
  RoutingSchema,
  SecuritySchema,
  ServerSchema,
  TierSchema,
  TranslateSchema,
} from "./schema.ts";

const ROOT = resolve(import.meta.dir, "../..");
const EXAMPLE_PATH = join(ROOT, "config.example.toml");
const EXAMPLE_TOML = readFileSync(EXAMPLE_PATH, "utf8");
const demoCwd = mkdtempSync(join(tmpdir(), "tollgate-demo-"));

afterAll(() => rmSync(demoCwd, { recursive: true, force: true }));

const example = () => parseConfig(EXAMPLE_TOML, { source: EXAMPLE_PATH, baseDir: ROOT, env: {} });

describe("config.example.toml", () => {
  test("parses with an empty environment", () => {
    expect(example().source).toBe(EXAMPLE_PATH);
  });

  test("server and security", () => {
    const config = example();
    expect(config.server).toEqual({
      listen: { hostname: "127.0.0.1", port: 8787 },
      database: join(ROOT, "tollgate.db"),
      maxBodyBytes: 10_485_760,
      publicUrl: "http://127.0.0.1:8787",
    });
    expect(config.security).toEqual({ keyCacheTtlMs: 2000, masterKey: null, adminToken: null });
  });

  test("billing amounts in microcents", () => {
    expect(example().billing).toEqual({
      perCallMinimumMicrocents: 100_000,
      byokFeeMicrocents: 10_000,
      creditValidityDays: 365,
      refundWindowDays: 30,
      minTopupMicrocents: 2_500_000_000,
      stripeSecretKey: null,
      stripeWebhookSecret: null,
      stripeApiBase: null,
    });
  });

  test("tiers, routing, translate", () => {
    const config = example();
    expect(config.limits.tiers).toEqual([
      { name: "starter", minLifetimeSpendMicrocents: 0, requestsPerMinute: 60, tokensPerMinute: 200_000 },
      { name: "growth", minLifetimeSpendMicrocents: 10_000_000_000, requestsPerMinute: 600, tokensPerMinute: 2_000_000 },
    ]);
    expect(config.routing).toEqual({ default: { type: "auto" }, firstByteTimeoutMs: 60_000, requestTimeoutMs: 600_000 });
    expect(config.translate.model).toBe("claude-haiku-4-5");
  });

  test("providers, with the mock provider first", () => {
    const config = example();
    expect(config.providers.map((p) => [p.id, p.kind, p.pool, p.byokSlot])).toEqual([
      ["mock", "mock", "local", null],
      ["deepseek", "openai", "economy", "deepseek"],
      ["anthropic", "anthropic", "direct", "anthropic"],
      ["openai", "openai", "direct", "openai"],
    ]);
    expect(config.providers[0]).toEqual({
      id: "mock",
      kind: "mock",
      baseUrl: "",
      apiKey: "",
      pool: "local",
      byokSlot: null,
      maxTokensField: "max_tokens",
      headers: {},
      mock: { ttftMs: 0, tokensPerSecond: 0 },
    });
    expect(config.providers.map((p) => p.baseUrl)).toEqual([
      "",
      "https://api.deepseek.com/v1",
      "https://api.anthropic.com",
      "https://api.openai.com/v1",
    ]);
    expect(config.providers.map((p) => p.maxTokensField)).toEqual(["max_tokens", "max_tokens", "max_tokens", "max_completion_tokens"]);
    expect(config.providers.every((p) => p.apiKey === "")).toBe(true);
  });

  test("provider keys come from the environment", () => {
    const masterKey = Buffer.alloc(32, 3).toString("base64");
    const config = parseConfig(EXAMPLE_TOML, {
      source: EXAMPLE_PATH,
      baseDir: ROOT,
      env: { DEEPSEEK_API_KEY: "sk-ds", ANTHROPIC_API_KEY: "sk-ant", TOLLGATE_MASTER_KEY: masterKey, TOLLGATE_ADMIN_TOKEN: "adm" },
    });
    expect(config.providers.map((p) => p.apiKey)).toEqual(["", "sk-ds", "sk-ant", ""]);
    expect(config.security.masterKey).toEqual(new Uint8Array(Buffer.alloc(32, 3)));
    expect(config.security.adminToken).toBe("adm");
  });

  test("models, aliases, prices and capabilities", () => {
    const [sonnet, haiku, ...rest] = example().models;
    expect(rest).toEqual([]);
    expect(sonnet?.id).toBe("claude-sonnet-4-6");
    expect(sonnet?.displayName).toBe("Sonnet-class");
    expect(sonnet?.aliases).toEqual(["claude-sonnet-*", "gpt-4o*"]);
    expect([sonnet?.contextWindow, sonnet?.maxOutputTokens]).toEqual([164_000, 16_384]);
    expect(sonnet?.price).toEqual({
      inputPerMtok: 60_000_000n,
      outputPerMtok: 90_000_000n,
      cacheReadPerMtok: 6_000_000n,
      cacheWritePerMtok: 75_000_000n,
    });
    expect([...(sonnet?.capabilities ?? [])].sort()).toEqual(["json", "thinking", "tools", "vision"]);
    expect(haiku?.id).toBe("claude-haiku-4-5");
    expect(haiku?.displayName).toBe("claude-haiku-4-5");
    expect(haiku?.aliases).toEqual(["claude-haiku-*", "claude-3-5-haiku-*", "gpt-4o-mini*"]);
    expect(haiku?.price).toEqual({ inputPerMtok: 25_000_000n, outputPerMtok: 125_000_000n, cacheReadPerMtok: 0n, cacheWritePerMtok: 0n });
    expect([...(haiku?.capabilities ?? [])].sort()).toEqual(["json", "tools", "vision"]);
  });

  test("as shipped, every model is served by the mock provider only (works offline)", () => {
    const channels = example().models.flatMap((model) => model.channels.map((c) => [model.id, c.key, c.provider.kind, c.quality]));
    expect(channels).toEqual([
      ["claude-sonnet-4-6", "mock/echo", "mock", 1],
      ["claude-haiku-4-5", "mock/echo", "mock", 1],
    ]);
    // A channel without its own prices bills the model's.
    expect(example().models[1]?.channels[0]?.price).toEqual({
      inputPerMtok: 25_000_000n,
      outputPerMtok: 125_000_000n,
      cacheReadPerMtok: 0n,
      cacheWritePerMtok: 0n,
    });
  });
});

describe("the embedded demo config", () => {
  test("is config.example.toml itself", () => {
    expect(DEMO_CONFIG_TOML).toBe(EXAMPLE_TOML);
  });

  test("parses as the demo, with the database in the working directory", () => {
    const config = parseConfig(DEMO_CONFIG_TOML, { source: "demo", baseDir: demoCwd, env: {} });
    expect(config.source).toBe("demo");
    expect(config.server.database).toBe(join(demoCwd, "tollgate.db"));
    expect(config.models.map((model) => model.id)).toEqual(["claude-sonnet-4-6", "claude-haiku-4-5"]);
    expect(config.models.every((model) => model.channels.every((channel) => channel.provider.id === "mock"))).toBe(true);
  });
});

/**
 * Every key of a closed object schema, recursively; `table` marks keys written as a table header
 * ([server], [[models.channels]]; a parent like `limits` counts as documented by [[limits.tiers]]).
 */
function collectKeys(schema: TSchema, out: Map<string, "table" | "value">): void {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  for (const [key, child] of Object.entries(properties)) {
    const items = (child as { items?: TSchema }).items;
    const table = child.type === "object" && "properties" in child;
    const arrayOfTables = child.type === "array" && items?.type === "object" && items !== undefined && "properties" in items;
    if (out.get(key) !== "value") out.set(key, table || arrayOfTables ? "table" : "value");
    if (table) collectKeys(child, out);
    if (arrayOfTables && items) collectKeys(items, out);
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function documented(key: string, form: "table" | "value"): boolean {
  const pattern =
    form === "value"
      ? new RegExp(`^\\s*#?\\s*${escape(key)}\\s*=`, "m")
      : new RegExp(`^\\s*#?\\s*\\[\\[?([A-Za-z_]+\\.)*${escape(key)}(\\.[A-Za-z_]+)*\\]\\]?`, "m");
  return pattern.test(EXAMPLE_TOML);
}

describe("config.example.toml documents every key of the schema", () => {
  const keys = new Map<string, "table" | "value">();
  for (const schema of [
    ConfigSchema,
    ServerSchema,
    SecuritySchema,
    BillingSchema,
    LimitsSchema,
    TierSchema,
    RoutingSchema,
    TranslateSchema,
    ProviderSchema,
    ModelSchema,
    ChannelSchema,
  ])
    collectKeys(schema, keys);

  test("the schema walk reaches nested and optional keys", () => {
    for (const key of ["listen", "tiers", "tokens_per_minute", "headers", "tokens_per_second", "channels", "quality", "display_name"])
      expect(keys.has(key)).toBe(true);
    expect(keys.get("channels")).toBe("table");
    expect(keys.get("headers")).toBe("value");
    expect(keys.size).toBeGreaterThan(45);
  });

  test("the pattern finds commented keys and rejects undocumented ones", () => {
    expect(documented("provider", "value")).toBe(true); // also present as `# provider = "deepseek"`
    expect(documented("no_such_key", "value")).toBe(false);
    expect(documented("channels", "table")).toBe(true);
  });

  test.each([...keys.entries()])("%s", (key, form) => {
    expect(documented(key, form) ? key : `${key} is not in config.example.toml`).toBe(key);
  });
});
