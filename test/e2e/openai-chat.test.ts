/** The OpenAI chat path end to end on the mock provider, through the official `openai` client. */

import { afterEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { verifyLedger } from "../../src/billing/ledger.ts";
import { MOCK_CONFIG, postJson, rows, startGateway, type TestGateway } from "../harness/gateway.ts";
import { openaiClient } from "../harness/sdk.ts";

let gateway: TestGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

interface RequestRecord {
  request_id: string;
  status: string;
  http_status: number;
  error_code: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_microcents: number;
  model: string;
  billed_model: string | null;
  stream: number;
}

describe("chat completions through the openai SDK", () => {
  test("non-stream: echo answer, usage, cost headers equal the ledger entry", async () => {
    gateway = await startGateway();
    const client = openaiClient(gateway);
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "system", content: "be brief" }, { role: "user", content: "Hello there gateway" }] })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe("gpt-4o-mini");
    expect(data.choices[0]?.message.content).toBe("Hello there gateway");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage?.completion_tokens).toBe(3);

    const requestId = response.headers.get("x-tollgate-request-id") ?? "";
    expect(requestId).toMatch(/^req_/);
    expect(response.headers.get("x-request-id")).toBe(requestId);
    expect(response.headers.get("x-tollgate-billed-model")).toBe("mock-model");
    const cost = Number(response.headers.get("x-tollgate-cost-microcents"));
    // $1/Mtok input, $2/Mtok output → 100 µ¢ per input token, 200 per output token.
    expect(cost).toBe((data.usage?.prompt_tokens ?? 0) * 100 + 3 * 200);

    const [record] = (await rows<RequestRecord>(gateway, "SELECT * FROM requests WHERE request_id = ?", requestId));
    expect(record).toMatchObject({ status: "ok", http_status: 200, cost_microcents: cost, model: "gpt-4o-mini", billed_model: "mock-model", stream: 0 });
    const charges = (await rows<{ amount_microcents: number; request_id: string }>(gateway, "SELECT * FROM ledger_entries WHERE kind = 'charge'"));
    expect(charges).toEqual([expect.objectContaining({ amount_microcents: -cost, request_id: requestId })]);
    expect(verifyLedger(gateway.deps.database.db).problems).toEqual([]);
  });

  test("stream: the SDK reassembles the text; the usage chunk carries the tollgate figures", async () => {
    gateway = await startGateway();
    const client = openaiClient(gateway);
    const stream = await client.chat.completions.create({
      model: "mock-model",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "one two three four" }],
    });
    let text = "";
    let usageChunk: (OpenAI.Chat.Completions.ChatCompletionChunk & { tollgate?: { request_id: string; cost_microcents: number } }) | null = null;
    const finishReasons: Array<string | null> = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.choices[0]) finishReasons.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usageChunk = chunk;
    }
    expect(text).toBe("one two three four");
    expect(finishReasons.at(-1)).toBe("stop");
    expect(usageChunk?.usage?.completion_tokens).toBe(4);
    const summary = usageChunk?.tollgate;
    expect(summary?.request_id).toMatch(/^req_/);
    const [record] = (await rows<RequestRecord>(gateway, "SELECT * FROM requests WHERE request_id = ?", summary?.request_id ?? ""));
    expect(record?.cost_microcents).toBe(summary?.cost_microcents ?? -1);
    expect(record?.stream).toBe(1);
    expect(record?.output_tokens).toBe(4);
  });

  test("stream without include_usage: no usage chunk reaches the client", async () => {
    gateway = await startGateway();
    const response = await postJson(gateway, "/v1/chat/completions", {
      model: "mock-model",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const body = await response.text();
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(body).not.toContain('"usage"');
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect((await rows(gateway, "SELECT * FROM ledger_entries WHERE kind = 'charge'"))).toHaveLength(1);
  });

  test("the SDK's stream helper gives the final message", async () => {
    gateway = await startGateway();
    const runner = openaiClient(gateway).chat.completions.stream({ model: "mock-model", messages: [{ role: "user", content: "final answer" }] });
    const completion = await runner.finalChatCompletion();
    expect(completion.choices[0]?.message.content).toBe("final answer");
  });

  test("tool calls: the mock calls the offered tool and the SDK parses its arguments", async () => {
    gateway = await startGateway();
    const completion = await openaiClient(gateway).chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "weather?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }],
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" ? call.function.name : null).toBe("get_weather");
    expect(call?.type === "function" ? JSON.parse(call.function.arguments) : null).toEqual({ city: "mock" });
  });
});

describe("errors in OpenAI's shape", () => {
  test.each([
    ["not JSON", "{bad", 400, "invalid_request"],
    ["not an object", "[1,2]", 400, "invalid_request"],
    ["missing messages", JSON.stringify({ model: "mock-model" }), 400, "invalid_request"],
    ["unknown model", JSON.stringify({ model: "nope", messages: [{ role: "user", content: "x" }] }), 404, "model_not_found"],
    ["n > 1", JSON.stringify({ model: "mock-model", n: 2, messages: [{ role: "user", content: "x" }] }), 400, "invalid_request"],
  ])("%s → %d %s, nothing billed", async (_name, body, status, code) => {
    gateway = await startGateway();
    const response = await postJson(gateway, "/v1/chat/completions", body);
    expect(response.status).toBe(status);
    const json = (await response.json()) as { error: { code: string; message: string; type: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(5);
    expect(json.error.message).not.toContain("at ");
    expect(response.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
    expect(response.headers.get("x-tollgate-cost-microcents")).toBe("0");
    expect((await rows(gateway, "SELECT * FROM ledger_entries WHERE kind = 'charge'"))).toHaveLength(0);
  });

  test("missing, unknown and wrong-kind keys → 401 naming the kind needed (SDK AuthenticationError)", async () => {
    gateway = await startGateway();
    const attempt = (key: string) => openaiClient(gateway as TestGateway, key).chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] });
    const unknown = await attempt("tg-live-unknownunknownunknownunknownunknownunknow").catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.AuthenticationError);
    const wrongKind = await attempt(gateway.mgmtKey).catch((error: unknown) => error);
    expect(wrongKind).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((wrongKind as Error).message).toContain("inference key");
    const missing = await gateway.handle(new Request(`${gateway.baseUrl}/v1/chat/completions`, { method: "POST", body: "{}" }));
    expect(missing.status).toBe(401);
  });

  test("x-api-key works as well as Bearer", async () => {
    gateway = await startGateway();
    const response = await gateway.handle(
      new Request(`${gateway.baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "x-api-key": gateway.liveKey },
        body: JSON.stringify({ model: "mock-model", messages: [{ role: "user", content: "hi" }] }),
      }),
    );
    expect(response.status).toBe(200);
  });

  test("a body above max_body_bytes → 413 body_too_large", async () => {
    gateway = await startGateway({ configToml: `[server]\nmax_body_bytes = 200\n${MOCK_CONFIG}` });
    const response = await postJson(gateway, "/v1/chat/completions", { model: "mock-model", messages: [{ role: "user", content: "x".repeat(500) }] });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
  });

  test("an empty wallet → 402 with the hint, recorded as refused at cost 0, SDK does not retry", async () => {
    gateway = await startGateway({ grantUsd: 0 });
    const error = await openaiClient(gateway)
      .chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: "x" }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((error as InstanceType<typeof OpenAI.APIError>).headers?.get("x-should-retry")).toBe("false");
    const records = (await rows<RequestRecord>(gateway, "SELECT * FROM requests"));
    expect(records).toEqual([expect.objectContaining({ status: "refused", http_status: 402, cost_microcents: 0, error_code: "insufficient_balance" })]);
  });

  test("a wallet too small for the declared max_tokens is told what max_tokens it allows", async () => {
    gateway = await startGateway({ grantUsd: 0.002 });
    const response = await postJson(gateway, "/v1/chat/completions", { model: "mock-model", max_tokens: 1000, messages: [{ role: "user", content: "x" }] });
    // $0.002 = 200,000 µ¢ covers 1000 output tokens (200,000 µ¢) only without input: refused with a hint.
    expect(response.status).toBe(402);
    const message = ((await response.json()) as { error: { message: string } }).error.message;
    expect(message).toMatch(/allows max_tokens up to \d+/);
    const allowed = Number(/max_tokens up to (\d+)/.exec(message)?.[1]);
    const retry = await postJson(gateway, "/v1/chat/completions", { model: "mock-model", max_tokens: allowed, messages: [{ role: "user", content: "x" }] });
    expect(retry.status).toBe(200);
  });

  test("unknown paths → 404 not_found in OpenAI's shape", async () => {
    gateway = await startGateway();
    const response = await gateway.handle(new Request(`${gateway.baseUrl}/v1/nothing-here`));
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });
});
