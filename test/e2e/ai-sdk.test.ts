/**
 * The Vercel AI SDK (`ai` with @ai-sdk/openai's chat model and @ai-sdk/anthropic) as the client:
 * generateText and streamText with a tool, over every upstream.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { MATRIX_MODELS, startMatrix, type MatrixSetup, type UpstreamName } from "../harness/matrix.ts";

let setup: MatrixSetup;
beforeAll(async () => {
  setup = await startMatrix({ grantUsd: 50 });
});
afterAll(async () => {
  await setup.close();
});

function languageModel(client: "openai" | "anthropic", modelId: string) {
  const { baseUrl, liveKey, fetch } = setup.gateway;
  if (client === "openai") return createOpenAI({ baseURL: `${baseUrl}/v1`, apiKey: liveKey, fetch }).chat(modelId);
  return createAnthropic({ baseURL: `${baseUrl}/v1`, apiKey: liveKey, fetch })(modelId);
}

const weather = tool({
  description: "Weather for a city",
  inputSchema: jsonSchema<{ city: string }>({ type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }),
  execute: async ({ city }) => `sunny in ${city}`,
});

const CASES: Array<["openai" | "anthropic", UpstreamName]> = [
  ["openai", "openai"],
  ["openai", "anthropic"],
  ["openai", "mock"],
  ["anthropic", "openai"],
  ["anthropic", "anthropic"],
  ["anthropic", "mock"],
];

describe.each(CASES)("AI SDK %s provider → %s upstream", (client, upstream) => {
  const model = () => languageModel(client, MATRIX_MODELS[upstream]);

  test("generateText", async () => {
    const result = await generateText({ model: model(), prompt: "hello from the ai sdk", maxOutputTokens: 200 });
    expect(result.text).toBe("hello from the ai sdk");
    expect(result.finishReason).toBe("stop");
    expect(result.usage.inputTokens ?? 0).toBeGreaterThan(0);
    expect(result.usage.outputTokens ?? 0).toBeGreaterThan(0);
  });

  test("generateText with a tool: call, execute, answer", async () => {
    const result = await generateText({ model: model(), prompt: "weather?", tools: { weather }, stopWhen: stepCountIs(3), maxOutputTokens: 200 });
    const call = result.steps[0]?.toolCalls[0];
    expect(call?.toolName).toBe("weather");
    expect(result.steps[0]?.toolResults[0]?.output).toMatch(/^sunny in /);
    expect(result.text).toContain("sunny in");
  });

  test("streamText with a tool", async () => {
    const result = streamText({ model: model(), prompt: "weather?", tools: { weather }, stopWhen: stepCountIs(3), maxOutputTokens: 200 });
    let text = "";
    for await (const delta of result.textStream) text += delta;
    const steps = await result.steps;
    expect(steps[0]?.toolCalls[0]?.toolName).toBe("weather");
    expect(steps[0]?.finishReason).toBe("tool-calls");
    expect(text).toContain("sunny in");
    expect(await result.finishReason).toBe("stop");
  });
});
