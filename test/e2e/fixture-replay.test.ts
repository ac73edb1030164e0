/**
 * Recorded upstream streams replayed by the fake upstreams in small random chunks, read by the official
 * SDKs of both dialects: every stop reason maps across (end_turn, max_tokens, tool_use, stop_sequence,
 * refusal, pause_turn, model_context_window_exceeded ↔ stop, length, tool_calls, content_filter), and
 * the same-dialect client sees the same content as the translated one.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startMatrix, type MatrixSetup } from "../harness/matrix.ts";
import { anthropicClient, openaiClient } from "../harness/sdk.ts";
import { sseText } from "../harness/upstream.ts";

const FIXTURES = join(import.meta.dir, "../fixtures");
const ANTHROPIC_TO_OPENAI: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};
const OPENAI_TO_ANTHROPIC: Record<string, string> = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", content_filter: "refusal" };

let setup: MatrixSetup;
beforeAll(async () => {
  setup = await startMatrix({ grantUsd: 100 });
});
afterAll(async () => {
  await setup.close();
});

function completeFixtures(provider: string, reasonPattern: RegExp): Array<[string, string, string]> {
  const fixtures: Array<[string, string, string]> = readdirSync(join(FIXTURES, provider))
    .filter((file) => file.endsWith(".sse"))
    .map((file) => [file, readFileSync(join(FIXTURES, provider, file), "utf8")] as [string, string])
    .flatMap(([file, text]): Array<[string, string, string]> => {
      const reason = reasonPattern.exec(text)?.[1];
      return reason ? [[file, text, reason]] : [];
    });
  return fixtures;
}

const anthropicFixtures = completeFixtures("anthropic", /"stop_reason":"([a-z_]+)"/);
anthropicFixtures.push([
  "context-window (inline)",
  sseText([
    { event: "message_start", data: { type: "message_start", message: { id: "msg_w", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 190000, output_tokens: 1 } } } },
    { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
    { event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "out of room" } } },
    { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
    { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: "model_context_window_exceeded", stop_sequence: null }, usage: { output_tokens: 3 } } },
    { event: "message_stop", data: { type: "message_stop" } },
  ]),
  "model_context_window_exceeded",
]);

const openaiFixtures = completeFixtures("openai", /"finish_reason":"([a-z_]+)"/);
const openaiChunk = (delta: unknown, finish: string | null = null) => ({ data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] } });
openaiFixtures.push([
  "content-filter (inline)",
  sseText([openaiChunk({ role: "assistant", content: "" }), openaiChunk({ content: "I can" }), openaiChunk({}, "content_filter"), { data: "[DONE]" }]),
  "content_filter",
]);

describe.each(anthropicFixtures)("Anthropic upstream fixture %s", (_file, text, reason) => {
  test("the Anthropic SDK sees it through (passthrough), the OpenAI SDK translated", async () => {
    const chunkSize = 7 + Math.floor(Math.random() * 50);
    setup.anthropicUpstream.script({ kind: "sse", text, chunkSize });
    const message = await anthropicClient(setup.gateway).messages.stream({ model: "via-anthropic", max_tokens: 1000, messages: [{ role: "user", content: "x" }] }).finalMessage();
    expect(message.stop_reason as string).toBe(reason);
    const anthropicText = message.content.map((block) => (block.type === "text" ? block.text : "")).join("");
    const anthropicTools = message.content.flatMap((block) => (block.type === "tool_use" ? [{ name: block.name, input: block.input }] : []));

    setup.anthropicUpstream.script({ kind: "sse", text, chunkSize });
    const completion = await openaiClient(setup.gateway).chat.completions.stream({ model: "via-anthropic", max_tokens: 1000, messages: [{ role: "user", content: "x" }] }).finalChatCompletion();
    const choice = completion.choices[0];
    expect(choice?.finish_reason as string).toBe(ANTHROPIC_TO_OPENAI[reason] ?? "missing");
    expect(choice?.message.content ?? "").toBe(anthropicText);
    const openaiTools = (choice?.message.tool_calls ?? []).flatMap((call) => (call.type === "function" ? [{ name: call.function.name, input: JSON.parse(call.function.arguments) as unknown }] : []));
    expect(openaiTools).toEqual(anthropicTools);
  });
});

describe.each(openaiFixtures)("OpenAI upstream fixture %s", (_file, text, reason) => {
  test("the OpenAI SDK sees it through (passthrough), the Anthropic SDK translated", async () => {
    const chunkSize = 7 + Math.floor(Math.random() * 50);
    setup.openaiUpstream.script({ kind: "sse", text, chunkSize });
    const completion = await openaiClient(setup.gateway).chat.completions.stream({ model: "via-openai", messages: [{ role: "user", content: "x" }] }).finalChatCompletion();
    const choice = completion.choices[0];
    expect(choice?.finish_reason as string).toBe(reason);

    setup.openaiUpstream.script({ kind: "sse", text, chunkSize });
    const message = await anthropicClient(setup.gateway).messages.stream({ model: "via-openai", max_tokens: 1000, messages: [{ role: "user", content: "x" }] }).finalMessage();
    expect(message.stop_reason as string).toBe(OPENAI_TO_ANTHROPIC[reason] ?? "missing");
    const text2 = message.content.map((block) => (block.type === "text" ? block.text : "")).join("");
    expect(text2).toBe(choice?.message.content ?? "");
    const tools = message.content.flatMap((block) => (block.type === "tool_use" ? [{ name: block.name, input: block.input }] : []));
    const openaiTools = (choice?.message.tool_calls ?? []).flatMap((call) => (call.type === "function" ? [{ name: call.function.name, input: JSON.parse(call.function.arguments) as unknown }] : []));
    expect(tools).toEqual(openaiTools);
    const reasoning = message.content.flatMap((block) => (block.type === "thinking" ? [block.thinking] : [])).join("");
    const upstreamReasoning = [...text.matchAll(/"reasoning_content":"((?:[^"\\]|\\.)*)"/g)].map((match) => JSON.parse(`"${match[1]}"`) as string).join("");
    expect(reasoning).toBe(upstreamReasoning);
  });
});

/** The non-empty content deltas of an OpenAI SDK stream, each chunk checked to name `model`. */
async function contentDeltas(stream: AsyncIterable<{ model: string; choices: Array<{ delta: { content?: string | null } }> }>, model: string): Promise<string[]> {
  const deltas: string[] = [];
  for await (const chunk of stream) {
    expect(chunk.model).toBe(model);
    const content = chunk.choices[0]?.delta.content;
    if (typeof content === "string" && content !== "") deltas.push(content);
  }
  return deltas;
}

describe("a long OpenAI stream over many reads (the translation's byte lane)", () => {
  // An envelope shorter than an Anthropic text delta's head (each run copied into the client's events), a short
  // one and api.openai.com's (runs written over the upstream's read).
  const minimal = (data: Record<string, unknown>) => ({ id: data.id, created: data.created, model: data.model, choices: data.choices });
  test.each([
    ["a minimal envelope", (data: Record<string, unknown>) => minimal(data)],
    ["a short envelope", (data: Record<string, unknown>) => data],
    ["api.openai.com's envelope", (data: Record<string, unknown>) => ({ ...data, id: "chatcmpl-BXqT3n9ZkFvQ2mLwR8sYpA7cD1eG", model: "gpt-4o-mini-2024-07-18", system_fingerprint: "fp_0ba0d124f1" })],
  ])("%s: the Anthropic SDK gets every content chunk as its own text delta, in order, whatever its characters and padding", async (_name, envelope) => {
    const words = Array.from({ length: 400 }, (_, index) => ["plain ", "café ", 'quote "x" ', "tab\t", "line\n", "😀 ", "\u2028", "", "back\\slash ", "日本語 "][index % 10] ?? "");
    // Padded like api.openai.com's chunks, every one (a stream that mixed padded and bare chunks would break the slot).
    const pad = (index: number) => ({ obfuscation: "Zq81LmN0pQx".slice(0, 1 + (index % 11)) });
    const text = sseText([
      openaiChunk({ role: "assistant", content: "" }),
      ...words.map((word, index) => ({ data: { ...envelope(openaiChunk({ content: word }).data), ...pad(index) } })),
      openaiChunk({}, "stop"),
      { data: { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 9, completion_tokens: 400, total_tokens: 409 } } },
      { data: "[DONE]" },
    ]);
    // Reads of a few kilobytes, so most of them hold whole runs of content chunks after the first.
    setup.openaiUpstream.script({ kind: "sse", text, chunkSize: 3001, chunkDelayMs: 2 });
    const stream = anthropicClient(setup.gateway).messages.stream({ model: "via-openai", max_tokens: 1000, messages: [{ role: "user", content: "x" }] });
    const deltas: string[] = [];
    for await (const event of stream) if (event.type === "content_block_delta" && event.delta.type === "text_delta") deltas.push(event.delta.text);
    const message = await stream.finalMessage();
    expect(deltas).toEqual(words.filter((word) => word !== ""));
    expect(message.content.map((block) => (block.type === "text" ? block.text : block.type))).toEqual([words.join("")]);
    expect(message.usage.output_tokens).toBe(400);
    expect(message.stop_reason).toBe("end_turn");

    // The OpenAI SDK on the same stream: the passthrough forwards the runs as the upstream's own chunks.
    setup.openaiUpstream.script({ kind: "sse", text, chunkSize: 3001, chunkDelayMs: 2 });
    const passthrough = openaiClient(setup.gateway).chat.completions.stream({ model: "via-openai", stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }] });
    expect(await contentDeltas(passthrough, "via-openai")).toEqual(words.filter((word) => word !== ""));
    const completion = await passthrough.finalChatCompletion();
    expect(completion.choices[0]?.message.content).toBe(words.join(""));
    expect(completion.usage?.completion_tokens).toBe(400);
  });

  test("a long Anthropic stream reaches the OpenAI SDK as a content chunk per text delta, in order", async () => {
    const words = Array.from({ length: 400 }, (_, index) => ["plain ", "café ", 'quote "x" ', "tab\t", "line\n", "😀 ", "\u2028", "back\\slash ", "日本語 "][index % 9] ?? "");
    const delta = (index: number, text: string) => ({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "text_delta", text } } });
    const text = sseText([
      { event: "message_start", data: { type: "message_start", message: { id: "msg_l", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 9, output_tokens: 1 } } } },
      { event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } },
      ...words.map((word) => delta(0, word)),
      { event: "content_block_stop", data: { type: "content_block_stop", index: 0 } },
      { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 400 } } },
      { event: "message_stop", data: { type: "message_stop" } },
    ]);
    setup.anthropicUpstream.script({ kind: "sse", text, chunkSize: 3001, chunkDelayMs: 2 });
    const stream = openaiClient(setup.gateway).chat.completions.stream({ model: "via-anthropic", stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }] });
    expect(await contentDeltas(stream, "via-anthropic")).toEqual(words);
    const completion = await stream.finalChatCompletion();
    expect(completion.choices[0]?.message.content).toBe(words.join(""));
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage?.completion_tokens).toBe(400);
  });
});
