/** Official SDK clients pointed at a test gateway (their fetch goes to the app or its port). */

import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { TestGateway } from "./gateway.ts";

export function openaiClient(gateway: TestGateway, apiKey = gateway.liveKey): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gateway.baseUrl}/v1`, fetch: gateway.fetch, maxRetries: 0 });
}

export function anthropicClient(gateway: TestGateway, apiKey = gateway.liveKey): Anthropic {
  return new Anthropic({ apiKey, baseURL: gateway.baseUrl, fetch: gateway.fetch, maxRetries: 0 });
}
