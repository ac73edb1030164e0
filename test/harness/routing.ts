/**
 * A gateway with one model ("primary") on two OpenAI-shaped channels — `a` (cheaper, pool economy) and
 * `b` (pool direct) — and a fallback model ("backup") on an Anthropic-shaped upstream: the fixture for
 * routing, health and fallback tests.
 */

import type { Clock } from "../../src/lib/clock.ts";
import { startGateway, UNLIMITED_TIER, type TestGateway } from "./gateway.ts";
import { startFakeUpstream, type FakeUpstream } from "./upstream.ts";

export interface RoutingSetup {
  gateway: TestGateway;
  a: FakeUpstream;
  b: FakeUpstream;
  backup: FakeUpstream;
  close(): Promise<void>;
}

export interface RoutingOptions {
  firstByteTimeoutMs?: number;
  requestTimeoutMs?: number;
  defaultRoute?: string;
  clock?: Clock;
  listen?: boolean;
}

export async function startRouting(options: RoutingOptions = {}): Promise<RoutingSetup> {
  const a = await startFakeUpstream("openai");
  const b = await startFakeUpstream("openai");
  const backup = await startFakeUpstream("anthropic");
  const toml = `${UNLIMITED_TIER}
[routing]
default = "${options.defaultRoute ?? "cheapest"}"
first_byte_timeout_ms = ${options.firstByteTimeoutMs ?? 5000}
request_timeout_ms = ${options.requestTimeoutMs ?? 10000}

[[providers]]
id = "up-a"
kind = "openai"
base_url = "${a.url}/v1"
pool = "economy"

[[providers]]
id = "up-b"
kind = "openai"
base_url = "${b.url}/v1"
pool = "direct"

[[providers]]
id = "up-backup"
kind = "anthropic"
base_url = "${backup.url}"

[[models]]
id = "primary"
context_window = 100000
max_output_tokens = 1000
input_usd_per_mtok = 1
output_usd_per_mtok = 2
capabilities = ["tools"]
  [[models.channels]]
  provider = "up-a"
  model = "model-a"
  [[models.channels]]
  provider = "up-b"
  model = "model-b"
  input_usd_per_mtok = 2
  output_usd_per_mtok = 4

[[models]]
id = "backup"
context_window = 100000
max_output_tokens = 1000
input_usd_per_mtok = 1
output_usd_per_mtok = 2
capabilities = ["tools"]
  [[models.channels]]
  provider = "up-backup"
  model = "claude-backup"
`;
  const gateway = await startGateway({ configToml: toml, grantUsd: 100, ...(options.clock ? { clock: options.clock } : {}), ...(options.listen ? { listen: true } : {}) });
  return {
    gateway,
    a,
    b,
    backup,
    async close() {
      await gateway.close();
      for (const upstream of [a, b, backup]) await upstream.close();
    },
  };
}
