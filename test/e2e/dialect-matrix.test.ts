/**
 * Every pair {OpenAI client, Anthropic client} × {OpenAI upstream, Anthropic upstream, mock}, stream and
 * not, through the official SDKs: text, tool calls, usage, the client's model id, billing.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { verifyLedger } from "../../src/billing/ledger.ts";
import { rows } from "../harness/gateway.ts";
import { MATRIX_MODELS, startMatrix, type MatrixSetup, type UpstreamName } from "../harness/matrix.ts";
import { anthropicClient, openaiClient } from "../harness/sdk.ts";

let setup: MatrixSetup;
beforeAll(async () => {
  setup = await startMatrix({ grantUsd: 100 });
});
afterAll(async () => {
  expect(verifyLedger(setup.gateway.deps.database.db).problems).toEqual([]);
  await setup.close();
});

const UPSTREAMS: UpstreamName[] = ["openai", "anthropic", "mock"];
const WEATHER_TOOL_SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
/** The fake upstreams call tools with {city:"Paris"}; the mock fills required strings with "mock". */
const expectedCity = (upstream: UpstreamName) => (upstream === "mock" ? "mock" : "Paris");

async function chargeFor(requestId: string): Promise<number> {
  const [entry] = (await rows<{ amount_microcents: number }>(setup.gateway, "SELECT amount_microcents FROM ledger_entries WHERE request_id = ?", requestId));
  return entry ? -entry.amount_microcents : 0;
}

describe.each(UPSTREAMS)("OpenAI client → %s upstream", (upstream) => {
  const model = MATRIX_MODELS[upstream];

  test("non-stream text", async () => {
    const { data, response } = await openaiClient(setup.gateway)
      .chat.completions.create({ model, messages: [{ role: "user", content: "ping from openai" }] })
      .withResponse();
    expect(data.model).toBe(model);
    expect(data.choices[0]?.message.content).toBe("ping from openai");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    const requestId = response.headers.get("x-tollgate-request-id") ?? "";
    expect(await chargeFor(requestId)).toBe(Number(response.headers.get("x-tollgate-cost-microcents")));
    expect(await chargeFor(requestId)).toBeGreaterThan(0);
  });

  test("stream text with usage", async () => {
    const stream = await openaiClient(setup.gateway).chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream from openai" }],
    });
    let text = "";
    let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
    let tollgate: { request_id: string; cost_microcents: number } | undefined;
    for await (const chunk of stream) {
      expect(chunk.model).toBe(model);
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) {
        usage = chunk.usage;
        tollgate = (chunk as unknown as { tollgate?: { request_id: string; cost_microcents: number } }).tollgate;
      }
    }
    expect(text).toBe("stream from openai");
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(tollgate?.cost_microcents).toBe(await chargeFor(tollgate?.request_id ?? ""));
  });

  test.each([false, true])("tool call (stream %p): runTools-style round trip", async (stream) => {
    const client = openaiClient(setup.gateway);
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: WEATHER_TOOL_SCHEMA } }];
    const first = stream
      ? await client.chat.completions.stream({ model, messages: [{ role: "user", content: "weather?" }], tools }).finalChatCompletion()
      : await client.chat.completions.create({ model, messages: [{ role: "user", content: "weather?" }], tools });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: expectedCity(upstream) });
    const second = await client.chat.completions.create({
      model,
      tools,
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "sunny" },
      ],
    });
    expect(second.choices[0]?.finish_reason).toBe("stop");
    expect(second.choices[0]?.message.content).toContain("sunny");
  });
});

describe.each(UPSTREAMS)("Anthropic client → %s upstream", (upstream) => {
  const model = MATRIX_MODELS[upstream];

  test("non-stream text", async () => {
    const { data, response } = await anthropicClient(setup.gateway)
      .messages.create({ model, max_tokens: 200, messages: [{ role: "user", content: "ping from anthropic" }] })
      .withResponse();
    expect(data.model).toBe(model);
    expect(data.id).toMatch(/^msg_/);
    expect(data.content).toEqual([expect.objectContaining({ type: "text", text: "ping from anthropic" })]);
    expect(data.stop_reason).toBe("end_turn");
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    const requestId = response.headers.get("request-id") ?? "";
    expect(await chargeFor(requestId)).toBe(Number(response.headers.get("x-tollgate-cost-microcents")));
  });

  test("stream: messages.stream().finalMessage() with a real input count in message_start", async () => {
    // Text shaped like a special token (`<|endoftext|>`) is counted as text, not refused.
    const content = "stream from anthropic <|endoftext|>";
    const stream = anthropicClient(setup.gateway).messages.stream({ model, max_tokens: 200, messages: [{ role: "user", content }] });
    let startInput = -1;
    stream.on("streamEvent", (event) => {
      if (event.type === "message_start") startInput = event.message.usage.input_tokens;
    });
    const message = await stream.finalMessage();
    expect(message.model).toBe(model);
    expect(message.content).toEqual([expect.objectContaining({ type: "text", text: content })]);
    expect(message.stop_reason).toBe("end_turn");
    expect(startInput).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  test.each([false, true])("tool loop (stream %p)", async (stream) => {
    const client = anthropicClient(setup.gateway);
    const tools = [{ name: "get_weather", description: "weather by city", input_schema: WEATHER_TOOL_SCHEMA as { type: "object" } }];
    const params = { model, max_tokens: 300, tools, messages: [{ role: "user" as const, content: "weather?" }] };
    const first = stream ? await client.messages.stream(params).finalMessage() : await client.messages.create(params);
    expect(first.stop_reason).toBe("tool_use");
    const toolUse = first.content.find((block) => block.type === "tool_use");
    if (toolUse?.type !== "tool_use") throw new Error("expected a tool_use block");
    expect(toolUse.input).toEqual({ city: expectedCity(upstream) });
    const second = await client.messages.create({
      ...params,
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: toolUse.id, content: "sunny" }] },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    const text = second.content.map((block) => (block.type === "text" ? block.text : "")).join("");
    expect(text).toContain("sunny");
  });
});
