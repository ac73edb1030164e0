/**
 * Channel planning: a route (auto | cheapest | fastest | pool:<slug>) and the health of a model's
 * channels → the order to try them in (SPEC §5).
 *
 * - auto: smooth weighted round robin over the healthy channels, weight = quality ÷ (input + output
 *   USD per Mtok; a zero price counts as 0.01), then the rest by weight as fallbacks.
 * - cheapest: by input + output price. fastest: by measured time to first token (unmeasured first,
 *   so every channel gets measured). pool:<slug>: only channels whose provider is in the pool.
 * Open circuits are skipped; none left → 503 no_healthy_channel.
 */

import type { Route } from "../config/types.ts";
import type { ChannelConfig, ModelProfile } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import type { ChannelHealth } from "./health.ts";

/** A zero price counts as 0.01 USD/Mtok = 1,000,000 µ¢/Mtok in route weights (SPEC §4 conventions). */
const ZERO_PRICE_FLOOR = 1_000_000n;

export function routeWeight(channel: ChannelConfig): number {
  const price = channel.price.inputPerMtok + channel.price.outputPerMtok;
  const effective = price > 0n ? price : ZERO_PRICE_FLOOR;
  // µ¢/Mtok → USD/Mtok: the ratio only needs to be proportional, but USD keeps weights readable.
  return channel.quality / (Number(effective) / 100_000_000);
}

const totalPrice = (channel: ChannelConfig) => channel.price.inputPerMtok + channel.price.outputPerMtok;

export class ChannelPlanner {
  /** Smooth weighted round robin state: per model and healthy set, each channel's current weight. */
  private readonly rotations = new Map<string, Map<string, number>>();

  constructor(private readonly health: ChannelHealth) {}

  plan(profile: ModelProfile, route: Route): ChannelConfig[] {
    const inRoute = route.type === "pool" ? profile.channels.filter((channel) => channel.provider.pool === route.slug) : profile.channels;
    const healthy = inRoute.filter((channel) => this.health.isAvailable(channel.key));
    if (healthy.length === 0) {
      const why = route.type === "pool" && inRoute.length === 0 ? `none of its channels is in pool '${route.slug}'` : "every channel's circuit is open";
      throw new GatewayError("no_healthy_channel", `No healthy channel can serve '${profile.id}' right now: ${why}.`, { retryAfterMs: this.health.cooldownMs });
    }
    switch (route.type) {
      case "cheapest":
        return [...healthy].sort((a, b) => (totalPrice(a) < totalPrice(b) ? -1 : totalPrice(a) > totalPrice(b) ? 1 : 0));
      case "fastest":
        return [...healthy].sort((a, b) => (this.health.snapshot(a.key).ttftMs ?? -1) - (this.health.snapshot(b.key).ttftMs ?? -1));
      case "auto":
      case "pool":
        return this.rotate(profile.id, healthy);
    }
  }

  /** Smooth weighted round robin: every channel gets its share, deterministically and evenly spread. */
  private rotate(modelId: string, channels: ChannelConfig[]): ChannelConfig[] {
    if (channels.length === 1) return channels;
    const stateKey = `${modelId}|${channels.map((channel) => channel.key).join(",")}`;
    let current = this.rotations.get(stateKey);
    if (!current) {
      current = new Map(channels.map((channel) => [channel.key, 0]));
      this.rotations.set(stateKey, current);
    }
    let total = 0;
    let chosen = channels[0] as ChannelConfig;
    let best = Number.NEGATIVE_INFINITY;
    for (const channel of channels) {
      const weight = routeWeight(channel);
      total += weight;
      const value = (current.get(channel.key) ?? 0) + weight;
      current.set(channel.key, value);
      if (value > best) {
        best = value;
        chosen = channel;
      }
    }
    current.set(chosen.key, best - total);
    const rest = channels.filter((channel) => channel !== chosen).sort((a, b) => routeWeight(b) - routeWeight(a));
    return [chosen, ...rest];
  }
}
