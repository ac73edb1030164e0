/** A gateway with three upstreams — a fake OpenAI, a fake Anthropic, the mock — one model on each. */

import { startGateway, UNLIMITED_TIER, type GatewayOptions, type TestGateway } from "./gateway.ts";
import { startFakeUpstream, type FakeUpstream } from "./upstream.ts";

export interface MatrixSetup {
  gateway: TestGateway;
  openaiUpstream: FakeUpstream;
  anthropicUpstream: FakeUpstream;
  close(): Promise<void>;
}

export const MATRIX_MODELS = { openai: "via-openai", anthropic: "via-anthropic", mock: "via-mock" } as const;
export type UpstreamName = keyof typeof MATRIX_MODELS;

export function matrixConfig(openaiUrl: string, anthropicUrl: string, extra = ""): string {
  const model = (id: string, provider: string, upstreamModel: string) => `
[[models]]
id = "${id}"
context_window = 200000
max_output_tokens = 4096
input_usd_per_mtok = 3
output_usd_per_mtok = 15
cache_read_usd_per_mtok = 0.3
cache_write_usd_per_mtok = 3.75
capabilities = ["tools", "vision", "thinking", "json", "embeddings"]
  [[models.channels]]
  provider = "${provider}"
  model = "${upstreamModel}"
`;
  return `${UNLIMITED_TIER}
[[providers]]
id = "fake-openai"
kind = "openai"
base_url = "${openaiUrl}/v1"
api_key = "sk-upstream-openai-secret"
byok = "openai"

[[providers]]
id = "fake-anthropic"
kind = "anthropic"
base_url = "${anthropicUrl}"
api_key = "sk-ant-upstream-secret"
byok = "anthropic"

[[providers]]
id = "mock"
kind = "mock"
${model(MATRIX_MODELS.openai, "fake-openai", "gpt-upstream")}
${model(MATRIX_MODELS.anthropic, "fake-anthropic", "claude-upstream")}
${model(MATRIX_MODELS.mock, "mock", "echo")}
${extra}`;
}

export async function startMatrix(options: Omit<GatewayOptions, "configToml"> & { extraToml?: string } = {}): Promise<MatrixSetup> {
  const openaiUpstream = await startFakeUpstream("openai");
  const anthropicUpstream = await startFakeUpstream("anthropic");
  const gateway = await startGateway({ ...options, configToml: matrixConfig(openaiUpstream.url, anthropicUpstream.url, options.extraToml) });
  return {
    gateway,
    openaiUpstream,
    anthropicUpstream,
    async close() {
      await gateway.close();
      await openaiUpstream.close();
      await anthropicUpstream.close();
    },
  };
}
