/**
 * Three models at different prices on their own fake upstreams, for money edge cases: "cheap" ($1 in,
 * $2 out per Mtok) and "pricey" ($1/$20) on OpenAI-shaped upstreams, "claude" ($3/$15) on an
 * Anthropic-shaped one.
 */

import { startGateway, UNLIMITED_TIER, type TestGateway } from "./gateway.ts";
import { startFakeUpstream, type FakeUpstream } from "./upstream.ts";

export interface PricedModels {
  gateway: TestGateway;
  cheap: FakeUpstream;
  pricey: FakeUpstream;
  claude: FakeUpstream;
  close(): Promise<void>;
}

function modelToml(id: string, provider: string, upstreamModel: string, inputUsd: number, outputUsd: number): string {
  return `
[[models]]
id = "${id}"
context_window = 100000
max_output_tokens = 1000
input_usd_per_mtok = ${inputUsd}
output_usd_per_mtok = ${outputUsd}
  [[models.channels]]
  provider = "${provider}"
  model = "${upstreamModel}"
`;
}

export async function startPricedModels(options: { grantUsd?: number; listen?: boolean } = {}): Promise<PricedModels> {
  const cheap = await startFakeUpstream("openai");
  const pricey = await startFakeUpstream("openai");
  const claude = await startFakeUpstream("anthropic");
  const configToml = `${UNLIMITED_TIER}
[[providers]]
id = "up-cheap"
kind = "openai"
base_url = "${cheap.url}/v1"

[[providers]]
id = "up-pricey"
kind = "openai"
base_url = "${pricey.url}/v1"

[[providers]]
id = "up-claude"
kind = "anthropic"
base_url = "${claude.url}"
${modelToml("cheap", "up-cheap", "cheap-upstream", 1, 2)}${modelToml("pricey", "up-pricey", "pricey-upstream", 1, 20)}${modelToml("claude", "up-claude", "claude-upstream", 3, 15)}`;
  const gateway = await startGateway({ configToml, grantUsd: options.grantUsd ?? 10, listen: options.listen ?? false });
  return {
    gateway,
    cheap,
    pricey,
    claude,
    async close() {
      await gateway.close();
      for (const upstream of [cheap, pricey, claude]) await upstream.close();
    },
  };
}

/** An OpenAI chat completion with the given usage. */
export function openAIAnswer(model: string, usage: { prompt_tokens: number; completion_tokens: number }, text = "ok") {
  return {
    kind: "json" as const,
    body: {
      id: "chatcmpl-priced",
      object: "chat.completion",
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    },
  };
}
