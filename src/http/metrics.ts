/**
 * GET /metrics (Prometheus text). The hot path only bumps plain counters; prom-client (the exposition
 * format, registry and process metrics) is imported on the first scrape, so a gateway nobody scrapes
 * never loads it. Calls refused before a workspace is known (401) or by the rate limiter (429) are
 * counted here only (SPEC §4).
 */

import type { ChannelHealth } from "../routing/health.ts";
import type { ModelProfile } from "../config/types.ts";

type Labels = Record<string, string>;

/** Monotonic counters by label set, cheap to bump. */
class CounterSet {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  inc(labels: Labels, by = 1): void {
    const key = Object.values(labels).join("\u0000");
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  entries(): Iterable<{ labels: Labels; value: number }> {
    return this.values.values();
  }
}

export class GatewayMetrics {
  /** HTTP answers by route group, status and error code ("" on success). */
  readonly responses = new CounterSet();
  private registry: Promise<{ metrics(): Promise<string>; contentType: string }> | null = null;

  constructor(
    private readonly health: ChannelHealth,
    private readonly models: readonly ModelProfile[],
  ) {}

  countResponse(group: string, status: number, code: string): void {
    this.responses.inc({ group, status: String(status), code });
  }

  /** The Prometheus exposition, building the registry on first use. */
  async render(): Promise<{ body: string; contentType: string }> {
    this.registry ??= this.buildRegistry();
    const registry = await this.registry;
    return { body: await registry.metrics(), contentType: registry.contentType };
  }

  private async buildRegistry() {
    const { Registry, Counter, Gauge, collectDefaultMetrics } = await import("prom-client");
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "tollgate_" });
    const responses = this.responses;
    new Counter({
      name: "tollgate_http_responses_total",
      help: "HTTP answers by route group, status and error code (empty on success).",
      labelNames: ["group", "status", "code"],
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, value } of responses.entries()) this.inc(labels, value);
      },
    });
    const channels = this.models.flatMap((model) => model.channels.map((channel) => ({ model: model.id, channel })));
    const health = this.health;
    const gauge = (name: string, help: string, read: (key: string) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ["model", "provider", "upstream_model"],
        registers: [registry],
        collect() {
          this.reset();
          for (const { model, channel } of channels) {
            const value = read(channel.key);
            if (value !== null) this.set({ model, provider: channel.provider.id, upstream_model: channel.upstreamModel }, value);
          }
        },
      });
    gauge("tollgate_channel_circuit_open", "1 while the channel's circuit breaker is open or half-open.", (key) => (health.snapshot(key).state === "closed" ? 0 : 1));
    gauge("tollgate_channel_ttft_ms", "Moving average of the channel's time to first token.", (key) => health.snapshot(key).ttftMs);
    gauge("tollgate_channel_tokens_per_second", "Moving average of the channel's output speed.", (key) => health.snapshot(key).tokensPerSecond);
    return registry;
  }
}
