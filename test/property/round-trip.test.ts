/**
 * Property tests: random valid requests survive decode (client dialect → canonical) → encode (canonical →
 * the same dialect's upstream wire) unchanged in everything the canonical form carries.
 */

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeAnthropicRequest } from "../../src/dialects/anthropic/decode-request.ts";
import { anthropicMessagesRequestCheck } from "../../src/dialects/anthropic/wire.ts";
import { decodeOpenAIRequest } from "../../src/dialects/openai/decode-request.ts";
import { openAIChatRequestCheck } from "../../src/dialects/openai/wire.ts";
import { encodeAnthropicUpstreamRequest } from "../../src/providers/anthropic/encode-request.ts";
import { encodeOpenAIUpstreamRequest } from "../../src/providers/openai/encode-request.ts";

const text = fc.string({ minLength: 1, maxLength: 40 }).filter((value) => value.trim().length > 0);
const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/);
const id = fc.stringMatching(/^[A-Za-z0-9]{6,12}$/);
const jsonObject = fc.dictionary(name, fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.boolean()), { maxKeys: 3 });
const schema = fc.constant({ type: "object", properties: { q: { type: "string" } }, required: ["q"] });

// ---- OpenAI: user → assistant (text | tool calls → tool results) turns --------------------------
const openAIImagePart = fc.oneof(
  fc.constant({ type: "image_url", image_url: { url: "https://img.example/cat.png" } }),
  fc.constant({ type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }),
);
const openAIUser = fc.oneof(
  text.map((content) => ({ role: "user", content })),
  fc.tuple(text, openAIImagePart).map(([value, image]) => ({ role: "user", content: [{ type: "text", text: value }, image] })),
);
const openAITurn = fc.oneof(
  fc.tuple(openAIUser, text).map(([user, answer]) => [user, { role: "assistant", content: answer }]),
  fc.tuple(openAIUser, fc.uniqueArray(id, { minLength: 1, maxLength: 3 }), name, jsonObject, text).map(([user, ids, tool, args, result]) => [
    user,
    { role: "assistant", content: null, tool_calls: ids.map((callId) => ({ id: callId, type: "function", function: { name: tool, arguments: JSON.stringify(args) } })) },
    ...ids.map((callId) => ({ role: "tool", tool_call_id: callId, content: result })),
  ]),
);
const openAIRequest = fc
  .record({
    system: fc.option(text, { nil: undefined }),
    turns: fc.array(openAITurn, { minLength: 0, maxLength: 3 }),
    last: openAIUser,
    tools: fc.array(fc.record({ type: fc.constant("function"), function: fc.record({ name, description: text, parameters: schema }) }), { maxLength: 2 }),
    tool_choice: fc.constantFrom(undefined, "auto", "required", "none"),
    stop: fc.option(fc.array(text, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
    top_p: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    max_tokens: fc.integer({ min: 1, max: 4000 }),
    user: fc.option(name, { nil: undefined }),
    seed: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  })
  .map((generated) => {
    const body: Record<string, unknown> = {
      model: "gpt-client",
      messages: [...(generated.system ? [{ role: "system", content: generated.system }] : []), ...generated.turns.flat(), generated.last],
      max_tokens: generated.max_tokens,
    };
    if (generated.tools.length > 0) {
      body.tools = generated.tools;
      if (generated.tool_choice) body.tool_choice = generated.tool_choice;
    }
    for (const field of ["stop", "temperature", "top_p", "user", "seed"] as const) if (generated[field] !== undefined) body[field] = generated[field];
    return body;
  });

describe("OpenAI request → canonical → OpenAI upstream request", () => {
  test("is the identity on every carried field", () => {
    fc.assert(
      fc.property(openAIRequest, (body) => {
        expect(openAIChatRequestCheck.Check(body)).toBe(true);
        const { request } = decodeOpenAIRequest(body as never, body);
        const { body: encoded, dropped } = encodeOpenAIUpstreamRequest(request, {
          upstreamModel: "gpt-client",
          maxTokens: body.max_tokens as number,
          maxTokensField: "max_tokens",
          stream: false,
        });
        expect(dropped).toEqual([]);
        expect(encoded).toEqual(body);
      }),
      { numRuns: 300 },
    );
  });
});

// ---- Anthropic: alternating user/assistant, tool_use → tool_result, thinking with signatures ------
const anthropicUserBlocks = fc.oneof(
  text.map((value) => [{ type: "text", text: value }]),
  fc.tuple(text, fc.constantFrom("https://img.example/a.png", "https://img.example/b.jpg")).map(([value, url]) => [
    { type: "image", source: { type: "url", url } },
    { type: "text", text: value },
  ]),
);
const anthropicTurn = fc.oneof(
  fc.tuple(anthropicUserBlocks, text).map(([user, answer]) => [
    { role: "user", content: user },
    { role: "assistant", content: [{ type: "text", text: answer }] },
  ]),
  fc.tuple(anthropicUserBlocks, fc.uniqueArray(id, { minLength: 1, maxLength: 3 }), name, jsonObject, text, fc.boolean(), text).map(
    ([user, ids, tool, input, result, isError, thought]) => [
      { role: "user", content: user },
      {
        role: "assistant",
        content: [{ type: "thinking", thinking: thought, signature: "sig-abc" }, ...ids.map((toolId) => ({ type: "tool_use", id: toolId, name: tool, input }))],
      },
      {
        role: "user",
        content: ids.map((toolId) => ({ type: "tool_result", tool_use_id: toolId, content: result, ...(isError ? { is_error: true } : {}) })),
      },
      { role: "assistant", content: [{ type: "text", text: result }] },
    ],
  ),
);
const anthropicRequest = fc
  .record({
    system: fc.option(text, { nil: undefined }),
    turns: fc.array(anthropicTurn, { maxLength: 3 }),
    last: anthropicUserBlocks,
    tools: fc.array(fc.record({ name, description: text, input_schema: schema }), { maxLength: 2 }),
    tool_choice: fc.constantFrom(undefined, { type: "auto" }, { type: "none" }),
    stop_sequences: fc.option(fc.array(text, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    temperature: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    top_k: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
    max_tokens: fc.integer({ min: 1, max: 4000 }),
    user_id: fc.option(name, { nil: undefined }),
  })
  .map((generated) => {
    const body: Record<string, unknown> = {
      model: "claude-client",
      max_tokens: generated.max_tokens,
      messages: [...generated.turns.flat(), { role: "user", content: generated.last }],
    };
    if (generated.system) body.system = generated.system;
    if (generated.tools.length > 0) {
      body.tools = generated.tools;
      if (generated.tool_choice) body.tool_choice = generated.tool_choice;
    }
    for (const field of ["stop_sequences", "temperature", "top_k"] as const) if (generated[field] !== undefined) body[field] = generated[field];
    if (generated.user_id) body.metadata = { user_id: generated.user_id };
    return body;
  });

describe("Anthropic request → canonical → Anthropic upstream request", () => {
  test("is the identity on every carried field", () => {
    fc.assert(
      fc.property(anthropicRequest, (body) => {
        expect(anthropicMessagesRequestCheck.Check(body)).toBe(true);
        const { request } = decodeAnthropicRequest(body as never, body);
        const { body: encoded, dropped } = encodeAnthropicUpstreamRequest(request, {
          upstreamModel: "claude-client",
          maxTokens: body.max_tokens as number,
          stream: false,
        });
        expect(dropped).toEqual([]);
        // `stream: false` is Anthropic's default, stated explicitly upstream.
        expect(encoded.stream).toBe(false);
        const { stream: _stream, ...rest } = encoded;
        expect(rest).toEqual(body);
      }),
      { numRuns: 300 },
    );
  });
});
