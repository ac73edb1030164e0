/** Pieces of the gateway configs the benches write: a tier that never refuses, OpenAI-kind providers, models. */

/** A rate-limit tier far above any bench load: the limiter runs on every call and never refuses one. */
export const UNLIMITED_TIER_TOML = `
# The rate limiter runs on every call; this tier never refuses one at bench loads.
[[limits.tiers]]
name = "bench"
min_lifetime_spend_usd = 0
requests_per_minute = 10_000_000
tokens_per_minute = 1_000_000_000_000
`;

export function providerToml(id: string, kind: "openai" | "anthropic", baseUrl: string): string {
  return `
[[providers]]
id = "${id}"
kind = "${kind}"
base_url = "${baseUrl}"
api_key = "${kind === "anthropic" ? "sk-ant-bench" : "sk-bench"}"
`;
}

/** A model served by one channel on `provider`, priced $1 in and `outputUsdPerMtok` out per million tokens. */
export function modelToml(model: { id: string; provider: string; upstreamModel: string; maxOutputTokens: number; outputUsdPerMtok: number }): string {
  return `
[[models]]
id = "${model.id}"
context_window = 200_000
max_output_tokens = ${model.maxOutputTokens}
input_usd_per_mtok = 1
output_usd_per_mtok = ${model.outputUsdPerMtok}
  [[models.channels]]
  provider = "${model.provider}"
  model = "${model.upstreamModel}"
`;
}
