import { describe, expect, test } from "bun:test";
import type { ChannelConfig, ModelProfile, ProviderConfig } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import { ChannelHealth } from "./health.ts";
import { ChannelPlanner, routeWeight } from "./plan.ts";

const MTOK = 100_000_000n; // µ¢ per USD

function provider(id: string, pool: string | null = null): ProviderConfig {
  return { id, kind: "mock", baseUrl: "", apiKey: "", pool, byokSlot: null, maxTokensField: "max_tokens", headers: {}, mock: { ttftMs: 0, tokensPerSecond: 0 } };
}

function channel(id: string, usdIn: number, usdOut: number, quality = 1, pool: string | null = null): ChannelConfig {
  return {
    key: `${id}/m`,
    provider: provider(id, pool),
    upstreamModel: "m",
    quality,
    price: { inputPerMtok: BigInt(usdIn * 100) * (MTOK / 100n), outputPerMtok: BigInt(usdOut * 100) * (MTOK / 100n), cacheReadPerMtok: 0n, cacheWritePerMtok: 0n },
  };
}

function profile(channels: ChannelConfig[]): ModelProfile {
  return { id: "m", displayName: "m", aliases: [], contextWindow: 1000, maxOutputTokens: 100, price: channels[0]?.price ?? channel("x", 1, 1).price, capabilities: new Set(), channels };
}

const planner = () => {
  const health = new ChannelHealth(() => 0);
  return { health, planner: new ChannelPlanner(health) };
};

describe("auto: smooth weighted round robin", () => {
  // weights: a = 1/(1+1) = 0.5, b = 1/(0.5+0.5) = 1, c = 2/(1+3) = 0.5 → shares 25 %, 50 %, 25 %
  const model = profile([channel("a", 1, 1), channel("b", 0.5, 0.5), channel("c", 1, 3, 2)]);

  test("weights are quality ÷ (input + output USD per Mtok), a zero price counting as 0.01", () => {
    expect(routeWeight(channel("x", 1, 1))).toBeCloseTo(0.5, 9);
    expect(routeWeight(channel("free", 0, 0))).toBeCloseTo(100, 9);
  });

  test("over 1,000 calls the split matches the weights; any 100 consecutive are within 2 of their share", () => {
    const { planner: plan } = planner();
    const picks = Array.from({ length: 1000 }, () => plan.plan(model, { type: "auto" })[0]?.provider.id);
    const count = (id: string, from = 0, to = 1000) => picks.slice(from, to).filter((pick) => pick === id).length;
    expect([count("a"), count("b"), count("c")]).toEqual([250, 500, 250]);
    for (let start = 0; start <= 900; start++) {
      expect(Math.abs(count("a", start, start + 100) - 25)).toBeLessThanOrEqual(2);
      expect(Math.abs(count("b", start, start + 100) - 50)).toBeLessThanOrEqual(2);
    }
  });

  test("the chosen channel comes first, the others follow as fallbacks by weight", () => {
    const order = planner().planner.plan(model, { type: "auto" }).map((c) => c.provider.id);
    expect(new Set(order)).toEqual(new Set(["a", "b", "c"]));
    expect(order).toHaveLength(3);
  });

  test("open circuits are skipped; none healthy → 503 no_healthy_channel", () => {
    const { health, planner: plan } = planner();
    for (let index = 0; index < 3; index++) health.recordFailure("b/m");
    for (let index = 0; index < 50; index++) expect(plan.plan(model, { type: "auto" }).map((c) => c.provider.id)).not.toContain("b");
    for (const key of ["a/m", "c/m"]) for (let index = 0; index < 3; index++) health.recordFailure(key);
    const error = (() => {
      try {
        plan.plan(model, { type: "auto" });
        return null;
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).kind).toBe("no_healthy_channel");
    expect((error as GatewayError).status).toBe(503);
  });
});

describe("other routes", () => {
  const model = profile([channel("pricey", 3, 15, 1, "direct"), channel("cheap", 0.2, 0.4, 1, "economy"), channel("mid", 1, 2, 1, "economy")]);

  test("cheapest orders by input + output price", () => {
    expect(planner().planner.plan(model, { type: "cheapest" }).map((c) => c.provider.id)).toEqual(["cheap", "mid", "pricey"]);
  });

  test("fastest orders by measured time to first token, unmeasured channels first", () => {
    const { health, planner: plan } = planner();
    health.recordSuccess("pricey/m", { ttftMs: 50, outputTokens: 10, generationMs: 100 });
    health.recordSuccess("cheap/m", { ttftMs: 400, outputTokens: 10, generationMs: 100 });
    expect(plan.plan(model, { type: "fastest" }).map((c) => c.provider.id)).toEqual(["mid", "pricey", "cheap"]);
  });

  test("pool:<slug> keeps only that pool's channels; an empty pool is 503", () => {
    const { planner: plan } = planner();
    for (let index = 0; index < 20; index++) {
      for (const c of plan.plan(model, { type: "pool", slug: "economy" })) expect(c.provider.pool).toBe("economy");
    }
    expect(() => plan.plan(model, { type: "pool", slug: "nowhere" })).toThrow(GatewayError);
  });
});
